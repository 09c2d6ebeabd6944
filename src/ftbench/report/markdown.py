"""Render a report as Markdown for a PR comment or a CI job summary."""

from __future__ import annotations

from ftbench.report.model import Phase, Report


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


def _phase_row(name: str, phase: Phase) -> str:
    stats = phase.stats
    ci = stats.ci95
    ci_text = f"{fmt_s(ci[0])} – {fmt_s(ci[1])}" if ci else "n/a (n<6)"
    status = "✅" if phase.ok else f"❌ exit {phase.exit_code}"
    return (
        f"| {name} | **{fmt_s(phase.elapsed_s)}** | ±{fmt_s(stats.mad)} | "
        f"{ci_text} | {fmt_s(stats.min)} – {fmt_s(stats.max)} | "
        f"{stats.n}/{phase.planned} | {_fmt_rss(phase.max_rss_kb, phase.rss_exact)}"
        f" | {status} |"
    )


def render(report: Report) -> str:
    runs = report.runs
    lines = [f"## ⏱️ FirstTry benchmark: `{report.tier}` tier ({report.mode} mode)", ""]
    if report.regression is not None and report.regression.summary:
        lines += [f"**Verdict:** {report.regression.summary}", ""]
    if report.error:
        lines += [f"> ⚠️ {report.error}", ""]
    lines += [
        "| phase | median | spread (MAD) | 95% CI of median | min – max | samples | "
        "peak RSS | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_phase_row(name, phase) for name, phase in runs.items()]
    if report.speedup:
        lines += ["", f"Cold → warm speedup: **{report.speedup:.2f}×**"]
    steps = [s.name for s in report.target.steps]
    if steps:
        lines += ["", "### Steps (median)", "", "| step | cold | warm |", "|---|---|---|"]
        for step in steps:
            cells = [fmt_s(_step_median(runs.get(p), step)) for p in ("cold", "warm")]
            lines.append(f"| {step} | {cells[0]} | {cells[1]} |")
    lines += _environment(report)
    lines += _artifacts(report)
    lines.append("")
    return "\n".join(lines)


def _step_median(phase: Phase | None, step: str) -> float | None:
    stats = phase.steps.get(step) if phase is not None else None
    return stats.median if stats is not None else None


def _environment(report: Report) -> list[str]:
    env, git, repo = report.environment, report.git, report.repository
    mem = env.memory_bytes
    commit = (git.commit or "")[:12] or "–"
    dirty = " (dirty)" if git.dirty else ""
    tools = ", ".join(f"{k}: {v}" for k, v in env.tool_versions.items() if v)
    cpus = env.cpu_count_logical if env.cpu_count_logical is not None else "?"
    rows = [
        (
            "Machine",
            f"{env.cpu_model}, {cpus} CPUs, {mem / 2**30:.1f} GiB" if mem else env.cpu_model,
        ),
        ("OS", f"{env.os_release or env.os} ({env.kernel}, {env.arch})"),
        ("Python", env.python),
        ("Tools", tools or "–"),
        ("CI", env.ci or "local"),
        (
            "Git",
            f"`{commit}` on {git.branch or '–'}{dirty}" + (f", tag {git.tag}" if git.tag else ""),
        ),
        (
            "Repository",
            f"{repo.files} files, {repo.bytes / 2**20:.1f} MiB, "
            f"fingerprint `{repo.fingerprint[:12]}` ({repo.fingerprint_method})",
        ),
        ("Measured with", f"ftbench {report.tool.version}, {report.measurement.probe}"),
    ]
    out = ["", "<details><summary>Environment</summary>", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    out += ["", "</details>"]
    return out


def _artifacts(report: Report) -> list[str]:
    archive = report.archive
    out = [
        "",
        "### Artifacts",
        "",
        "- Report: `.firsttry/bench_proof.json`",
        "- Logs: `.firsttry/bench_artifacts/`",
    ]
    if archive is not None and archive.local_key:
        out.append(f"- Archived as `{archive.local_key}`")
    if archive is not None and archive.s3_url:
        out.append(f"- S3: [{archive.s3_key}]({archive.s3_url})")
    elif archive is not None and archive.s3_key:
        out.append(f"- S3 key: `{archive.s3_key}`")
    out.append(f"- Run id: `{report.run_id}`")
    return out
