"""How fast this machine is right now, in two fixed workloads, printed beside a benchmark's
figures: the sessions' machines differ by a factor of three from one day to the next (the same
first import took 12.5 s on one and 34–38 s on another), so a figure is read against its gauge.

    .venv/bin/python benchmarks/machine.py

- python: a fixed pure-Python loop (10 million additions), one core; the reading and checking of
  rows scale with it.
- postgres: 100,000 rows into a temporary table with a primary key, a text index and a trigram
  GIN, through one INSERT … SELECT, committed; the writes of an import scale with it.

Gauges of 2026-12-07 on a session machine (2 shared cores) where a 100,000-row first import took
35 s: python 0.40–0.65 s, postgres 1.28–1.95 s (benchmarks/README.md, "Session 21").
"""

import os
import sys
import time

PYTHON_LOOP = 10_000_000
POSTGRES_ROWS = 100_000
DEFAULT_DSN = "postgres://postgres@127.0.0.1:5432/postgres"


def python_seconds() -> float:
    start = time.perf_counter()
    total = 0
    for number in range(PYTHON_LOOP):
        total += number
    return time.perf_counter() - start


def postgres_seconds(dsn: str) -> float:
    import psycopg2

    connection = psycopg2.connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            connection.commit()
            start = time.perf_counter()
            cursor.execute(
                "CREATE TEMPORARY TABLE gauge (id integer PRIMARY KEY, digest text, name text)"
            )
            cursor.execute("CREATE INDEX ON gauge (digest)")
            cursor.execute("CREATE INDEX ON gauge USING gin (name gin_trgm_ops)")
            cursor.execute(
                "INSERT INTO gauge SELECT g, md5(g::text), substr(md5((g * 7)::text), 1, 6) "
                "FROM generate_series(1, %s) g",
                [POSTGRES_ROWS],
            )
            connection.commit()
            return time.perf_counter() - start
    finally:
        connection.close()


def gauge(dsn: str | None = None) -> dict:
    """{"python_s": …, "postgres_s": …, "load": …}: the two workloads' seconds (the better of two
    runs each, so that one preempted run does not count) and the 1-minute load average."""
    dsn = dsn or os.environ.get("DATABASE_URL") or DEFAULT_DSN
    python = min(python_seconds() for _ in range(2))
    postgres = min(postgres_seconds(dsn) for _ in range(2))
    return {"python_s": round(python, 2), "postgres_s": round(postgres, 2)} | {
        "load": round(os.getloadavg()[0], 1)
    }


def line(figures: dict) -> str:
    return (
        f"machine gauge: python {figures['python_s']} s, postgres {figures['postgres_s']} s, "
        f"load {figures['load']}"
    )


if __name__ == "__main__":
    print(line(gauge(sys.argv[1] if len(sys.argv) > 1 else None)))
