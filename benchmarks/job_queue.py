"""The job queue's own cost (django-tasks' database backend): how long an enqueue takes inside a
transaction, and how long a job waits between its commit and a worker starting it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench_queue \\
        .venv/bin/python benchmarks/job_queue.py --jobs 200
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
)
os.environ.setdefault("LEDGER_ID_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWtleS1kby1ub3QtdXNlLTMyYnl0ZXM=")
os.environ.setdefault("LEDGER_ID_HMAC_KEY", "test-only-hmac-key-do-not-use-in-production")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--interval", default="1")
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from jobs.tasks import import_check

    call_command("migrate", verbosity=0)
    DBTaskResult.objects.all().delete()
    started = time.perf_counter()
    for _ in range(args.jobs):
        with transaction.atomic():
            # A job id that does not exist: the task finds nothing to claim and returns.
            import_check.enqueue(0)
    enqueue_ms = (time.perf_counter() - started) / args.jobs * 1000
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--queue-name",
            "*",
            "--no-reload",
            "--interval",
            args.interval,
            "--verbosity",
            "0",
        ],
        cwd=ROOT,
    )
    started = time.perf_counter()
    worker.wait()
    drained = time.perf_counter() - started
    # One job at a time, each enqueued while the worker waits: the delay to its start.
    waits = []
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--queue-name",
            "*",
            "--no-reload",
            "--interval",
            args.interval,
            "--verbosity",
            "0",
        ],
        cwd=ROOT,
    )
    time.sleep(3)
    for _ in range(10):
        result = import_check.enqueue(0)
        while True:
            row = DBTaskResult.objects.get(pk=result.id)
            if row.finished_at:
                waits.append((row.started_at - row.enqueued_at).total_seconds())
                break
            time.sleep(0.05)
    worker.terminate()
    worker.wait()
    print(f"database: {django.db.connection.vendor}")
    print(f"enqueue inside a transaction: {enqueue_ms:.2f} ms a job")
    print(f"one worker drains {args.jobs} empty jobs in {drained:.1f} s (process start included)")
    print(
        f"delay from enqueue to start, poll interval {args.interval} s: median "
        f"{statistics.median(waits):.2f} s, max {max(waits):.2f} s"
    )


if __name__ == "__main__":
    main()
