"""The first reports right after a bulk load, on PostgreSQL (run by hand, never in CI).

    DJANGO_SECRET_KEY=... LEDGER_ID_ENCRYPTION_KEYS=... LEDGER_ID_HMAC_KEY=... \\
    .venv/bin/python benchmarks/after_seed.py --database ledger_bench_seed --workers 500000

Creates the database afresh (dropping it first if it exists), migrates, runs `manage.py
seed_demo --workers N`, and as soon as it returns times the province `placement_report --year
2017 --json` as whole processes (start-up included, as a user of the command waits): three runs
as of the default date (31 December 2017), then three with `--as-of 2017-06-30`, and prints the
median of each. Nothing runs in between: no refresh_report_facts, no VACUUM ANALYZE, so the
figures show what the seeder itself leaves behind. The database is dropped at the end unless
--keep. Extra environment for the child processes (e.g. LEDGER_ANALYZE_AFTER_ROWS=100000000 to
see the figures without the automatic analyse) is passed through.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def admin_sql(dsn: str, sql: str) -> None:
    connection = psycopg2.connect(dsn)
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


def manage(env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="ledger_bench_seed")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--workers", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    name = args.database
    if not name.replace("_", "").isalnum():
        sys.exit("the database name may hold letters, digits and _ only")
    maintenance = f"{args.server}/postgres"
    admin_sql(maintenance, f"DROP DATABASE IF EXISTS {name}")
    admin_sql(maintenance, f"CREATE DATABASE {name}")
    env = {**os.environ, "DATABASE_URL": f"{args.server}/{name}"}
    try:
        print(f"migrate: {manage(env, 'migrate', '--no-input'):.1f} s")
        seconds = manage(env, "seed_demo", "--workers", str(args.workers))
        print(f"seed_demo --workers {args.workers}: {seconds:.1f} s (load {load()})")
        report = ["placement_report", "--year", "2017", "--json"]
        for label, extra in (
            ("default as-of", []),
            ("--as-of 2017-06-30", ["--as-of", "2017-06-30"]),
        ):
            times = [manage(env, *report, *extra) for _ in range(args.runs)]
            shown = ", ".join(f"{t:.2f}" for t in times)
            print(
                f"placement_report {label}: median {statistics.median(times):.2f} s "
                f"(runs {shown}; load {load()})"
            )
    finally:
        if not args.keep:
            admin_sql(maintenance, f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    main()
