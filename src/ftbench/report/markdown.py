"""Render a report as Markdown for a PR comment or a CI job summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fmt_s(value: float | None) -> str:
    """Seconds for humans: ms below one second."""
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s"


def _fmt_rss(kb: int | None, exact: bool) -> str:
    if kb is None:
        return "unknown"
    text = f"{kb / 1024:.1f} MiB"
    return text if exact else f"≤ {text} (floor)"


def _phase_row(name: str, phase: Mapping[str, Any]) -> str:
    stats = phase.get("stats") or {}
    ci = stats.get("ci95")
    ci_text = f"{fmt_s(ci[0])} – {fmt_s(ci[1])}" if ci else "n/a (n<6)"
    n = stats.get("n", 0)
    planned = phase.get("planned", n)
    status = "✅" if phase.get("ok") else f"❌ exit {phase.get('exit_code')}"
    return (f"| {name} | **{fmt_s(phase.get('elapsed_s'))}** | ±{fmt_s(stats.get('mad'))} | "
            f"{ci_text} | {fmt_s(stats.get('min'))} – {fmt_s(stats.get('max'))} | "
            f"{n}/{planned} | {_fmt_rss(phase.get('max_rss_kb'), phase.get('rss_exact', True))}"
            f" | {status} |")


def render(report: Mapping[str, Any]) -> str:
    runs: Mapping[str, Any] = report.get("runs", {})
    lines = [f"## ⏱️ FirstTry benchmark: `{report.get('tier')}` tier ({report.get('mode')} mode)",
             ""]
    verdict = report.get("regression") or {}
    if verdict.get("summary"):
        lines += [f"**Verdict:** {verdict['summary']}", ""]
    if report.get("error"):
        lines += [f"> ⚠️ {report['error']}", ""]
    lines += ["| phase | median | spread (MAD) | 95% CI of median | min – max | samples | "
              "peak RSS | status |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [_phase_row(name, runs[name]) for name in ("cold", "warm") if name in runs]
    if report.get("speedup"):
        lines += ["", f"Cold → warm speedup: **{report['speedup']:.2f}×**"]
    steps = [s["name"] for s in (report.get("target") or {}).get("steps", [])]
    if steps:
        lines += ["", "### Steps (median)", "", "| step | cold | warm |", "|---|---|---|"]
        for step in steps:
            cells = [fmt_s((runs.get(p, {}).get("steps", {}).get(step) or {}).get("median"))
                     for p in ("cold", "warm")]
            lines.append(f"| {step} | {cells[0]} | {cells[1]} |")
    lines += _environment(report)
    lines += _artifacts(report)
    lines.append("")
    return "\n".join(lines)


def _environment(report: Mapping[str, Any]) -> list[str]:
    env = report.get("environment") or {}
    git = report.get("git") or {}
    repo = report.get("repository") or {}
    mem = env.get("memory_bytes")
    commit = (git.get("commit") or "")[:12] or "–"
    dirty = " (dirty)" if git.get("dirty") else ""
    tools = ", ".join(f"{k}: {v}" for k, v in (env.get("tool_versions") or {}).items() if v)
    rows = [
        ("Machine", f"{env.get('cpu_model', '?')}, {env.get('cpu_count_logical', '?')} CPUs, "
                    f"{mem / 2**30:.1f} GiB" if mem else env.get("cpu_model", "?")),
        ("OS", f"{env.get('os_release') or env.get('os')} ({env.get('kernel')}, "
               f"{env.get('arch')})"),
        ("Python", env.get("python")),
        ("Tools", tools or "–"),
        ("CI", env.get("ci") or "local"),
        ("Git", f"`{commit}` on {git.get('branch') or '–'}{dirty}"
                + (f", tag {git['tag']}" if git.get("tag") else "")),
        ("Repository", f"{repo.get('files')} files, {repo.get('bytes', 0) / 2**20:.1f} MiB, "
                       f"fingerprint `{str(repo.get('fingerprint'))[:12]}` "
                       f"({repo.get('fingerprint_method')})"),
        ("Measured with", f"ftbench {report.get('tool', {}).get('version')}, "
                          f"{(report.get('measurement') or {}).get('probe')}"),
    ]
    out = ["", "<details><summary>Environment</summary>", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    out += ["", "</details>"]
    return out


def _artifacts(report: Mapping[str, Any]) -> list[str]:
    archive = report.get("archive") or {}
    out = ["", "### Artifacts", "", "- Report: `.firsttry/bench_proof.json`",
           "- Logs: `.firsttry/bench_artifacts/`"]
    if archive.get("local_key"):
        out.append(f"- Archived as `{archive['local_key']}`")
    if archive.get("s3_url"):
        out.append(f"- S3: [{archive.get('s3_key')}]({archive['s3_url']})")
    elif archive.get("s3_key"):
        out.append(f"- S3 key: `{archive['s3_key']}`")
    out.append(f"- Run id: `{report.get('run_id')}`")
    return out
