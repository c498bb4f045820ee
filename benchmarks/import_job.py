"""An admin upload of the 100,000-row benchmark roster as the officer sees it: seconds from the
upload to the first progress the page shows (the file's rows known), to the first rows checked,
and to the preview, with one `db_worker` beside it. Run benchmarks/import_roster.py first (it
makes the file and the enterprise).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench_import \\
        .venv/bin/python benchmarks/import_job.py [--interval 0.25]

The worker polls as `make run` and the systemd unit start it (--interval 0.25); the total the
bar shows is printed each time it changes (an estimate first where the file has no <dimension>).
With --confirm the enterprise is emptied first, so that the file is a first import, and after
the preview the import is confirmed: the write's progress (rows read, compared and written, from
its WriteProgress row) is printed as the status URL answers it, then the time to done.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import import_roster  # noqa: E402  (sets the environment as that benchmark does)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", default="0.25", help="db_worker --interval")
    parser.add_argument("--confirm", action="store_true", help="confirm, then time the write")
    args = parser.parse_args()
    import_roster._django()
    from django.contrib.auth.models import User

    from jobs.services import import_job_confirm, import_job_create
    from spreadsheets.admin import job_progress

    base, _changed, _plain = import_roster._files(100_000)
    enterprise = import_roster._enterprise()
    if args.confirm:
        import_roster._reset()
    user, _ = User.objects.get_or_create(username="bench-admin", is_superuser=True, is_staff=True)
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
    time.sleep(4)  # the worker is up, as it is beside a running server
    start = time.perf_counter()
    job = import_job_create(
        model="placement.worker",
        user=user,
        filename="roster.xlsx",
        data=base.read_bytes(),
        options={"enterprise": enterprise.pk},
        enterprise_id=enterprise.pk,
    )
    stored = time.perf_counter() - start
    seen = {}
    total = None
    while True:
        # Not the stored file (11 MB) at every look: what the status URL reads.
        job.refresh_from_db(fields=["status", "rows_total", "rows_done", "unchanged", "created"])
        now = time.perf_counter() - start
        if job.status == "checking":
            seen.setdefault("started", now)
        if job.rows_total and job.rows_total != total:
            total = job.rows_total
            seen[f"total {total}"] = now
        if job.rows_done:
            seen.setdefault("first rows checked", now)
        if job.status in ("preview", "refused", "failed"):
            seen["preview"] = now
            break
        time.sleep(0.05)
    written = []
    if args.confirm and job.status == "preview":
        confirmed = time.perf_counter()
        import_job_confirm(job)
        done = None
        while done is None:
            job.refresh_from_db(fields=["status", "rows_done", "rows_total", "started_at"])
            now = time.perf_counter() - confirmed
            # What the status URL answers (the write's own rows from its WriteProgress row).
            rows = job_progress(job)["rows_done"] if job.status == "writing" else None
            if rows is not None and (not written or written[-1][1] != rows):
                written.append((now, rows))
            if job.status in ("done", "refused", "failed"):
                done = now
            time.sleep(0.05)
    worker.terminate()
    worker.wait()
    print(f"upload stored and enqueued: {stored:.2f} s")
    for name, seconds in seen.items():
        print(f"{name}: {seconds:.2f} s")
    if args.confirm:
        print("after confirming, rows written as the bar shows them:")
        for seconds, rows in written:
            print(f"  {seconds:6.2f} s  {rows}")
        print(f"done: {done:.2f} s after confirming")
    print(f"status {job.status}, {job.unchanged} unchanged, {job.created} new")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
