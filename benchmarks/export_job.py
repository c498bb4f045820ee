"""The province-wide worker export as the admin runs it: an export job (jobs.tasks.export_write,
the change list's rows for a superuser, no filter) taken by one `db_worker`; prints the seconds
to done, the worker's peak memory (VmHWM) and the file's size; the worker polls as `make run`
starts it (--interval 0.25). Seed first:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench \\
        .venv/bin/python manage.py seed_demo --workers 500000
    DATABASE_URL=… .venv/bin/python benchmarks/export_job.py [--query status=cadre]
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


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--query", default="", help="the change list's query string, e.g. status=cadre"
    )
    args = parser.parse_args()
    import_roster._django()
    from django.contrib.auth.models import User
    from django.db import transaction

    from jobs.models import ExportJob
    from jobs.tasks import export_write
    from placement.models import Worker

    user, _ = User.objects.get_or_create(username="bench-admin", is_superuser=True, is_staff=True)
    # The rows the change list's filter selects (a field=value filter of the worker's own).
    total = Worker.objects.filter(**dict(pair.split("=") for pair in args.query.split("&") if pair))
    total = total.count()
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--no-reload"]
        + ["--interval", "0.25", "--verbosity", "0"],
        cwd=ROOT,
    )
    time.sleep(4)  # the worker is up, as it is beside a running server
    start = time.perf_counter()
    # What the admin's export does above LEDGER_EXPORT_JOB_ROWS (spreadsheets.admin).
    with transaction.atomic():
        job = ExportJob.objects.create(
            model="placement.worker",
            user=user,
            query=args.query,
            filename="workers.xlsx",
            rows_total=total,
        )
        export_write.enqueue(job.pk)
    peak = 0
    seen = {}
    while True:
        job.refresh_from_db(fields=["status", "rows_done"])
        now = time.perf_counter() - start
        peak = max(peak, _peak_kb(worker.pid))
        if job.rows_done:
            seen.setdefault("first rows written", now)
        if job.status in ("done", "failed"):
            seen[job.status] = now
            break
        if worker.poll() is not None:
            seen["worker exited"] = now
            break
        time.sleep(0.5)
    worker.terminate()
    worker.wait()
    job.refresh_from_db()
    print(f"{total} workers; status {job.status}, {job.rows_done} rows")
    for name, seconds in seen.items():
        print(f"{name}: {seconds:.1f} s")
    from django.db.models import Sum
    from django.db.models.functions import Length

    sealed = job.parts.aggregate(size=Sum(Length("data")))["size"] or 0
    print(
        f"worker peak RSS (VmHWM): {peak / 1024:.0f} MB; file {job.size / 1e6:.1f} MB, "
        f"sealed in {job.parts.count()} parts {sealed / 1e6:.1f} MB"
    )
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
