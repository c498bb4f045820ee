"""Peak memory of storing a finished export job's file (the step that held the 500,000-row
export whole several times, 629 MB): SIZE MB of random bytes (a zip does not compress) written
to an unnamed temporary file, then stored by `jobs.tasks._export_store` in encrypted parts.
Prints the seconds and the peak RSS before and after. Any migrated database will do:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench \\
        .venv/bin/python benchmarks/export_store.py 45

On main (0fa23a3) the same steps done its way (`BytesIO`, `getvalue()`, `seal`, one UPDATE of
`ExportJob.file`) peaked at 661 MB for 45 MB (benchmarks/README.md).
"""

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import import_roster  # noqa: E402  (sets the environment as that benchmark does)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 45
    import_roster._django()
    from django.contrib.auth.models import User

    from jobs.models import ExportJob
    from jobs.tasks import _export_store

    user, _ = User.objects.get_or_create(username="bench-admin", is_superuser=True, is_staff=True)
    job = ExportJob.objects.create(
        model="placement.worker", user=user, filename="w.xlsx", status="running", attempts=1
    )
    before = _peak_mb()
    start = time.perf_counter()
    with tempfile.TemporaryFile() as file:
        for _ in range(size):
            file.write(os.urandom(1 << 20))
        file.seek(0)
        _export_store(job.pk, 1, file)
    seconds = time.perf_counter() - start
    job.refresh_from_db()
    assert (job.status, job.size) == ("done", size << 20)
    print(
        f"{size} MB stored in {job.parts.count()} parts in {seconds:.1f} s; peak RSS "
        f"{_peak_mb():.0f} MB (before storing {before:.0f} MB); load {os.getloadavg()[0]:.1f}"
    )
    job.delete()


if __name__ == "__main__":
    main()
