"""The load test: 50 simulated officers against gunicorn on loopback, right after a fresh seed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_load \\
        .venv/bin/python benchmarks/load.py --workers 500000

Steps, each timed: drop and create the database named in DATABASE_URL, migrate, `seed_demo
--workers N`; create the officers' accounts (provincial staff, staff of the cities, HR officers
of the largest enterprises; one password, hashed once with the project's hasher) and one roster
of new workers for the first HR officer's import; start gunicorn (config/gunicorn.conf.py, DEBUG
off, on 127.0.0.1 only) and one job worker (`db_worker`); run locust headless
(benchmarks/locustfile.py) for --time seconds with --users officers arriving --spawn-rate a
second; stop the servers it started. Nothing is warmed up: the first dashboards are computed
by the officers' own requests.

It prints locust's summary (client side: requests, failures, p50/p95/p99 per request type) and,
from the app's JSON request log, the server's durations and every status of 500 or more, with
the load average sampled during the run. Traffic goes to 127.0.0.1 only, for a bounded time.
Plain HTTP on loopback: DJANGO_SECURE_SSL_REDIRECT and DJANGO_SECURE_COOKIES are off for the run
(production has TLS at the proxy).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
)
os.environ.setdefault("LEDGER_ID_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWtleS1kby1ub3QtdXNlLTMyYnl0ZXM=")
os.environ.setdefault("LEDGER_ID_HMAC_KEY", "test-only-hmac-key-do-not-use-in-production")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ledger_load")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"
os.environ["DJANGO_SECURE_COOKIES"] = "false"
os.environ["DJANGO_HSTS_SECONDS"] = "0"

VENV = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _run(command, **kwargs):
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, **kwargs)
    return time.perf_counter() - started


def seed(workers: int) -> None:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    manage = [sys.executable, "manage.py"]
    print(f"migrate: {_run([*manage, 'migrate', '-v0']):.0f} s")
    seconds = _run([*manage, "seed_demo", "--workers", str(workers)], stdout=subprocess.DEVNULL)
    print(f"seed_demo --workers {workers}: {seconds:.0f} s, load {load()}")


def officers(count: int, password: str, roster_rows: int) -> tuple[str, str]:
    """The officers' accounts (username:role:scope, comma-separated) and the roster's path."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.db.models import Count

    from enterprises.models import Enterprise, Region, UserScope
    from placement import idnumbers
    from placement.demo_rosters import roster_rows as make_rows
    from placement.demo_rosters import roster_xlsx
    from placement.models import Worker
    from placement.roles import user_role_sync

    hashed = make_password(password)  # once: the officers share it
    cities = list(Region.objects.filter(level=Region.Level.CITY).order_by("code"))
    province = Region.objects.get(code="140000")
    largest = list(
        Enterprise.objects.filter(parent__isnull=False)
        .annotate(n=Count("workers"))
        .order_by("-n")[: count // 2]
    ) or list(Enterprise.objects.annotate(n=Count("workers")).order_by("-n")[: count // 2])
    lines = []
    for i in range(count):
        if i % 5 == 0:
            role, scope = UserScope.Role.PROVINCE_STAFF, {"region": province}
            kind, key = "province", province.code
        elif i % 2 == 1:
            enterprise = largest[(i // 2) % len(largest)]
            role, scope = UserScope.Role.ENTERPRISE_HR, {"enterprise": enterprise}
            kind, key = "hr", str(enterprise.pk)
        else:
            city = cities[i % len(cities)]
            role, scope = UserScope.Role.REGION_STAFF, {"region": city}
            kind, key = "city", city.code
        username = f"load-{i:02d}"
        user, _created = get_user_model().objects.update_or_create(
            username=username, defaults={"password": hashed, "is_active": True, "is_staff": True}
        )
        UserScope.objects.update_or_create(
            user=user, defaults={"role": role, "region": None, "enterprise": None, **scope}
        )
        user_role_sync(user=user)
        lines.append(f"{username}:{kind}:{key}")
    # The first HR officer's roster: new workers only (numbers the seed did not use).
    rows = make_rows(roster_rows + roster_rows // 20 + 10, seed=1404)
    taken = set(
        Worker.objects.filter(
            id_number_digest__in=[idnumbers.digest(row[2]) for row in rows]
        ).values_list("id_number_digest", flat=True)
    )
    rows = [row for row in rows if idnumbers.digest(row[2]) not in taken][:roster_rows]
    for index, row in enumerate(rows, start=1):
        row[0] = index
    path = Path(f"/tmp/ledger-load-roster-{roster_rows}.xlsx")
    path.write_bytes(roster_xlsx(rows))
    connection.close()
    hr_first = next(line for line in lines if ":hr:" in line)
    lines.remove(hr_first)
    return ",".join([hr_first, *lines]), str(path)


def _wait_healthy(port: int, seconds: int = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health/", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /health/")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def server_summary(log: Path, started: float) -> None:
    """Durations and errors from the app's JSON request log (config/middleware.py)."""
    durations, errors, by_status = [], [], {}
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "duration_ms" not in entry or entry.get("path") == "/health/":
            continue
        durations.append(float(entry["duration_ms"]))
        status = int(entry.get("status", 0))
        by_status[status] = by_status.get(status, 0) + 1
        if status >= 500:
            errors.append(entry)
    if not durations:
        print("no request log lines")
        return
    print(
        f"server (request log): {len(durations)} requests, "
        f"p50 {_percentile(durations, 0.5):.0f} ms, p95 {_percentile(durations, 0.95):.0f} ms, "
        f"p99 {_percentile(durations, 0.99):.0f} ms, max {max(durations):.0f} ms, "
        f"mean {statistics.mean(durations):.0f} ms; statuses {dict(sorted(by_status.items()))}"
    )
    for entry in errors:
        print("  5xx:", entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=500_000)
    parser.add_argument("--skip-seed", action="store_true", help="use the database as it is")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=2)
    parser.add_argument("--time", type=int, default=150, help="seconds (at most 600)")
    parser.add_argument("--port", type=int, default=8014)
    parser.add_argument("--gunicorn-workers", type=int, default=None)
    parser.add_argument("--roster-rows", type=int, default=3000)
    parser.add_argument("--out", default="/tmp/ledger-load")
    args = parser.parse_args()
    run_time = min(args.time, 600)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.skip_seed:
        seed(args.workers)
    password = "load-" + os.urandom(9).hex()
    officer_list, roster = officers(args.users, password, args.roster_rows)

    env = {
        **os.environ,
        "GUNICORN_BIND": f"{HOST}:{args.port}",
        "DJANGO_REQUEST_LOG": "INFO",
        "DJANGO_ALLOWED_HOSTS": HOST,
    }
    if args.gunicorn_workers:
        env["GUNICORN_WORKERS"] = str(args.gunicorn_workers)
    log = out / "server.log"
    started_servers = []
    with open(log, "w") as server_log, open(out / "jobs.log", "w") as jobs_log:
        gunicorn = subprocess.Popen(
            [str(VENV / "gunicorn"), "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        started_servers.append(gunicorn)
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--no-reload"],
            cwd=ROOT,
            env={**env, "DJANGO_REQUEST_LOG": "WARNING"},
            stdout=jobs_log,
            stderr=subprocess.STDOUT,
        )
        started_servers.append(worker)
        try:
            _wait_healthy(args.port)
            samples = []
            stop = threading.Event()

            def sample():
                while not stop.wait(10):
                    samples.append(load())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            print(
                f"locust: {args.users} officers, {args.spawn_rate}/s, {run_time} s; load {load()}"
            )
            started = time.time()
            subprocess.run(
                [
                    str(VENV / "locust"),
                    "-f",
                    str(ROOT / "benchmarks" / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(args.users),
                    "--spawn-rate",
                    str(args.spawn_rate),
                    "--run-time",
                    f"{run_time}s",
                    "--stop-timeout",
                    "10",
                    "--host",
                    f"http://{HOST}:{args.port}",
                    "--csv",
                    str(out / "locust"),
                    "--only-summary",
                ],
                cwd=ROOT,
                env={
                    **env,
                    "LEDGER_LOAD_OFFICERS": officer_list,
                    "LEDGER_LOAD_PASSWORD": password,
                    "LEDGER_LOAD_ROSTER": roster,
                },
                timeout=run_time + 120,
                check=False,
            )
            stop.set()
            print("load average during the run (every 10 s):", "; ".join(samples))
        finally:
            for process in started_servers:
                process.send_signal(signal.SIGTERM)
            for process in started_servers:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    server_summary(log, started)
    print(f"locust CSV: {out}/locust_stats.csv; server log: {log}")


if __name__ == "__main__":
    main()
