"""Speed at national size: 2,000,000 workers over the 31 provinces (`seed_demo --national`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_national \\
        .venv/bin/python benchmarks/national.py seed      # create, migrate, time seed_demo
    … benchmarks/national.py pages                         # dashboards, admin lists, lookups
    … benchmarks/national.py plans                         # EXPLAIN ANALYZE of each page's
                                                           # slowest query
    … benchmarks/national.py import --rows 50000           # import_roster, whole process
    … benchmarks/national.py dashboards --runs 5           # dashboards computed, each run

`seed` drops and creates the database named in DATABASE_URL. `pages` requests every page through
Django's test client in this process (server time: middleware, views, queries and templates, no
network), logged in as the demo accounts (`demo-admin`, `demo-province`, `demo-city`, `demo-hr`;
force_login, no password hashing), and prints the median of --runs requests with the number of
queries, and the load average. Dashboards are measured twice: the first request after the cache
is emptied (computed) and the median of the next ones (cached). `import` writes a roster of new
synthetic workers (none of whose ID numbers is in the database) into a new enterprise and times
`manage.py import_roster` as a whole process.
"""

import argparse
import datetime
import os
import statistics
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
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ledger_national")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_REQUEST_LOG", "WARNING")
os.environ.setdefault("LEDGER_IMPORT_MAX_ROWS", str(1_000_000))
os.environ.setdefault("LEDGER_IMPORT_MAX_BYTES", str(200 * 1024 * 1024))

FILTERS = {"year": 2018, "as_of": "2018-12-31"}


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _database_name() -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[1]


def seed(args) -> None:
    name = _database_name()
    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True)
    print(f"load before: {load()}")
    started = time.perf_counter()
    command = [*manage, "seed_demo", "--national"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    subprocess.run(command, check=True)
    print(f"seed_demo --national: {time.perf_counter() - started:.0f} s, load after: {load()}")


def _django():
    import django

    django.setup()


def _client(username):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _timed(client, method, url, data=None, runs=5):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    times, queries, status = [], 0, None
    for _ in range(runs):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = getattr(client, method)(url, data or {})
            times.append((time.perf_counter() - started) * 1000)
        queries, status = len(captured), response.status_code
    return statistics.median(times), queries, status, captured.captured_queries


def _pages():
    """(label, user, method, url, data) for every page measured."""
    from django.urls import reverse

    from enterprises.models import UserScope
    from placement.models import Worker

    hr_scope = UserScope.objects.select_related("enterprise").get(user__username="demo-hr")
    mine = hr_scope.enterprise
    worker = Worker.objects.filter(enterprise=mine).order_by("pk").first()
    admin_url = lambda name, *a: reverse(f"admin:{name}", args=a)  # noqa: E731
    return [
        ("national dashboard", "demo-admin", "get", reverse("reports:national"), FILTERS),
        (
            "province dashboard (山西省)",
            "demo-province",
            "get",
            reverse("reports:region", args=["140000"]),
            FILTERS,
        ),
        (
            "city dashboard (太原市)",
            "demo-city",
            "get",
            reverse("reports:region", args=["140100"]),
            FILTERS,
        ),
        (
            "enterprise dashboard",
            "demo-hr",
            "get",
            reverse("reports:enterprise", args=[mine.pk]),
            FILTERS,
        ),
        ("workers, unfiltered", "demo-admin", "get", admin_url("placement_worker_changelist"), {}),
        ("workers, one enterprise", "demo-hr", "get", admin_url("placement_worker_changelist"), {}),
        (
            "workers, name search",
            "demo-admin",
            "get",
            admin_url("placement_worker_changelist"),
            {"q": worker.name},
        ),
        (
            "workers, pending (filter)",
            "demo-admin",
            "get",
            admin_url("placement_worker_changelist"),
            {"status": "pending"},
        ),
        (
            "workers, pending (filter), one enterprise",
            "demo-hr",
            "get",
            admin_url("placement_worker_changelist"),
            {"status": "pending"},
        ),
        # Region staff: every list is scoped to their region's enterprises.
        *[
            (f"{what}, {who}", user, "get", admin_url(page), data)
            for who, user in (("province staff", "demo-province"), ("city staff", "demo-city"))
            for what, page, data in (
                ("workers", "placement_worker_changelist", {}),
                ("workers, name search", "placement_worker_changelist", {"q": worker.name}),
                ("workers, pending (filter)", "placement_worker_changelist", {"status": "pending"}),
                ("placements", "placement_placement_changelist", {}),
                ("targets", "placement_annualtarget_changelist", {}),
            )
        ],
        (
            "placements, unfiltered",
            "demo-admin",
            "get",
            admin_url("placement_placement_changelist"),
            {},
        ),
        (
            "placements, one enterprise",
            "demo-hr",
            "get",
            admin_url("placement_placement_changelist"),
            {},
        ),
        (
            "enterprises, unfiltered",
            "demo-admin",
            "get",
            admin_url("enterprises_enterprise_changelist"),
            {},
        ),
        (
            "enterprises, one enterprise (its group)",
            "demo-hr",
            "get",
            admin_url("enterprises_enterprise_changelist"),
            {},
        ),
        (
            "targets, unfiltered",
            "demo-admin",
            "get",
            admin_url("placement_annualtarget_changelist"),
            {},
        ),
        (
            "targets, one enterprise",
            "demo-hr",
            "get",
            admin_url("placement_annualtarget_changelist"),
            {},
        ),
        (
            "worker's history",
            "demo-admin",
            "get",
            admin_url("placement_worker_history", worker.pk),
            {},
        ),
        (
            "enterprise's history",
            "demo-hr",
            "get",
            admin_url("enterprises_enterprise_history", mine.pk),
            {},
        ),
        (
            "access log, unfiltered",
            "demo-admin",
            "get",
            admin_url("placement_accesslog_changelist"),
            {},
        ),
        (
            "access log, lookups only",
            "demo-admin",
            "get",
            admin_url("placement_accesslog_changelist"),
            {"action__exact": "find"},
        ),
        (
            "find by ID number (POST), admin",
            "demo-admin",
            "post",
            admin_url("placement_worker_find"),
            {"id_number": worker.id_number},
        ),
        (
            "find by ID number (POST), HR officer",
            "demo-hr",
            "post",
            admin_url("placement_worker_find"),
            {"id_number": worker.id_number},
        ),
    ]


def pages(args) -> None:
    _django()
    from django.core.cache import cache
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's response.context; DEBUG stays off
    from django.conf import settings

    settings.LEDGER_LOOKUPS_PER_MINUTE = 10_000  # the benchmark repeats one lookup
    clients = {}
    print(f"load before: {load()}")
    print("| page | median ms | queries | status | load |\n|---|---:|---:|---:|---|")
    wanted = [part for part in args.only.split(",") if part]
    for label, user, method, url, data in _pages():
        if wanted and not any(part in label for part in wanted):
            continue
        client = clients.setdefault(user, _client(user))
        if "dashboard" in label:
            cache.clear()
            first, queries, status, _q = _timed(client, method, url, data, runs=1)
            print(f"| {label}, computed | {first:.0f} | {queries} | {status} | {load()} |")
            label += ", cached"
        median, queries, status, _q = _timed(client, method, url, data, runs=args.runs)
        print(f"| {label} | {median:.0f} | {queries} | {status} | {load()} |")


def plans(args) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest query of each page (the cache emptied first)."""
    _django()
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    clients = {}
    for label, user, method, url, data in _pages():
        if args.only and args.only not in label:
            continue
        client = clients.setdefault(user, _client(user))
        cache.clear()
        _median, _n, _status, captured = _timed(client, method, url, data, runs=1)
        slowest = sorted(captured, key=lambda q: float(q["time"]), reverse=True)[: args.top]
        for query in slowest:
            if not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            print(f"\n#### {label} ({float(query['time']) * 1000:.0f} ms in the page)\n")
            print("```\n" + query["sql"] + "\n")
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                print("\n".join(row[0] for row in cursor.fetchall()))
            print("```")


def dashboards(args) -> None:
    """The dashboards computed (the cache emptied before every request): median of --runs, the
    report alone (`placement_report`, no page) and the slowest queries of the last run."""
    _django()
    from django.core.cache import cache
    from django.test.utils import setup_test_environment

    from access.actors import SYSTEM
    from enterprises.models import Region
    from reports.selectors import Scope, placement_report

    setup_test_environment()
    clients = {}
    print(f"load before: {load()}")
    print("| page | computed, median ms (runs) | report alone, median ms | queries | load |")
    print("|---|---:|---:|---:|---|")
    from django.urls import reverse

    measured = [
        ("national dashboard", reverse("reports:national")),
        ("province dashboard (山西省)", reverse("reports:region", args=["140000"])),
        ("city dashboard (太原市)", reverse("reports:region", args=["140100"])),
    ]
    for label, url in measured:
        if args.only and args.only not in label:
            continue
        user, method = "demo-admin", "get"
        data = {"year": int(args.as_of[:4]), "as_of": args.as_of}
        client = clients.setdefault(user, _client(user))
        client.get(url, data)  # warm: sessions, templates, the process's first queries
        times, captured = [], []
        for _ in range(args.runs):
            cache.clear()
            median, queries, _status, captured = _timed(client, method, url, data, runs=1)
            times.append(median)
        scope = Scope(national=True) if "national" in label else None
        if scope is None:
            scope = Scope(region=Region.objects.get(code=url.rstrip("/").rsplit("/", 1)[1]))
        alone = []
        if scope is not None:
            for _ in range(args.runs):
                started = time.perf_counter()
                placement_report(
                    scope=scope,
                    year=data["year"],
                    as_of=datetime.date.fromisoformat(args.as_of),
                    user=SYSTEM,
                )
                alone.append((time.perf_counter() - started) * 1000)
        runs = ", ".join(f"{t:.0f}" for t in times)
        report = f"{statistics.median(alone):.0f}" if alone else ""
        print(
            f"| {label} | {statistics.median(times):.0f} ({runs}) | {report} | {queries} "
            f"| {load()} |"
        )
        slowest = sorted(captured, key=lambda q: float(q["time"]), reverse=True)[: args.top]
        for query in slowest:
            print(f"    {float(query['time']) * 1000:6.0f} ms  {query['sql'][:160]}")


def import_(args) -> None:
    _django()
    from enterprises.models import Enterprise, Region
    from placement import idnumbers
    from placement.demo import credit_code
    from placement.demo_rosters import roster_rows, roster_xlsx
    from placement.models import Worker

    region = Region.objects.get(code="140105")
    enterprise, _created = Enterprise.objects.get_or_create(
        credit_code=credit_code(region.code, 990_002),
        defaults={"name": "全国基准导入煤矿", "industry": "coal", "region": region},
    )
    if Worker.objects.filter(enterprise=enterprise).exists():
        sys.exit("the benchmark enterprise already has workers: use a fresh database")
    # A few more rows than asked, then those whose number the 2,000,000 already hold dropped.
    rows = roster_rows(args.rows + args.rows // 50, seed=1414)
    digests = {idnumbers.digest(row[2]): row for row in rows}
    taken = set()
    keys = list(digests)
    for start in range(0, len(keys), 5000):
        taken |= set(
            Worker.objects.filter(id_number_digest__in=keys[start : start + 5000]).values_list(
                "id_number_digest", flat=True
            )
        )
    rows = [row for digest, row in digests.items() if digest not in taken][: args.rows]
    for index, row in enumerate(rows, start=1):
        row[0] = index
    path = Path(f"/tmp/ledger-national-roster-{args.rows}.xlsx")
    path.write_bytes(roster_xlsx(rows))
    print(f"{len(rows)} rows ({len(taken)} numbers already registered left out), {path}")
    print(f"workers before: {Worker.objects.count()}, load before: {load()}")
    started = time.perf_counter()
    command = [
        "/usr/bin/time",
        "-f",
        "%e s, %M KB peak",
        sys.executable,
        str(ROOT / "manage.py"),
        "import_roster",
        str(path),
        "--enterprise",
        enterprise.credit_code,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    print(result.stdout[-2000:], result.stderr[-2000:])
    print(
        f"import_roster: {time.perf_counter() - started:.1f} s (whole process), "
        f"load after: {load()}"
    )
    print(f"workers after: {Worker.objects.count()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    seeding = sub.add_parser("seed")
    seeding.add_argument("--workers", type=int, default=None)
    seeding.set_defaults(run=seed)
    paging = sub.add_parser("pages")
    paging.add_argument("--runs", type=int, default=5)
    paging.add_argument(
        "--only",
        default="",
        help="only the pages whose label contains one of these (comma-separated)",
    )
    paging.set_defaults(run=pages)
    planning = sub.add_parser("plans")
    planning.add_argument("--only", default="")
    planning.add_argument("--top", type=int, default=1)
    planning.set_defaults(run=plans)
    computing = sub.add_parser("dashboards")
    computing.add_argument("--runs", type=int, default=5)
    computing.add_argument("--only", default="")
    computing.add_argument("--top", type=int, default=4)
    # A month's last day reads the monthly sums alone; another day also that month's facts.
    computing.add_argument("--as-of", default=FILTERS["as_of"])
    computing.set_defaults(run=dashboards)
    importing = sub.add_parser("import")
    importing.add_argument("--rows", type=int, default=50_000)
    importing.set_defaults(run=import_)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
