"""Verdicts on a noisy machine: false alarms on unchanged code and detection of +10/+20% of
three kinds of slowdown (CPU work, waiting, lost parallelism), with real `ft-bench run`
invocations under a generated background load (benchmarks/load.py).

    .venv/bin/python benchmarks/noisy_verdicts.py --work W setup --workload cpu|wait|parallel
    .venv/bin/python benchmarks/noisy_verdicts.py --work W record LABEL --code SRC --aa N --each N
    .venv/bin/python benchmarks/noisy_verdicts.py --work W against --code SRC --aa N --each N
    .venv/bin/python benchmarks/noisy_verdicts.py --work W tables --judge NAME=SRC ...
    .venv/bin/python benchmarks/noisy_verdicts.py --quick               # all of it, small

Printed figures, not a test. The workload (benchmarks/workloads.py) is a temporary git
repository holding ``work.py``, whose numbers are read from ``params.txt``, and an
``ftbench.toml`` with the tier ``bench``. Branches: ``main`` (the baseline code), ``aa``
(another commit, identical workload) and ``plus10``, ``plus20`` (10% and 20% more of what the
workload's kind changes: CPU time, waiting, or the longer of two parallel workers; ``setup``
calibrates them without the generated load and prints the increases).

``record``: a seeded random sequence of real ``ft-bench run`` invocations (default options,
``--baseline-branch main`` as a pull request job has it, a throwaway archive) of the code in
``SRC`` (a source tree: ``PYTHONPATH=SRC/src``), under load; each report is kept. ``main``
runs keep the baseline history going (the first ``--lead`` before any trial, the rest among
the trials, not trials themselves); the trials run on ``aa`` (unchanged code in another
commit, as a pull request has it) and the ``plus*`` branches, with the archive judge's
confirmation by A/B (``--confirm auto``) live; after every 8th trial a plain run on ``aa``
(``--confirm never``) gives the confirmation's cost. ``tables`` shows the live verdicts (the
archive judge confirmed by A/B), and replays each judge offline over the recorded sequence
(no confirmation: an offline replay cannot measure): trial i is judged with the judge's own
default baseline selection (``--baseline auto``, through ``ftbench.judge.baseline.evaluate``
of that code version) over the reports recorded before it (the newest earlier ``main``
reports). A judge may be replayed with ``JudgeOptions`` keywords (``NAME=SRC,metric=cpu``).
The original harness's rule (first warm sample against the previous ``main`` report's first
warm sample, alarm above 25%) is applied to the same reports. Also printed: the range of the
warm wall and CPU medians of the ``main`` runs and their spread within and between runs (the
drift of benchmarks/verdicts.py), and how often and at what cost the live runs confirmed.

``against``: each trial is one real ``ft-bench run --against main`` (A/A: on ``aa``; A/B: on
``plus*``), under load, with its wall time; one normal ``ft-bench run`` after every 8th trial
gives the time ratio. The plans are shuffled (seeded) and cut by ``--minutes`` (the load's
bound too), so a short budget still samples every scenario. Rates come with Wilson 95%
intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
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
from workloads import VARIANTS

REPO_ID = "noisy"
CONFIG = """[tiers.bench]
description = "verdict benchmark workload (benchmarks/workloads.py)"

[[tiers.bench.steps]]
name = "work"
cmd = ["{python}", "-S", "work.py"]
"""
ORIGINAL_PCT = 25.0
BASELINE_REPORTS = 5
DROP_ENV = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "FTBENCH_ARCHIVE_DIR")

# Runs inside a subprocess with PYTHONPATH=<code>/src: the judge of that code version over the
# recorded reports, its default baseline selection over the reports recorded before each one.
REPLAY = r"""
import json, sys
from pathlib import Path
from ftbench.judge import baseline as jb
from ftbench.judge.options import JudgeOptions
from ftbench.report.model import KeyedReport, Report

class Recorded:
    def __init__(self, reports):
        self.reports = reports
    def describe(self):
        return "recorded reports"
    def newest(self, repo_id, notes):
        return iter(reversed(self.reports))
    def find(self, spec, repo_id):
        return None

files, extra = json.load(sys.stdin)
drop = extra.pop("drop", "").split("+") if "drop" in extra else []
loaded = []
for f in files:
    value = json.loads(Path(f).read_text())
    value["regression"] = None
    for name in drop:
        value.pop(name, None)
    loaded.append(KeyedReport(f, Report.from_dict(value, f)))
opts = JudgeOptions(baseline_branch="main", **extra)
out = []
for i, kr in enumerate(loaded):
    v = jb.evaluate(kr.report, Recorded(loaded[:i]), opts, repo_root=Path("."), environ={})
    out.append({"verdict": v.verdict, "exit": v.exit_code, "reports": v.baseline.reports,
                "summary": v.summary})
json.dump(out, sys.stdout)
"""


# --- statistics -------------------------------------------------------------------------------


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n, in percent."""
    if n == 0:
        return (0.0, 100.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half) * 100, min(1.0, centre + half) * 100)


def rate_cells(k: int, n: int) -> str:
    if n == 0:
        return "0 | - | -"
    lo, hi = wilson(k, n)
    return f"{n} | {k} ({100 * k / n:.1f}%) | {lo:.1f}-{hi:.1f}%"


# --- workload repository ------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(repo: Path, params: dict[str, str]) -> None:
    """The workload repository: branches main, aa and one per variant (``plus10``, ...)."""
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "work.py").write_text(workloads.WORKLOAD)
    (repo / "ftbench.toml").write_text(CONFIG)
    (repo / ".gitignore").write_text(".firsttry/\n")
    (repo / "params.txt").write_text(params["main"])
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "workload")
    git(repo, "checkout", "-q", "-b", "aa")
    (repo / "README").write_text("same workload, another commit\n")
    git(repo, "add", "README")
    git(repo, "commit", "-q", "-m", "A/A: identical workload")
    for name in VARIANTS:
        if name == "main":
            continue
        git(repo, "checkout", "-q", "-b", name, "main")
        (repo / "params.txt").write_text(params[name])
        git(repo, "commit", "-q", "-am", f"{name}: slower")
    git(repo, "checkout", "-q", "main")


# --- running ft-bench -------------------------------------------------------------------------


def child_env(code: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV and not k.startswith("S3_")}
    env["PYTHONPATH"] = str(code / "src")
    # {python} in the workload's command: this venv's interpreter for every ftbench version
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    return env


def ftbench(
    python: str, code: Path, repo: Path, work: Path, label: str, *extra: str
) -> tuple[float, int, str]:
    """One real ``ft-bench run`` of the tier ``bench``: (wall s, exit code, stderr tail)."""
    argv = [python, "-m", "ftbench", "run", "--tier", "bench", "--repo", str(repo)]
    argv += ["--out-dir", str(work / f"out-{label}"), "--archive-dir", str(work / f"arch-{label}")]
    argv += ["--repo-id", REPO_ID, "--progress", "never", "--quiet", *extra]
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=repo, env=child_env(code), capture_output=True, text=True, check=False
    )
    return time.perf_counter() - start, proc.returncode, proc.stderr.strip()[-300:]


def sequence(rng: random.Random, counts: dict[str, int], lead: int) -> list[str]:
    seq = [v for v, n in counts.items() for _ in range(n)]
    rng.shuffle(seq)
    return ["main"] * lead + seq


#: the trials of a recording: unchanged code in another commit, then the slower variants
TRIALS = ("aa", *(v for v in VARIANTS if v != "main"))


def run_plan(args: argparse.Namespace, work: Path, kind: str, plan: list[str]) -> None:
    """Run ``plan`` (branch names; ``normal``: a plain run on main; ``plain``: a run on ``aa``
    without confirmation) under load, one row per invocation in ``<kind>-<label>/runs.jsonl``;
    resumes after the rows already there."""
    setup = json.loads((work / "setup.json").read_text())
    repo, code, label = work / "repo", Path(args.code).resolve(), args.label
    rec = work / f"{kind}-{label}"
    rec.mkdir(exist_ok=True)
    manifest = rec / "runs.jsonl"
    done = len(manifest.read_text().splitlines()) if manifest.exists() else 0
    (rec / "meta.json").write_text(json.dumps({"lead": args.lead, "code": str(code)}))
    load = Load(max_busy=args.max_busy, seed=args.seed, seconds=args.minutes * 60, churn=args.churn)
    print(f"{kind}: {len(plan) - done} runs of {code} under load: {load.describe()}", flush=True)
    started = time.time()
    with load, manifest.open("a") as out:
        for i, variant in enumerate(plan[done:], start=done):
            if time.time() - started > args.minutes * 60 - 45:  # the load stops at the budget
                print(f"time budget reached after {i - done} runs", flush=True)
                break
            branch = {"normal": "main", "plain": "aa"}.get(variant, variant)
            git(repo, "checkout", "-q", branch)
            if kind == "record":
                extra = ["--baseline-branch", "main"]
                if variant == "plain":
                    extra += ["--confirm", "never"]
            else:
                extra = ["--baseline", "none"] if variant == "normal" else ["--against", "main"]
            wall, rc, err = ftbench(setup["python"], code, repo, work, label, *extra)
            report = work / f"out-{label}" / "bench_proof.json"
            kept = rec / f"{i:04d}-{variant}.json"
            if report.exists():
                shutil.copyfile(report, kept)
                report.unlink()
            verdict = ""
            if kept.exists():
                verdict = (json.loads(kept.read_text()).get("regression") or {}).get("verdict", "")
            row = {"i": i, "variant": variant, "file": kept.name, "wall_s": wall, "exit": rc}
            row |= {"verdict": verdict, "error": err if rc not in (0, 4) else ""}
            out.write(json.dumps(row) + "\n")
            out.flush()
            if (i + 1) % 20 == 0:
                print(f"  {i + 1} runs, {time.time() - started:.0f} s", flush=True)
    git(repo, "checkout", "-q", "main")


def record(args: argparse.Namespace, work: Path) -> None:
    """``main`` runs keep the baseline history fresh (not trials); the trials run on ``aa``
    (unchanged code in another commit, as a pull request) and the slower branches; a plain
    run on ``aa`` (``--confirm never``) after every 8th trial gives the cost's denominator."""
    counts = {"main": args.main, "aa": args.aa, **{v: args.each for v in TRIALS if v != "aa"}}
    plan = sequence(random.Random(args.seed), counts, args.lead)
    trial = 0
    with_plain = []
    for variant in plan:
        with_plain.append(variant)
        if variant in TRIALS:
            trial += 1
            if trial % 8 == 0:
                with_plain.append("plain")
    run_plan(args, work, "record", with_plain)


def against(args: argparse.Namespace, work: Path) -> None:
    counts = {"aa": args.aa, **{v: args.each for v in VARIANTS if v != "main"}}
    plan = sequence(random.Random(args.seed), counts, 0)
    # a normal run (no --against) after every 8th trial: the time ratio's denominator
    run_plan(
        args,
        work,
        "against",
        [q for i, p in enumerate(plan) for q in [p, "normal"][: 1 + (i % 8 == 0)]],
    )


# --- tables -----------------------------------------------------------------------------------


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def replay(
    python: str, code: Path, files: list[Path], options: dict[str, str]
) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [python, "-c", REPLAY],
        input=json.dumps([[str(f) for f in files], options]),
        env=child_env(code),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"replay with {code} failed:\n{proc.stderr[-2000:]}")
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def first_warm(report: dict[str, Any]) -> float | None:
    warm = report.get("runs", {}).get("warm") or {}
    ok = [s["wall_s"] for s in warm.get("samples", []) if s.get("ok") and s["wall_s"] > 0]
    return ok[0] if ok else None


def medians(report: dict[str, Any]) -> tuple[float, float] | None:
    """Warm (wall, CPU) medians of a report."""
    warm = report.get("runs", {}).get("warm") or {}
    ok = [s for s in warm.get("samples", []) if s.get("ok")]
    if not ok:
        return None
    wall = statistics.median(s["wall_s"] for s in ok)
    return wall, statistics.median(s["user_s"] + s["sys_s"] for s in ok)


def spreads(reports: list[dict[str, Any]], metric: str) -> tuple[float, float]:
    """(median within-run, between-run) standard deviation of the logs of the warm samples of
    ``metric`` (``wall`` or ``cpu``): the noise and drift CVs of benchmarks/verdicts.py."""
    within, mids = [], []
    for report in reports:
        ok = [s for s in (report.get("runs", {}).get("warm") or {}).get("samples", []) if s["ok"]]
        logs = [math.log(s["wall_s"] if metric == "wall" else s["user_s"] + s["sys_s"]) for s in ok]
        if len(logs) > 1:
            within.append(statistics.stdev(logs))
            mids.append(statistics.median(logs))
    return statistics.median(within), statistics.stdev(mids)


def trial_indices(rows: list[dict[str, Any]], lead: int) -> list[int]:
    """Trials with at least ``lead`` earlier ``main`` reports."""
    out, mains = [], 0
    for i, row in enumerate(rows):
        if mains >= lead and row["variant"] in TRIALS:
            out.append(i)
        mains += row["variant"] == "main"
    return out


Flags = dict[str, list[bool]]
Judge = tuple[str, Path, dict[str, str]]  # name, source tree, JudgeOptions keywords
Kinds = dict[str, dict[str, int]]


def tally(idx: list[int], rows: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> Any:
    flags: Flags = {v: [] for v in TRIALS}
    kinds: Kinds = {v: {} for v in TRIALS}
    for i in idx:
        v, verdict = rows[i]["variant"], verdicts[i]["verdict"]
        flags[v].append(verdicts[i]["exit"] == 4)
        kinds[v][verdict] = kinds[v].get(verdict, 0) + 1
    return flags, kinds


def original_rule(idx: list[int], rows: list[dict[str, Any]], reports: list[Any]) -> Flags:
    """First warm sample against the previous ``main`` report's first, alarm above 25%."""
    flags: Flags = {v: [] for v in TRIALS}
    for i in idx:
        prev = next(j for j in range(i - 1, -1, -1) if rows[j]["variant"] == "main")
        a, b = first_warm(reports[i]), first_warm(reports[prev])
        if a is not None and b is not None:
            flags[rows[i]["variant"]].append(a / b > 1 + ORIGINAL_PCT / 100)
    return flags


def archive_tables(
    work: Path, label: str, judges: list[Judge], python: str, lead: int | None
) -> None:
    rec = work / f"record-{label}"
    lead = max(lead or 0, json.loads((rec / "meta.json").read_text())["lead"])
    every = rows_of(rec / "runs.jsonl")
    rows = [r for r in every if r["exit"] in (0, 4)]
    files = [rec / r["file"] for r in rows]
    reports = [json.loads(f.read_text()) for f in files]
    idx = trial_indices(rows, lead)
    inc = json.loads((work / "setup.json").read_text())["increase_pct"]
    table: list[tuple[str, Flags, Kinds | None]] = [
        (
            "original rule (1 warm sample vs the previous report's 1, >25%)",
            original_rule(idx, rows, reports),
            None,
        )
    ]
    for name, code, options in judges:
        verdicts = replay(python, code, files, options)
        table.append((f"archive judge {name}, replayed", *tally(idx, rows, verdicts)))
    table.append(
        (
            f"live `ft-bench run` ({label}): archive judge, confirmed by A/B",
            *tally(idx, rows, rows),
        )
    )
    med = {
        v: [
            m
            for r, row in zip(reports, rows, strict=True)
            if row["variant"] == v and (m := medians(r))
        ]
        for v in VARIANTS
    }
    walls = sorted(m[0] for m in med["main"])
    cpus = sorted(m[1] for m in med["main"])
    secs = [r["wall_s"] for r in rows]
    mid = {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}
    seen = ", ".join(
        f"{v} wall {(statistics.median(m[0] for m in med[v]) / mid['wall'] - 1) * 100:+.1f}% "
        f"cpu {(statistics.median(m[1] for m in med[v]) / mid['cpu'] - 1) * 100:+.1f}%"
        for v in VARIANTS
        if v != "main" and med[v]
    )
    setup = json.loads((work / "setup.json").read_text())
    kind = setup.get("kind", "cpu")
    print(f"\n### Archive judge, recording `{label}`\n")
    print(
        f"{len(rows)} real `ft-bench run` reports under load ({len(every) - len(rows)} failed "
        f"runs left out), {sum(r['variant'] == 'main' for r in rows)} on `main`, the first "
        f"{lead} not trials. Judges replayed offline over the recorded sequence, each with its "
        "own default baseline selection (`--baseline auto`, `--baseline-branch main`) over the "
        f"reports recorded before the trial. Workload `{kind}`; increase without the generated "
        "load (calibration): "
        + ", ".join(
            f"{v} wall {inc[v]['wall']:+.1f}% cpu {inc[v]['cpu']:+.1f}%"
            for v in VARIANTS
            if v != "main"
        )
        + f"; in the recorded reports' warm medians: {seen}. "
        f"One `ft-bench run` took {statistics.median(secs):.1f} s median "
        f"({min(secs):.1f}-{max(secs):.1f} s).\n"
    )
    print(
        f"Warm medians of the `main` reports: wall {walls[0] * 1e3:.0f}-{walls[-1] * 1e3:.0f} ms "
        f"(5-95%: {pctl(walls, 5) * 1e3:.0f}-{pctl(walls, 95) * 1e3:.0f} ms), CPU "
        f"{cpus[0] * 1e3:.0f}-{cpus[-1] * 1e3:.0f} ms (5-95%: {pctl(cpus, 5) * 1e3:.0f}-"
        f"{pctl(cpus, 95) * 1e3:.0f} ms).\n"
    )
    mains = [r for r, row in zip(reports, rows, strict=True) if row["variant"] == "main"]
    (ww, wb), (cw, cb) = spreads(mains, "wall"), spreads(mains, "cpu")
    print(
        f"Standard deviation of the logs (about the CV), `main` reports: within a run (median) "
        f"wall {ww:.3f}, CPU {cw:.3f}; between the runs' medians wall {wb:.3f}, CPU {cb:.3f}.\n"
    )
    print(confirmation_costs(rows, reports) + "\n")
    print("| method | change | trials | alarms (exit 4) | Wilson 95% | verdicts |")
    print("|---|---|---:|---:|---:|---|")
    for name, fl, kinds in table:
        for v in TRIALS:
            what = (
                "unchanged, another commit (false alarms)"
                if v == "aa"
                else f"+{VARIANTS[v]}% {workloads.CHANGES[kind]} (caught)"
            )
            counts = ", ".join(
                f"{a or '-'} {b}" for a, b in sorted((kinds or {}).get(v, {}).items())
            )
            print(f"| {name} | {what} | {rate_cells(sum(fl[v]), len(fl[v]))} | {counts} |")


def confirmation_costs(rows: list[dict[str, Any]], reports: list[Any]) -> str:
    """How often the live runs confirmed by A/B, and what that cost on unchanged code: the
    mean wall time of the ``aa`` trials against the plain runs on ``aa`` (no confirmation)."""
    plain = [r["wall_s"] for r in rows if r["variant"] == "plain"]
    parts = []
    for v in TRIALS:
        ran = [
            (r, rep)
            for r, rep in zip(rows, reports, strict=True)
            if r["variant"] == v and (rep.get("regression") or {}).get("confirmation")
        ]
        total = sum(r["variant"] == v for r in rows)
        parts.append(f"{v} {len(ran)} of {total}")
    aa = [r["wall_s"] for r in rows if r["variant"] == "aa"]
    cost = ""
    if plain and aa:
        base = statistics.fmean(plain)
        cost = (
            f"; mean wall of an unchanged trial {statistics.fmean(aa):.2f} s against "
            f"{base:.2f} s for a plain run ({len(plain)} runs): extra cost "
            f"{(statistics.fmean(aa) / base - 1) * 100:+.0f}% of a run"
        )
    return "Confirmations by A/B: " + ", ".join(parts) + cost + "."


def pctl(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def secs_x(values: list[float], base: float) -> str:
    if not values:
        return "-"
    mid = statistics.median(values)
    return f"{mid:.1f} s ({mid / base:.2f}x)"


def against_table(work: Path, label: str) -> None:
    rows = rows_of(work / f"against-{label}" / "runs.jsonl")
    normal = [r["wall_s"] for r in rows if r["variant"] == "normal" and r["exit"] in (0, 4)]
    base = statistics.median(normal) if normal else float("nan")
    failed = [r for r in rows if r["exit"] not in (0, 4)]
    print(f"\n### `ft-bench run --against main`, code `{label}`\n")
    print(
        "Each trial is one real invocation under load (A/A: branch `aa`, identical workload in "
        "another commit; A/B: the `plus*` branch against `main`). A normal `ft-bench run` "
        f"(no --against) after every 8th trial: median {base:.1f} s over {len(normal)} runs. "
        f"Failed invocations (exit not 0/4): {len(failed)}.\n"
    )
    print(
        "| scenario | trials | alarms (exit 4) | Wilson 95% | verdicts "
        "| wall, median (x normal run) | wall when the answer is clear |"
    )
    print("|---|---:|---:|---:|---|---:|---:|")
    for v in ("aa", *(v for v in VARIANTS if v != "main")):
        rs = [r for r in rows if r["variant"] == v and r["exit"] in (0, 4)]
        kinds: dict[str, int] = {}
        for r in rs:
            kinds[r["verdict"]] = kinds.get(r["verdict"], 0) + 1
        want = "no change" if v == "aa" else "regression"
        clear = [r["wall_s"] for r in rs if r["verdict"] == want]
        what = "A/A unchanged (false alarms)" if v == "aa" else f"A/B +{VARIANTS[v]}% (caught)"
        counts = ", ".join(f"{a or '-'} {b}" for a, b in sorted(kinds.items()))
        k = sum(r["exit"] == 4 for r in rs)
        walls = [r["wall_s"] for r in rs]
        metrics: dict[str, int] = {}
        for r in rs:
            report = json.loads((work / f"against-{label}" / r["file"]).read_text())
            for name, ph in ((report.get("regression") or {}).get("phases") or {}).items():
                key = f"{name} {ph.get('metric')}"
                metrics[key] = metrics.get(key, 0) + 1
        counts += " (decided on: " + ", ".join(f"{a} {b}" for a, b in sorted(metrics.items())) + ")"
        times = f"{secs_x(walls, base)} | {secs_x(clear, base)}"
        print(f"| {what} | {rate_cells(k, len(rs))} | {counts} | {times} |")


# --- main -------------------------------------------------------------------------------------


def judge_spec(spec: str) -> Judge:
    """``NAME=SRC`` or ``NAME=SRC,option=value,...``: JudgeOptions keywords (``metric=cpu``),
    or ``drop=load`` (a what-if: the reports' ``load`` block left out before judging)."""
    name, rest = spec.split("=", 1)
    src, *options = rest.split(",")
    return name, Path(src).resolve(), dict(o.split("=", 1) for o in options)


def has_against(python: str, code: Path) -> bool:
    proc = subprocess.run(
        [python, "-m", "ftbench", "run", "--help"],
        env=child_env(code),
        capture_output=True,
        text=True,
        check=False,
    )
    return "--against" in proc.stdout


def quick(python: str) -> int:
    """Everything once, small, in a fresh directory, with the current tree's code."""
    work = Path(tempfile.mkdtemp(prefix="ftbench-noisy-quick-"))
    here = str(Path(__file__).resolve().parent.parent)
    common = ["--code", here, "--minutes", "6"]
    main(["--work", str(work), "setup", "--pairs", "7"])
    main(
        [
            "--work",
            str(work),
            "record",
            "quick",
            *common,
            "--main",
            "3",
            "--aa",
            "8",
            "--each",
            "1",
            "--lead",
            "5",
        ]
    )
    tables = ["--work", str(work), "tables", "--recording", "quick", "--judge", f"current={here}"]
    if has_against(python, Path(here)):
        main(["--work", str(work), "against", *common, "--aa", "2", "--each", "1"])
        tables += ["--against", "after"]
    main(tables)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "ftbench-noisy"))
    parser.add_argument("--quick", action="store_true", help="everything once, small")
    sub = parser.add_subparsers(dest="command")
    s = sub.add_parser("setup", help="workload repository and calibration (no load)")
    s.add_argument("--pairs", type=int, default=41, help="interleaved pairs per calibration")
    s.add_argument("--workload", choices=workloads.KINDS, default="cpu")
    for name in ("record", "against"):
        r = sub.add_parser(name)
        if name == "record":
            r.add_argument("label", help="name of this recording (before, after, ...)")
            r.add_argument("--main", type=int, default=100, help="baseline runs among trials")
            r.add_argument("--aa", type=int, default=205, help="trials on unchanged code")
            r.add_argument("--each", type=int, default=50, help="trials per +x%% variant")
            r.add_argument("--lead", type=int, default=10, help="main runs before the trials")
        else:
            r.add_argument("--label", default="after")
            r.add_argument("--aa", type=int, default=200, help="A/A trials")
            r.add_argument("--each", type=int, default=50, help="A/B trials per +x%% variant")
            r.set_defaults(lead=0)
        r.add_argument("--code", required=True, help="ftbench source tree to run")
        r.add_argument("--seed", type=int, default=8)
        r.add_argument("--max-busy", type=int, default=3)
        r.add_argument("--churn", action="store_true", help="memory/file churn in the load")
        r.add_argument("--minutes", type=float, default=30.0, help="time budget (load bound)")
    t = sub.add_parser("tables")
    t.add_argument("--recording", action="append", default=[], help="recording label")
    t.add_argument(
        "--judge", action="append", default=[], help="NAME=SRC[,option=value] judge to replay"
    )
    t.add_argument("--against", action="append", default=[], help="--against label")
    t.add_argument(
        "--lead", type=int, help="main reports before the first trial (at least the recording's)"
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C: the load's workers are stopped by the with block
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(args.work)
    python = sys.executable
    if args.quick:
        return quick(python)
    if args.command == "setup":
        work.mkdir(parents=True, exist_ok=True)
        cal = workloads.calibrate(args.workload, python, work / "calibrate", args.pairs)
        make_repo(work / "repo", cal["params"])
        (work / "setup.json").write_text(json.dumps(cal, indent=1))
        print(workloads.describe(cal))
    elif args.command == "record":
        record(args, work)
    elif args.command == "against":
        against(args, work)
    elif args.command == "tables":
        judges = [judge_spec(j) for j in args.judge]
        for label in args.recording:
            archive_tables(work, label, judges, python, args.lead)
        for label in args.against:
            against_table(work, label)
    else:
        parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
