"""Server time of the reports at demo scale, on PostgreSQL (run by hand, never in CI).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench \\
    DJANGO_SECRET_KEY=... LEDGER_ID_ENCRYPTION_KEYS=... LEDGER_ID_HMAC_KEY=... \\
    .venv/bin/python benchmarks/dashboard.py --sizes 50000 500000

For each size it (re)seeds the demo province unless the database already holds exactly that many
workers, rebuilds the report facts, runs VACUUM ANALYZE, then times with Django's test client:
the province dashboard, a city dashboard, a county dashboard, and `placement_report --json`
(median of --runs, after one warm-up). EXPLAIN ANALYZE of the report's queries goes to
benchmarks/out/plans-<size>.txt. The machine is shared: the load average is printed beside.
"""

import argparse
import os
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from access.actors import SYSTEM  # noqa: E402
from placement.models import Worker  # noqa: E402

YEAR, AS_OF = 2017, "2017-06-30"
PAGES = {
    "province dashboard": "/reports/region/140000/",
    "city dashboard (临汾市)": "/reports/region/141000/",
    "county dashboard (first county with workers)": None,
}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def reseed(size: int) -> None:
    if connection.vendor != "postgresql":
        sys.exit("run the benchmark on PostgreSQL (DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE reports_placementfact, placement_placement, "
            "placement_annualtarget, placement_worker, enterprises_enterprise CASCADE"
        )
    started = time.perf_counter()
    call_command("seed_demo", workers=size, stdout=StringIO())
    print(f"  seed_demo --workers {size}: {time.perf_counter() - started:.1f} s")


def timed(function, runs: int) -> tuple[float, int]:
    function()  # warm-up (connection, template cache)
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(queries.captured_queries)


def explain(size: int) -> Path:
    from enterprises.models import Region
    from reports.selectors import Scope, placement_report

    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    path = out / f"plans-{size}.txt"
    province = Region.objects.get(code="140000")
    import datetime

    with CaptureQueriesContext(connection) as queries:
        placement_report(
            scope=Scope(region=province),
            year=YEAR,
            as_of=datetime.date.fromisoformat(AS_OF),
            user=SYSTEM,
        )
    with connection.cursor() as cursor, path.open("w") as f:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or "COUNT" not in sql:
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            f.write(sql + "\n" + "\n".join(row[0] for row in cursor.fetchall()) + "\n\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 500_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    for size in args.sizes:
        print(f"== {size} workers (load {load()})")
        if Worker.objects.count() != size:
            reseed(size)
            user, _ = get_user_model().objects.get_or_create(
                username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
            )
            started = time.perf_counter()
            call_command("refresh_report_facts", stdout=StringIO())
            print(f"  refresh_report_facts: {time.perf_counter() - started:.1f} s")
        # What autovacuum would do after a bulk load: statistics and the visibility map (for
        # index-only scans).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        client = Client()
        client.force_login(user)
        county = (
            Worker.objects.order_by("enterprise__region__code")
            .values_list("enterprise__region__code", flat=True)
            .first()
        )
        pages = dict(PAGES)
        pages["county dashboard (first county with workers)"] = f"/reports/region/{county}/"
        for name, url in pages.items():

            def get(url=url, client=client):
                response = client.get(url, {"year": YEAR, "as_of": AS_OF})
                assert response.status_code == 200, response.status_code

            median, queries = timed(get, args.runs)
            print(f"  {name}: median {median:.0f} ms, {queries} queries (load {load()})")

        def command_as_of():
            call_command(
                "placement_report",
                "--year",
                str(YEAR),
                "--as-of",
                AS_OF,
                "--json",
                stdout=StringIO(),
            )

        median, queries = timed(command_as_of, args.runs)
        print(f"  placement_report --json: median {median:.0f} ms, {queries} queries")
        print(f"  plans: {explain(size)}")


if __name__ == "__main__":
    main()
