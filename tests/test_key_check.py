"""The app refuses to start without its ID-number keys, but schema-only commands run without them
(a fresh checkout can check its migrations before it has a .env)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_ID_")}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_makemigrations_check_runs_without_the_keys_and_check_refuses():
    assert _manage("makemigrations", "--check", "--dry-run").returncode == 0
    refused = _manage("check")
    assert refused.returncode != 0
    assert "placement.E001" in refused.stderr
