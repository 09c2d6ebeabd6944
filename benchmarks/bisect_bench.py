"""``ft-bench bisect`` under a generated background load (benchmarks/load.py): is the named
commit the right one, how many A/B runs does it take, what does it cost in normal runs?

    .venv/bin/python benchmarks/bisect_bench.py [--trials20 N] [--trials50 N] [--minutes M]
        [--max-busy N] [--seed S] [--code SRC] [--work DIR]

Printed figures, not a test. The workload is benchmarks/workloads.py's ``cpu`` kind (a CPU
loop of about 50 ms, calibrated first without the generated load). Each trial builds a git
repository of GOOD and ``n`` more commits, one of them (at a seeded random place) making the
loop longer, and runs one real ``ft-bench bisect GOOD BAD --skip-cold --json`` (default
options otherwise: ``--metric any``, normal mode, the default budget) of the code in ``SRC``
under the load:

* ``+20% among 15``: the culprit must be named right in at least 95% of trials and a wrong
  commit never named (a range holding the culprit is not wrong: it is less precise);
* ``+50% among 31``: at most ``ceil(log2(31)) + 2 = 7`` A/B runs (BAD against GOOD, the steps,
  the culprit against its parent).

The cost is given in normal runs two ways: the samples measured over a normal run's samples
(``samples / (warm-up + warm runs)``), and the bisection's wall time over the median wall
time of plain ``ft-bench run --skip-cold`` runs of the same workload, measured under the same
load between the trials. Trials stop being started once ``--minutes`` have passed (the load's
bound too). Rates come with Wilson 95% intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # benchmarks/ is not a package
from load import Load

CONFIG = """[tiers.bench]
[[tiers.bench.steps]]
name = "work"
cmd = ["{python}", "-S", "work.py"]
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
SCENARIOS = {"+20% among 15": (20, 15), "+50% among 31": (50, 31)}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n, in percent."""
    if n == 0:
        return 0.0, 100.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    out = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def make_repo(path: Path, python: str, base: str, slow: str, count: int, at: int) -> list[str]:
    """GOOD, then ``count`` commits; commit ``at`` changes the workload to ``slow``."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".firsttry/\n")
    (path / "ftbench.toml").write_text(CONFIG.format(python=python))
    (path / "work.py").write_text(workloads.WORKLOAD)
    (path / "params.txt").write_text(base)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "good")
    shas = [git(path, "rev-parse", "HEAD")]
    for i in range(1, count + 1):
        if i == at:
            (path / "params.txt").write_text(slow)
        else:
            (path / f"note-{i}.txt").write_text(f"{i}\n")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"commit {i}")
        shas.append(git(path, "rev-parse", "HEAD"))
    return shas


def ftbench(code: Path, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "CI_", "FTBENCH_", "S3_"))
    }
    env["PYTHONPATH"] = str(code / "src")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftbench", *args, "--repo", str(repo)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=3600)
    except BaseException:  # SIGTERM, Ctrl-C, a timeout: ftbench ends cleanly (its worktrees)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def normal_run(code: Path, repo: Path) -> float:
    """The wall time of one plain ``ft-bench run --skip-cold`` (no judge, no archive)."""
    started = time.monotonic()
    proc = ftbench(
        code,
        repo,
        "run",
        "--tier",
        "bench",
        "--skip-cold",
        "--baseline",
        "none",
        "--quiet",
        "--progress",
        "never",
        "--archive-dir",
        str(repo / ".firsttry" / "scratch-archive"),
    )
    if proc.returncode:
        raise SystemExit(f"normal run failed: {proc.stderr.strip()[-500:]}")
    return time.monotonic() - started


def trial(
    code: Path, work: Path, python: str, params: dict[str, str], name: str, rng: random.Random
) -> dict[str, Any]:
    pct, count = SCENARIOS[name]
    at = rng.randint(1, count)
    repo = work / f"trial-{len(list(work.glob('trial-*'))):03d}"
    shas = make_repo(repo, python, params["main"], params[f"plus{pct}"], count, at)
    started = time.monotonic()
    proc = ftbench(
        code,
        repo,
        "bisect",
        shas[0],
        shas[-1],
        "--tier",
        "bench",
        "--skip-cold",
        "--json",
        "--quiet",
    )
    elapsed = time.monotonic() - started
    try:
        found = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"bisect failed (exit {proc.returncode}): {proc.stderr[-800:]}") from None
    (repo / "bisect.json").write_text(json.dumps(found, indent=1))
    culprit, span = found["culprit"], found["range"]
    if culprit == shas[at]:
        outcome = "right"
    elif culprit is not None:
        outcome = "wrong"
    elif span is not None and shas.index(span[0]) <= at <= shas.index(span[1]):
        outcome = "range"
    else:
        outcome = found["status"]
    return {
        "scenario": name,
        "at": at,
        "outcome": outcome,
        "status": found["status"],
        "summary": found["summary"],
        "ab_runs": sum(1 for s in found["steps"] if s["pairs"] > 0),
        "samples": found["samples"],
        "normal_runs": found["normal_runs"],
        "wall_s": elapsed,
        "metric": found["metric"],
        "decisions": [f"{shas.index(s['commit'])}:{s['decision']}" for s in found["steps"]],
    }


def table(results: list[dict[str, Any]], normal_s: list[float]) -> list[str]:
    header = (
        "| scenario | trials | culprit named right | range holding it | wrong commit named | "
        "other | A/B runs mean (max) | cost in normal runs: samples | : time | minutes each |"
    )
    out = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    normal = statistics.median(normal_s) if normal_s else float("nan")
    for name in SCENARIOS:
        rows = [r for r in results if r["scenario"] == name]
        if not rows:
            continue
        n = len(rows)
        right = sum(r["outcome"] == "right" for r in rows)
        low, high = wilson(right, n)
        count = {k: sum(r["outcome"] == k for r in rows) for k in ("range", "wrong")}
        other = n - right - count["range"] - count["wrong"]
        runs = [r["ab_runs"] for r in rows]
        out.append(
            f"| {name} | {n} | {right}/{n} = {100 * right / n:.0f}% (95% CI {low:.0f}-{high:.0f}%) "
            f"| {count['range']} | {count['wrong']} | {other} "
            f"| {statistics.mean(runs):.1f} ({max(runs)}) "
            f"| {statistics.mean(r['normal_runs'] for r in rows):.1f} "
            f"| {statistics.mean(r['wall_s'] for r in rows) / normal:.1f} "
            f"| {statistics.mean(r['wall_s'] for r in rows) / 60:.1f} |"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--trials20", type=int, default=20, help="trials of +20%% among 15")
    parser.add_argument("--trials50", type=int, default=10, help="trials of +50%% among 31")
    parser.add_argument("--minutes", type=float, default=40.0, help="start no trial after this")
    parser.add_argument("--max-busy", type=int, default=3, help="the load's busy processes")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--work", type=Path, default=None, help="keep the trials here")
    args = parser.parse_args()
    python = sys.executable
    work = args.work or Path(tempfile.mkdtemp(prefix="ftbench-bisect-bench-"))
    cal = workloads.calibrate("cpu", python, work / "calibrate", pairs=15)
    loops = int(cal["params"]["main"].split()[1])
    extra = round(0.5 * cal["base_cpu_s"] / cal["cpu_per_loop_s"])
    params = {**cal["params"], "plus50": workloads.params_text("cpu", loops + extra, 0)}
    print(workloads.describe(cal), flush=True)
    rng = random.Random(args.seed)
    plan = ["+20% among 15"] * args.trials20 + ["+50% among 31"] * args.trials50
    rng.shuffle(plan)
    deadline = time.monotonic() + 60 * args.minutes
    results: list[dict[str, Any]] = []
    normal_s: list[float] = []
    probe = work / "normal"
    make_repo(probe, python, params["main"], params["main"], 1, 0)
    load = Load(max_busy=args.max_busy, seed=args.seed, seconds=60 * args.minutes + 900)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: load and ftbench stopped
    with load:
        for i, name in enumerate(plan):
            if time.monotonic() > deadline:
                print(f"--minutes reached: {len(plan) - i} trials not started", flush=True)
                break
            if i % 4 == 0:
                normal_s += [normal_run(args.code, probe) for _ in range(2)]
            result = trial(args.code, work, python, params, name, rng)
            results.append(result)
            print(
                f"{i + 1:3d} {name}: {result['outcome']:<6} {result['ab_runs']} A/B runs, "
                f"{result['wall_s']:.0f} s, {result['metric']}: {result['summary'][:90]}",
                flush=True,
            )
    print()
    print(f"load: {load.describe()}")
    print(
        f"normal run (ft-bench run --skip-cold, 10 warm samples): median "
        f"{statistics.median(normal_s):.1f} s over {len(normal_s)} runs under the load"
    )
    print("\n".join(table(results, normal_s)))
    (work / "results.json").write_text(json.dumps(results, indent=1))
    print(f"trials kept in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
