"""Roster import speed and memory, through the same service the admin and the command use.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench_import \\
        .venv/bin/python benchmarks/import_roster.py --rows 100000

Phases (each in its own process, so that the peak RSS is the phase's own):
  floor       openpyxl alone, read-only mode, every row read (the floor)
  reader      the ledger's own reader alone (spreadsheets.readers)
  first       roster_import into an empty enterprise
  identical   the same file again (everything unchanged)
  changed10   the file with 10% of the rows changed (name, post or channel)
  default     a plain django-import-export ModelResource with default options, on --default-rows
  default_re  the same default resource re-importing its file
Prints rows/s, seconds and peak RSS per phase, and the ratio to the openpyxl floor.
With --profile DIR each phase's whole process runs under cProfile (DIR/<phase>.prof; the
timings are then cProfile's, slower than without it).
"""

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Synthetic keys for the benchmark database only (the same as the test run's).
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
)
os.environ.setdefault("LEDGER_ID_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWtleS1kby1ub3QtdXNlLTMyYnl0ZXM=")
os.environ.setdefault("LEDGER_ID_HMAC_KEY", "test-only-hmac-key-do-not-use-in-production")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ledger_bench_import")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LEDGER_IMPORT_MAX_BYTES", str(200 * 1024 * 1024))
os.environ.setdefault("LEDGER_IMPORT_MAX_ROWS", str(1_000_000))

CACHE = Path("/tmp/ledger-bench-import")
BENCH_CODE_SERIAL = 990_001


def _django():
    import django

    django.setup()


def _files(rows: int) -> tuple[Path, Path, Path]:
    """The roster, the same roster with 10% of rows changed, and the plain-resource file."""
    CACHE.mkdir(exist_ok=True)
    base = CACHE / f"roster-{rows}.xlsx"
    changed = CACHE / f"roster-{rows}-changed.xlsx"
    if not base.exists() or not changed.exists():
        from placement.demo_rosters import roster_rows, roster_xlsx

        data = roster_rows(rows, seed=2016)
        base.write_bytes(roster_xlsx(data))
        for index, row in enumerate(data):
            if index % 10 == 3:
                kind = index % 3
                if kind == 0:
                    row[1] = row[1] + "改"
                elif kind == 1:
                    row[6] = "后勤"
                else:
                    row[10] = "灵活就业" if row[10] != "灵活就业" else "内部安置"
                    row[11] = row[11] or __import__("datetime").date(2017, 3, 1)
        changed.write_bytes(roster_xlsx(data))
    return base, changed, CACHE / f"plain-{rows}.xlsx"


def _enterprise():
    from enterprises.models import Enterprise, Region
    from placement.demo import credit_code

    code = credit_code("140105", BENCH_CODE_SERIAL)
    enterprise, _created = Enterprise.objects.get_or_create(
        credit_code=code,
        defaults={
            "name": "基准测试煤矿",
            "industry": Enterprise.Industry.COAL,
            "region": Region.objects.get(code="140105"),
        },
    )
    return enterprise


def _reset():
    """Empty the benchmark enterprise between phases. Raw SQL on purpose: this is the benchmark's
    own cleanup of a scratch database, not a ledger write (the ORM's delete would write a
    history row and a report mark per object, 200,000 of each, and take minutes)."""
    from django.db import connection

    enterprise = _enterprise()
    workers = "SELECT id FROM placement_worker WHERE enterprise_id = %s"
    with connection.cursor() as cursor:
        for table in ("reports_placementfact", "placement_placement"):
            cursor.execute(f"DELETE FROM {table} WHERE worker_id IN ({workers})", [enterprise.pk])
        cursor.execute("DELETE FROM placement_worker WHERE enterprise_id = %s", [enterprise.pk])
        cursor.execute("DELETE FROM reports_factmonth WHERE enterprise_id = %s", [enterprise.pk])


def _plain_file(rows: int, path: Path) -> None:
    """The roster in the columns a plain ModelResource expects (digest and cipher precomputed,
    since the library knows nothing of encrypted ID numbers)."""
    if path.exists():
        return
    from openpyxl import Workbook

    from placement import idnumbers
    from placement.demo_rosters import roster_rows

    enterprise = _enterprise()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(
        ["enterprise", "id_number_digest", "id_number_cipher", "name", "sex", "birth_date"]
        + ["post", "phone", "registered_on"]
    )
    for row in roster_rows(rows, seed=77):
        parsed = idnumbers.parse(row[2])
        sheet.append(
            [
                enterprise.pk,
                idnumbers.digest(parsed.number),
                idnumbers.encrypt(parsed.number),
                row[1],
                parsed.sex,
                parsed.birth_date,
                row[6],
                row[9],
                "2017-01-01",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(buffer.getvalue())


def _officer(enterprise):
    """The enterprise's HR officer, as the admin's import job writes for one: every row written
    then names them (the placements' created_by and updated_by, each history row's user), and
    the database checks those references at commit."""
    from django.contrib.auth import get_user_model

    from enterprises.models import UserScope
    from placement.roles import roles_setup, user_role_sync

    roles_setup()
    user, created = get_user_model().objects.get_or_create(username="bench-hr")
    if created:
        UserScope.objects.create(
            user=user, role=UserScope.Role.ENTERPRISE_HR, enterprise=enterprise
        )
        user_role_sync(user=user)
    return user


def run_phase(phase: str, rows: int, default_rows: int, actor: str = "system") -> dict:
    """One phase in this process: returns rows, seconds and peak RSS."""
    _django()
    base, changed, _plain = _files(rows)
    plain = CACHE / f"plain-{default_rows}.xlsx"
    if phase == "floor":
        import openpyxl

        start = time.perf_counter()
        workbook = openpyxl.load_workbook(io.BytesIO(base.read_bytes()), read_only=True)
        count = sum(1 for _row in workbook.worksheets[0].iter_rows(values_only=True))
        seconds = time.perf_counter() - start
        count = rows
    elif phase == "reader":
        from placement.resources import RosterResource
        from spreadsheets.readers import read_table

        roster = RosterResource()
        start = time.perf_counter()
        table = read_table(
            base.read_bytes(),
            filename="roster.xlsx",
            aliases=roster.header_aliases(),
            required=roster.REQUIRED,
        )
        count = sum(1 for _row in table.rows)
        seconds = time.perf_counter() - start
    elif phase in ("first", "identical", "changed10"):
        from access.actors import SYSTEM
        from placement.imports import roster_import

        if phase == "first":
            _reset()
        data = (changed if phase == "changed10" else base).read_bytes()
        enterprise = _enterprise()
        user = _officer(enterprise) if actor == "officer" else SYSTEM
        start = time.perf_counter()
        result = roster_import(data=data, filename="roster.xlsx", enterprise=enterprise, user=user)
        seconds = time.perf_counter() - start
        assert not result.errors, result.errors[:5]
        count = rows
        extra = {"created": result.created, "updated": result.updated}
        extra["unchanged"] = result.unchanged
    else:
        from import_export import resources
        from import_export.formats.base_formats import XLSX

        from placement.models import Worker

        class PlainWorkerResource(resources.ModelResource):
            class Meta:
                model = Worker
                import_id_fields = ["id_number_digest"]
                fields = [
                    "enterprise",
                    "id_number_digest",
                    "id_number_cipher",
                    "name",
                    "sex",
                    "birth_date",
                    "post",
                    "phone",
                    "registered_on",
                ]

        if phase == "default":
            _reset()
        _plain_file(default_rows, plain)
        start = time.perf_counter()
        dataset = XLSX().create_dataset(plain.read_bytes())
        result = PlainWorkerResource().import_data(dataset, dry_run=False)
        seconds = time.perf_counter() - start
        assert not result.has_errors()
        count = default_rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    answer = {"phase": phase, "rows": count, "seconds": round(seconds, 2)}
    answer |= {"rows_per_s": round(count / seconds), "peak_mb": round(peak)}
    if phase in ("first", "identical", "changed10"):
        answer |= extra
    return answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--default-rows", type=int, default=20_000)
    parser.add_argument(
        "--phases", default="floor,reader,first,identical,changed10,default,default_re"
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--profile", metavar="DIR", help="cProfile each phase into DIR")
    parser.add_argument(
        "--actor",
        choices=["system", "officer"],
        default="system",
        help="who imports: the system (the command line) or the enterprise's HR officer",
    )
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.rows, args.default_rows, args.actor)))
        return
    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from machine import gauge, line

    # The machine's speed before and after the phases: a figure is read against these.
    before = gauge()
    _files(args.rows)
    _plain_file(args.default_rows, CACHE / f"plain-{args.default_rows}.xlsx")
    results = []
    for phase in args.phases.split(","):
        profile = []
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            profile = ["-m", "cProfile", "-o", str(Path(args.profile) / f"{phase}.prof")]
        output = subprocess.run(
            [sys.executable, *profile, __file__, "--phase", phase, "--rows", str(args.rows)]
            + ["--default-rows", str(args.default_rows), "--actor", args.actor],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    floor = next((r["rows_per_s"] for r in results if r["phase"] == "floor"), None)
    print(f"{'phase':<12}{'rows':>9}{'seconds':>10}{'rows/s':>10}{'peak MB':>10}{'÷ floor':>9}")
    for r in results:
        ratio = f"{r['rows_per_s'] / floor:.2f}" if floor else "-"
        print(
            f"{r['phase']:<12}{r['rows']:>9}{r['seconds']:>10}{r['rows_per_s']:>10}"
            f"{r['peak_mb']:>10}{ratio:>9}"
        )
    print("load:", os.getloadavg())
    print("before:", line(before))
    print("after: ", line(gauge()))


if __name__ == "__main__":
    main()
