"""An admin upload of the 100,000-row benchmark roster as the officer sees it: seconds from the
upload to the first progress the page shows (the file's rows known), to the first rows checked,
and to the preview, with one `db_worker` beside it. Run benchmarks/import_roster.py first (it
makes the file and the enterprise).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench_import \\
        .venv/bin/python benchmarks/import_job.py
"""

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import import_roster  # noqa: E402  (sets the environment as that benchmark does)


def main():
    import_roster._django()
    from django.contrib.auth.models import User

    from jobs.services import import_job_create

    base, _changed, _plain = import_roster._files(100_000)
    enterprise = import_roster._enterprise()
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
            "1",
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
    while True:
        job.refresh_from_db()
        now = time.perf_counter() - start
        if job.status == "checking":
            seen.setdefault("started", now)
        if job.rows_total:
            seen.setdefault("rows known", now)
        if job.rows_done:
            seen.setdefault("first rows checked", now)
        if job.status in ("preview", "refused", "failed"):
            seen["preview"] = now
            break
        time.sleep(0.1)
    worker.terminate()
    worker.wait()
    print(f"upload stored and enqueued: {stored:.2f} s")
    for name, seconds in seen.items():
        print(f"{name}: {seconds:.2f} s")
    print(f"status {job.status}, {job.unchanged} unchanged, {job.created} new")


if __name__ == "__main__":
    main()
