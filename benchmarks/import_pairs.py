"""A roster-import phase timed in pairs: the working tree against an earlier commit, one run after
the other, so that a change is judged against the machine's drift rather than across it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench_import \\
        .venv/bin/python benchmarks/import_pairs.py --base HEAD~1 --phase identical --pairs 4

On a shared machine two runs of the same code minutes apart differ by up to 2 s (a first import
of 100,000 rows) or 1 s (a re-import): more than most changes save (benchmarks/README.md,
"Session 23"). Each pair runs the base and the working tree back to back, in alternating order
(ABBA…), each in its own process through `import_roster.py --phase`; the answer is each pair's
seconds, the median difference and the pairs the working tree won.

The base is checked out into a temporary git worktree and run with this interpreter; it must have
the same migrations as the working tree (both run against the same benchmark database). Phases:
`first` (each run into an emptied enterprise), `identical` (the roster imported once beforehand),
`changed10` (each run after an unmeasured identical import that puts the roster back).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ledger_bench_import")


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def _phase(tree: Path, phase: str, rows: int) -> float:
    """One phase of `import_roster.py` from `tree`, in its own process: its seconds."""
    output = subprocess.run(
        [sys.executable, str(tree / "benchmarks" / "import_roster.py")]
        + ["--phase", phase, "--rows", str(rows)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["seconds"]


def _run(tree: Path, phase: str, rows: int) -> float:
    if phase == "changed10":
        _phase(tree, "identical", rows)  # the roster as it was, so that 10% change again
    return _phase(tree, phase, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (e.g. HEAD~1)")
    parser.add_argument("--phase", choices=["first", "identical", "changed10"], required=True)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    base = _git("rev-parse", "--verify", args.base + "^{commit}").strip()
    if _git("diff", "--name-only", base, "--", "*/migrations/*.py").strip():
        sys.exit("the base has other migrations than the working tree: compare within one schema")
    with tempfile.TemporaryDirectory(prefix="ledger-base-") as directory:
        tree = Path(directory) / "base"
        _git("worktree", "add", "--detach", str(tree), base)
        try:
            if args.phase != "first":
                _phase(ROOT, "first", args.rows)  # the roster imported once
            pairs = []
            for number in range(args.pairs):
                order = [("base", tree), ("new", ROOT)]
                if number % 2:
                    order.reverse()
                seconds = {side: _run(where, args.phase, args.rows) for side, where in order}
                pairs.append(seconds)
                print(
                    f"pair {number + 1}: base {seconds['base']:.2f} s, "
                    f"working tree {seconds['new']:.2f} s",
                    flush=True,
                )
        finally:
            _git("worktree", "remove", "--force", str(tree))
    differences = [pair["new"] - pair["base"] for pair in pairs]
    won = sum(1 for difference in differences if difference < 0)
    print(
        f"{args.phase}, {args.rows} rows, base {base[:7]}: median difference "
        f"{statistics.median(differences):+.2f} s; the working tree faster in {won} of "
        f"{len(pairs)} pairs"
    )


if __name__ == "__main__":
    main()
