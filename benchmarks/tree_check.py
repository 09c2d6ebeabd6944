"""What checking the measured tree costs (``measure/tree.py``, issue 21).

The runner takes the state of the tracked files after every sample run on its own (and after
every batch of a batched phase), outside of every timing: one ``git status`` per check, plus a
``git hash-object`` of the files that differ from the index when there are some. This prints,
per repository given (default: this one), its tracked files, the files that differ, and the
median and 90th percentile of a check, clean and with a few changed files (changed in a
temporary copy, never in the repository itself).

Run: `.venv/bin/python benchmarks/tree_check.py [REPO ...]` (N=50 checks each by default).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ftbench.measure.tree import TreeGuard

N = int(os.environ.get("N", "50"))


def timed(root: Path) -> tuple[float, float]:
    guard = TreeGuard(root)
    guard.start()
    times = []
    for _ in range(N):
        started = time.perf_counter()
        guard.check("x")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def files(root: Path, *args: str) -> int:
    out = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout
    return len([line for line in out.splitlines() if line])


def main(repos: list[Path]) -> None:
    print("| repository | tracked files | changed files | check median | check p90 |")
    print("|---|---:|---:|---:|---:|")
    for repo in repos:
        tracked = files(repo, "ls-files")
        changed = files(repo, "diff", "--name-only", "HEAD")
        median, p90 = timed(repo)
        print(f"| {repo.name} | {tracked} | {changed} | {median:.1f} ms | {p90:.1f} ms |")
        with tempfile.TemporaryDirectory(prefix="ftbench-tree-") as tmp:
            copy = Path(tmp) / repo.name
            subprocess.run(["git", "clone", "-q", str(repo), str(copy)], check=True)
            tracked_py = [p for p in copy.rglob("*.py") if ".git" not in p.parts][:10]
            for path in tracked_py:
                path.write_text(path.read_text() + "\n# changed\n")
            median, p90 = timed(copy)
            n = files(copy, "diff", "--name-only", "HEAD")
            print(
                f"| {repo.name} (copy, edited) | {tracked} | {n} | {median:.1f} ms | {p90:.1f} ms |"
            )
            shutil.rmtree(copy, ignore_errors=True)


if __name__ == "__main__":
    main([Path(p).resolve() for p in sys.argv[1:]] or [Path(__file__).resolve().parent.parent])
