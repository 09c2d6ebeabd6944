"""ftbench against hyperfine on a real project: ruff, mypy and pytest, cold and warm.

The project is a git repository with its own ``.venv`` holding ruff, mypy and pytest (for
example an sdist from PyPI unpacked into a temporary git repository, see docs/projects.md).
For each tool and round, ftbench runs a one-step tier (``--mode normal``: 5 cold, 10 warm
after 1 warm-up), then hyperfine measures the same command: cold with ``--prepare`` clearing
the same cache (and a fresh ``PYTHONPYCACHEPREFIX`` for mypy and pytest, as ftbench's
``pycache = true``), warm after one warm-up. Prints the medians side by side::

    python benchmarks/hyperfine_project.py /tmp/proj --rounds 2 --out /tmp/results
    python benchmarks/hyperfine_project.py --from /tmp/results     # only print the table

ftbench is the one on PATH (``ft-bench``) or ``--ft-bench``. Writes ``ftbench.toml`` into the
project (one tier per tool). Needs ``hyperfine`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TOOLS = {
    # name: (argv inside the project, cache, cold bytecode)
    "ruff": ([".venv/bin/ruff", "check", "."], ".ruff_cache", False),
    "mypy": ([".venv/bin/mypy", "."], ".mypy_cache", True),
    "pytest": ([".venv/bin/python", "-m", "pytest", "-q"], ".pytest_cache", True),
}
CONFIG = """# written by benchmarks/hyperfine_project.py: one tier per tool
[[tiers.ruff.steps]]
name = "ruff"
cmd = ["ruff", "check", "."]
cache = [".ruff_cache"]

[[tiers.mypy.steps]]
name = "mypy"
cmd = ["mypy", "."]
cache = [".mypy_cache"]
pycache = true

[[tiers.pytest.steps]]
name = "pytest"
cmd = ["{python}", "-m", "pytest", "-q"]
cache = [".pytest_cache"]
pycache = true
"""


def _env() -> dict[str, str]:
    """The user's environment as a new shell would have it: bytecode written, no venv."""
    dropped = ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def measure(project: Path, out: Path, rounds: int, ft_bench: str, tools: list[str]) -> None:
    (project / "ftbench.toml").write_text(CONFIG)
    out.mkdir(parents=True, exist_ok=True)
    env = _env()
    for tool in tools:
        argv, cache, pycache = TOOLS[tool]
        for r in range(1, rounds + 1):
            subprocess.run(
                [
                    *(ft_bench, "run", "--tier", tool, "--mode", "normal", "--baseline", "none"),
                    *("--progress", "never", "--quiet", "--repo", str(project)),
                ],
                env=env,
                cwd=project,
                check=False,
                capture_output=True,
            )
            shutil.copy(
                project / ".firsttry" / "bench_proof.json", out / f"ftbench-{tool}-{r}.json"
            )
            command = " ".join(argv)
            cold_clear = f"rm -rf {cache}"
            if pycache:
                cold_clear += f" {out}/pfx-cold"
                shutil.rmtree(out / "pfx-warm", ignore_errors=True)
            for phase, extra in (
                ("cold", ["-r", "5", "--prepare", cold_clear]),
                ("warm", ["-w", "1", "-r", "10"]),
            ):
                run = command
                if pycache:
                    run = f"env PYTHONPYCACHEPREFIX={out}/pfx-{phase} {command}"
                subprocess.run(
                    [
                        *("hyperfine", "-N", "-i", *extra),
                        *("--export-json", str(out / f"hf-{tool}-{phase}-{r}.json"), run),
                    ],
                    env=env,
                    cwd=project,
                    check=False,
                    capture_output=True,
                )


def table(out: Path) -> list[list[str]]:
    rows = [["tool", "phase", "round", "ftbench median (n)", "hyperfine median (n)", "diff"]]
    for tool in TOOLS:
        r = 1
        while (out / f"ftbench-{tool}-{r}.json").is_file():
            report = json.loads((out / f"ftbench-{tool}-{r}.json").read_text())
            for phase in ("cold", "warm"):
                samples = report["runs"][phase]["samples"]
                ft = statistics.median(s["wall_s"] for s in samples)
                hf_file = out / f"hf-{tool}-{phase}-{r}.json"
                try:
                    times = json.loads(hf_file.read_text())["results"][0]["times"]
                except (OSError, ValueError, KeyError, IndexError):
                    continue  # not measured (yet)
                hf = statistics.median(times)
                rows.append(
                    [
                        tool,
                        phase,
                        str(r),
                        f"{ft * 1000:.1f} ms ({len(samples)})",
                        f"{hf * 1000:.1f} ms ({len(times)})",
                        f"{(ft - hf) / hf * 100:+.1f}%",
                    ]
                )
            r += 1
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools")
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "ftbench-hyperfine"
    )
    parser.add_argument("--from", dest="source", type=Path, help="only print the table of DIR")
    parser.add_argument("--ft-bench", default=shutil.which("ft-bench") or "ft-bench")
    args = parser.parse_args(argv)
    out = args.source or args.out
    if args.source is None:
        if args.project is None or shutil.which("hyperfine") is None:
            parser.error("give the project directory, and install hyperfine")
        tools = [t for t in args.tools.split(",") if t in TOOLS]
        measure(args.project.resolve(), out.resolve(), args.rounds, args.ft_bench, tools)
    rows = table(out)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
