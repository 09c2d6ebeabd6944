"""Build the schema-1 report from a :class:`BenchResult` and write the report files.

Files (under ``.firsttry/``): ``bench_proof.json``, ``bench_proof.md``, ``bench_report.env``.
Every write is atomic (temporary file, then rename), so a crash never leaves half a report.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftbench import __version__
from ftbench.measure import environment, fingerprint
from ftbench.measure.runner import BenchResult, PhaseResult, Sample
from ftbench.redact import scrub
from ftbench.report.summary import summarize

SCHEMA_VERSION = 1
JSON_NAME = "bench_proof.json"
MD_NAME = "bench_proof.md"
ENV_NAME = "bench_report.env"


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _sample_dict(sample: Sample) -> dict[str, Any]:
    return {
        "index": sample.index,
        "wall_s": _round(sample.wall_s),
        "user_s": _round(sample.user_s),
        "sys_s": _round(sample.sys_s),
        "max_rss_kb": sample.max_rss_kb,
        "rss_exact": sample.rss_exact,
        "exit_code": sample.exit_code,
        "timed_out": sample.timed_out,
        "ok": sample.ok,
        "steps": [{
            "name": s.name,
            "wall_s": _round(s.result.wall_s),
            "user_s": _round(s.result.user_s),
            "sys_s": _round(s.result.sys_s),
            "max_rss_kb": s.result.max_rss_kb,
            "rss_exact": s.result.rss_exact,
            "rss_floor_kb": s.result.rss_floor_kb or None,
            "exit_code": s.result.exit_code,
            "timed_out": s.result.timed_out,
            "log": s.log,
        } for s in sample.steps],
    }


def _phase_dict(phase: PhaseResult) -> dict[str, Any]:
    ok_samples = [s for s in phase.samples if s.ok]
    wall = summarize([s.wall_s for s in ok_samples])
    step_names = list(dict.fromkeys(st.name for s in phase.samples for st in s.steps))
    steps = {
        name: summarize([st.result.wall_s for s in ok_samples for st in s.steps
                         if st.name == name]).to_dict()
        for name in step_names
    }
    rss = [s.max_rss_kb for s in ok_samples if s.max_rss_kb is not None]
    first_bad = next((s for s in phase.samples if not s.ok), None)
    return {
        "elapsed_s": _round(wall.median),
        "ok": bool(phase.samples) and first_bad is None and len(phase.samples) == phase.planned,
        "exit_code": first_bad.exit_code if first_bad else 0,
        "planned": phase.planned,
        "failed_samples": sum(1 for s in phase.samples if not s.ok),
        "timed_out_samples": sum(1 for s in phase.samples if s.timed_out),
        "stats": wall.to_dict(),
        "user_s_median": _round(summarize([s.user_s for s in ok_samples]).median),
        "sys_s_median": _round(summarize([s.sys_s for s in ok_samples]).median),
        "max_rss_kb": max(rss) if rss else None,
        "rss_exact": all(s.rss_exact for s in ok_samples) if ok_samples else False,
        "steps": steps,
        "cache": {"bytes": phase.cache_usage.bytes, "files": phase.cache_usage.files}
        if phase.cache_usage else None,
        "samples": [_sample_dict(s) for s in phase.samples],
    }


def build_report(result: BenchResult, repo_root: Path, *, repo_id: str) -> dict[str, Any]:
    """The schema-1 report (see docs/report-schema.md and schema/bench_proof.schema.json)."""
    target = result.target
    settings = result.settings
    runs = {name: _phase_dict(phase) for name, phase in result.phases.items()}
    cold = runs.get("cold", {}).get("elapsed_s")
    warm = runs.get("warm", {}).get("elapsed_s")
    programs = {s.name: s.argv(target.tier, settings.mode)[0] for s in target.steps}
    if target.kind == "cmd" or any(s.shell for s in target.steps):
        programs = {name: prog for name, prog in programs.items() if "/sh" not in prog}
    error = result.error
    return {
        "schema": SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "timestamp": result.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": {"name": "ftbench", "version": __version__},
        "tier": target.tier,
        "mode": settings.mode,
        "repo_id": repo_id,
        "target": {
            "kind": target.kind,
            "source": target.source,
            "config_hash": target.config_hash(),
            "steps": [_scrub_step(step) for step in target.describe()],
        },
        "settings": {
            "cold_runs": settings.cold_runs, "warm_runs": settings.warm_runs,
            "warmup": settings.warmup, "skip_cold": settings.skip_cold,
            "skip_warm": settings.skip_warm, "timeout_s": settings.timeout_s,
            "max_procs": settings.max_procs, "allow_failure": settings.allow_failure,
        },
        "measurement": {"probe": result.probe_backend, "clock": "CLOCK_MONOTONIC",
                        "rss_unit": "KiB"},
        "runs": runs,
        "speedup": _round(cold / warm, 3) if cold and warm else None,
        "ok": error is None and all(r["ok"] for r in runs.values()),
        "error": scrub(str(error)) if error else None,
        "environment": environment.snapshot(repo_root, programs),
        "git": environment.git_info(repo_root),
        "repository": fingerprint.snapshot(repo_root),
        "regression": None,
    }


def _scrub_step(step: dict[str, Any]) -> dict[str, Any]:
    cmd = step["cmd"]
    step["cmd"] = scrub(cmd) if isinstance(cmd, str) else [scrub(c) for c in cmd]
    step["env"] = {k: scrub(f"{k}={v}").split("=", 1)[1] for k, v in step["env"].items()}
    return step


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json(report: Mapping[str, Any], *, pretty: bool = True) -> str:
    """JSON text of a report.

    Pretty output indents everything but the raw samples, which are written one compact
    sample per line: easier to read, and json's C encoder (which ``indent`` disables) does the
    bulk, so a 300-sample report costs ~1 ms instead of ~40 ms. ``pretty=False`` is compact.
    """
    if not pretty:
        return json.dumps(report, separators=(",", ":"), ensure_ascii=False) + "\n"
    runs = report.get("runs") or {}
    placeholders: dict[str, str] = {}
    outline = dict(report)
    outline["runs"] = {}
    for name, phase in runs.items():
        marker = f"@@ftbench-samples-{name}-{uuid.uuid4().hex}@@"
        lines = ",\n".join(f"        {json.dumps(sample, ensure_ascii=False)}"
                           for sample in phase.get("samples", []))
        placeholders[json.dumps(marker)] = f"[\n{lines}\n      ]" if lines else "[]"
        outline["runs"][name] = {**phase, "samples": marker}
    text = json.dumps(outline, indent=2, ensure_ascii=False)
    for marker, samples in placeholders.items():
        text = text.replace(marker, samples, 1)
    return text + "\n"


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def dotenv_lines(report: Mapping[str, Any], report_path: str) -> list[str]:
    """GitLab dotenv lines: valid names, single-line values."""
    runs = report.get("runs", {})
    regression = report.get("regression") or {}
    archive = report.get("archive") or {}
    values: dict[str, Any] = {
        "FT_BENCH_RUN_ID": report.get("run_id"),
        "FT_BENCH_TIER": report.get("tier"),
        "FT_BENCH_MODE": report.get("mode"),
        "FT_BENCH_OK": str(bool(report.get("ok"))).lower(),
        "FT_BENCH_COLD_MEDIAN_S": runs.get("cold", {}).get("elapsed_s"),
        "FT_BENCH_WARM_MEDIAN_S": runs.get("warm", {}).get("elapsed_s"),
        "FT_BENCH_SPEEDUP": report.get("speedup"),
        "FT_BENCH_VERDICT": regression.get("verdict", "not judged"),
        "FT_BENCH_REPORT": report_path,
        "FT_BENCH_ARCHIVE_KEY": archive.get("local_key"),
        "FT_BENCH_S3_KEY": archive.get("s3_key"),
        "FT_BENCH_S3_URL": archive.get("s3_url"),
    }
    lines = []
    for name, value in values.items():
        if value is None or not _ENV_NAME.match(name):
            continue
        text = " ".join(str(value).split())  # no newlines, no runs of blanks
        lines.append(f"{name}={text}")
    return lines


def write_reports(report: Mapping[str, Any], out_dir: Path, markdown: str, *,
                  pretty: bool = True) -> dict[str, Path]:
    """Write the JSON, Markdown and dotenv reports; returns their paths.

    ``pretty=False`` is for the early safety write right after measuring; the final write
    indents the JSON for people.
    """
    paths = {"json": out_dir / JSON_NAME, "md": out_dir / MD_NAME, "env": out_dir / ENV_NAME}
    atomic_write(paths["json"], to_json(report, pretty=pretty))
    atomic_write(paths["md"], markdown)
    shown = os.path.join(out_dir.name, JSON_NAME)
    atomic_write(paths["env"], "\n".join(dotenv_lines(report, shown)) + "\n")
    return paths
