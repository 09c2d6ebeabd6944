"""Start-up time of `ft-bench --help` and `ft-bench --version` (target: median < 150 ms).

Prints the median and spread of N launches of the console script (and of `python -m ftbench`)
measured with ftbench's own probe. Run: `.venv/bin/python benchmarks/startup.py`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from ftbench.measure import probe

RUNS = int(os.environ.get("RUNS", "30"))


def measure(argv: list[str]) -> list[float]:
    times = []
    executor = probe.default_executor()
    with tempfile.TemporaryDirectory() as tmp:
        job = probe.Job(argv, Path.cwd(), dict(os.environ), Path(tmp) / "out.log")
        try:
            for result in executor.run([job] * RUNS, stop_on_failure=True):
                if not result.ok:
                    raise SystemExit(f"{argv} failed: see {job.log_path} in a manual run")
                times.append(result.wall_s)
        finally:
            executor.close()
    return times


def main() -> None:
    script = shutil.which("ft-bench", path=str(Path(sys.executable).parent)) or "ft-bench"
    cases = {
        "ft-bench --help": [script, "--help"],
        "ft-bench --version": [script, "--version"],
        "python -m ftbench --help": [sys.executable, "-m", "ftbench", "--help"],
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
    }
    print(f"start-up, {RUNS} runs each (target: median < 150 ms)")
    print(f"{'command':<28} {'median':>9} {'min':>9} {'max':>9}")
    for name, argv in cases.items():
        times = measure(argv)
        print(
            f"{name:<28} {statistics.median(times) * 1000:8.1f}ms "
            f"{min(times) * 1000:8.1f}ms {max(times) * 1000:8.1f}ms"
        )


if __name__ == "__main__":
    main()
