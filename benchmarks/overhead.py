"""Per-sample overhead of ftbench against hyperfine (Debian package `hyperfine`).

Targets (issue 2): timing /bin/true 300 times, ftbench's warm median is within 0.5 ms of
`hyperfine -N`'s, and ftbench's per-sample cost - (whole-process time of a 300-sample run
minus that of a 1-sample run) / 299 - is at most 1.5x hyperfine's, measured the same way.
The four launches (ftbench and hyperfine, 300 and 1 samples) are interleaved, REPEAT rounds;
each round gives one cost per tool, and the table shows their medians and the ratio's range
(a 2-CPU VM's noise moves a single round by tens of percent). Prints both side by side.

Then, per backend (FTBENCH_PROBE), measured in this process over N runs of /bin/true: the
loop's cost per sample (harness included) and the median wall time the backend reports.

Run: `.venv/bin/python benchmarks/overhead.py` (REPEAT=15 by default).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = "/bin/true"
N = 300
REPEAT = int(os.environ.get("REPEAT", "15"))


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def interleaved_costs(repo: Path) -> tuple[list[float], list[float]]:
    """Per-sample costs of hyperfine and ftbench, one of each per round."""
    hf, ft = [], []
    for _ in range(REPEAT):
        times = [
            wall(argv)
            for argv in (
                hyperfine_argv(N),
                ftbench_argv(N, repo),
                hyperfine_argv(1),
                ftbench_argv(1, repo),
            )
        ]
        hf.append((times[0] - times[2]) / (N - 1))
        ft.append((times[1] - times[3]) / (N - 1))
    return hf, ft


def ftbench_argv(runs: int, repo: Path) -> list[str]:
    # An empty repository with its reports in .firsttry/, like a real run.
    return [
        sys.executable,
        "-m",
        "ftbench",
        "run",
        "--cmd",
        TARGET,
        "--skip-cold",
        "--runs",
        str(runs),
        "--warmup",
        "3" if runs > 1 else "0",
        "--quiet",
        "--progress",
        "never",
        "--baseline",
        "none",
        "--repo",
        str(repo),
    ]


def hyperfine_argv(runs: int, export: Path | None = None) -> list[str]:
    argv = [
        "hyperfine",
        "-N",
        "--runs",
        str(runs),
        "--warmup",
        "3" if runs > 1 else "0",
        "--style",
        "none",
    ]
    if export is not None:
        argv += ["--export-json", str(export)]
    return [*argv, TARGET]


def backend_costs() -> None:
    from ftbench.measure import probe

    print(f"{'backend':<14}{'per sample':>14}{'median wall':>14}{'/bin/true peak RSS':>22}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in probe.BACKENDS:
            os.environ["FTBENCH_PROBE"] = name
            executor = probe.default_executor()
            job = probe.Job([TARGET], Path(tmp), dict(os.environ), Path(tmp) / "log")
            try:
                list(executor.run([job], stop_on_failure=True))  # start-up is not per-sample
                start = time.perf_counter()
                results = list(executor.run([job] * N, stop_on_failure=True))
                cost = (time.perf_counter() - start) / N
            finally:
                executor.close()
            walls = statistics.median(r.wall_s for r in results)
            rss = results[-1].max_rss_kb
            shown = (
                f"{'<= ' if not results[-1].rss_exact else ''}{rss} KiB"
                if rss
                else (f"unknown (< {results[-1].rss_floor_kb} KiB)")
            )
            print(f"{name:<14}{cost * 1000:>11.3f} ms{walls * 1000:>11.3f} ms{shown:>22}")


def main() -> None:
    if shutil.which("hyperfine") is None:
        print("hyperfine not found: `apt-get install hyperfine` (Debian) to run this benchmark")
        raise SystemExit(1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        subprocess.run(hyperfine_argv(N, out / "h.json"), check=True, stdout=subprocess.DEVNULL)
        hf_median = json.loads((out / "h.json").read_text())["results"][0]["median"]
        repo = out / "repo"
        repo.mkdir()
        subprocess.run(ftbench_argv(N, repo), check=True, stdout=subprocess.DEVNULL)
        report = json.loads((repo / ".firsttry" / "bench_proof.json").read_text())
        ft_median = report["runs"]["warm"]["elapsed_s"]
        probe = report["measurement"]["probe"]

        hf_costs, ft_costs = interleaved_costs(repo)
        hf_cost, ft_cost = statistics.median(hf_costs), statistics.median(ft_costs)
        ratios = sorted(f / h for f, h in zip(ft_costs, hf_costs, strict=True) if h > 0)

    print(f"timing {TARGET}, {N} samples; ftbench probe: {probe}")
    print(f"{'':<28}{'hyperfine -N':>14}{'ftbench':>12}{'target':>26}")
    diff_ms = (ft_median - hf_median) * 1000
    print(
        f"{'warm median':<28}{hf_median * 1000:>11.3f} ms{ft_median * 1000:>9.3f} ms"
        f"{'|diff| <= 0.5 ms':>26}"
    )
    print(
        f"{'per-sample cost':<28}{hf_cost * 1000:>11.3f} ms{ft_cost * 1000:>9.3f} ms"
        f"{'ftbench <= 1.5x hyperfine':>26}"
    )
    ratio = ft_cost / hf_cost if hf_cost > 0 else float("inf")
    print(
        f"median difference: {diff_ms:+.3f} ms ({'ok' if abs(diff_ms) <= 0.5 else 'MISSED'});"
        f" cost ratio: {ratio:.2f}x ({'ok' if ratio <= 1.5 else 'MISSED'}; rounds "
        f"{ratios[0]:.2f}x-{ratios[-1]:.2f}x, {REPEAT} rounds)"
    )
    print()
    backend_costs()


if __name__ == "__main__":
    main()
