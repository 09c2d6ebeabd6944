"""Render a report as Markdown for a PR comment or a CI job summary.

What a reviewer reads, in order: the verdict (one heading, then the judge's one line), base
and current side by side with the change, its interval and the noise floor per phase and step,
this run's measurements, then where the report and logs are (links to the CI run when the
report was made there). A table has only the columns some row fills; nothing is left empty.

Every name a pull request controls (tier, step, branch, ref, notes, tool versions, ...) goes
through ``report/escape.py`` where it is inserted: ``md()`` for text, ``code()`` for a code
span (docs/reliability.md, "Comment authorship and escaping").
"""

from __future__ import annotations

from ftbench.report.escape import markdown_code as code
from ftbench.report.escape import markdown_text as md
from ftbench.report.escape import markdown_url
from ftbench.report.facts import markdown_lines, phase_exits, tree_text
from ftbench.report.formats import fmt_ci, fmt_pct, fmt_rss, fmt_s, table
from ftbench.report.model import Phase, Report, Runs, Stats
from ftbench.report.next_steps import next_steps
from ftbench.report.verdict_md import (
    confirmation_lines,
    headline,
    judged_table,
    metric_details,
    verdict_lines,
)


def render(report: Report) -> str:
    lines = [
        f"## {md(headline(report))} · FirstTry benchmark: {code(report.tier)} tier "
        f"({md(report.mode)} mode)",
        "",
    ]
    verdict = report.regression
    if report.error:
        lines += [f"> ❌ {md(report.error)}", ""]
    lines += verdict_lines(report, verdict)
    confirmation = verdict.confirmation if verdict is not None else None
    if confirmation is not None:
        lines += ["", *confirmation_lines(report, confirmation)]
    if verdict is not None and verdict.phases:
        if confirmation is not None:
            lines += ["", "What the archive judge saw, against the baseline runs:"]
        lines += ["", *judged_table(report, verdict.phases)]
    lines += ["", "### This run (wall time)", "", *_phase_table(report.runs)]
    lines += markdown_lines(report)  # exit codes counted as success, the tracked files
    if report.speedup:
        lines += ["", f"Cold → warm speedup: **{report.speedup:.2f}×**"]
    step_rows = _step_rows(report)
    if step_rows:
        lines += ["", "### Steps (median wall time)", ""]
        header = ["step", "phase", "base", "current", "95% CI", "change of the medians"]
        lines += table([*header, "judged change (its metric)"], step_rows)
    lines += metric_details(verdict)
    lines += next_steps(report)
    lines += _environment(report)
    lines += _artifacts(report)
    lines.append("")
    return "\n".join(lines)


def _base_phase(report: Report, name: str) -> Phase | None:
    return report.against.runs.get(name) if report.against is not None else None


def _commands(phase: Phase) -> str:
    if not phase.ok:
        return f"❌ exit {phase.exit_code}"
    left_out = phase.failed + phase.timed_out
    notes = [n for n in (f"{left_out} left out" if left_out else "", phase_exits(phase)) if n]
    return f"ok ({'; '.join(notes)})" if notes else "ok"


def _phase_table(runs: Runs) -> list[str]:
    rows = [
        [
            md(name),
            f"**{fmt_s(phase.elapsed_s)}**" if phase.elapsed_s is not None else "–",
            fmt_ci(phase.stats.ci95) if phase.stats.n else "–",
            f"±{fmt_s(phase.stats.mad)}" if phase.stats.mad is not None else "–",
            _range(phase.stats),
            f"{phase.stats.n}/{phase.planned}",
            fmt_rss(phase.max_rss_kb, phase.rss_exact),
            _commands(phase),
        ]
        for name, phase in runs.items()
    ]
    header = ["phase", "median", "95% CI of median", "spread (MAD)", "min – max", "samples"]
    return table([*header, "peak RSS", "commands"], rows)


def _range(stats: Stats) -> str:
    if stats.min is None or stats.max is None:
        return "–"
    return f"{fmt_s(stats.min)} – {fmt_s(stats.max)}"


def _step_rows(report: Report) -> list[list[str]]:
    """One row per step and phase."""
    steps = [s.name for s in report.target.steps]
    verdict = report.regression
    rows = []
    for step in steps:
        for name, phase in report.runs.items():
            stats = phase.steps.get(step)
            base_phase = _base_phase(report, name)
            base = base_phase.steps.get(step) if base_phase is not None else None
            judged = verdict.phases.get(name) if verdict is not None else None
            # the change column is computed from the medians beside it (wall time); the
            # judge's per-step change is of its own metric, and says which
            change = _pct(base.median, stats.median) if base and stats else None
            other = judged.steps.get(step) if judged is not None and judged.steps else None
            if other is not None and judged is not None and (judged.metric != "wall" or not base):
                judged_text = f"{fmt_pct(other)} {md(judged.metric)}"
            else:
                judged_text = ""
            rows.append(
                [
                    md(step),
                    md(name),
                    fmt_s(base.median) if base is not None else "",
                    fmt_s(stats.median) if stats is not None else "–",
                    fmt_ci(stats.ci95) if stats is not None and stats.ci95 else "",
                    fmt_pct(change) if change is not None else "",
                    judged_text,
                ]
            )
    return rows


def _pct(base: float | None, current: float | None) -> float | None:
    if base is None or current is None or base <= 0:
        return None
    return (current / base - 1) * 100


def _environment(report: Report) -> list[str]:
    env, git, repo = report.environment, report.git, report.repository
    mem = env.memory_bytes
    commit = code((git.commit or "")[:12] or "–", cell=True)
    dirty = " (dirty)" if git.dirty else ""
    tools = ", ".join(f"{md(k)}: {md(v or 'unknown')}" for k, v in env.tool_versions.items())
    cpus = env.cpu_count_logical if env.cpu_count_logical is not None else "?"
    cpu = md(env.cpu_model)
    rows = [
        ("Machine", f"{cpu}, {cpus} CPUs, {mem / 2**30:.1f} GiB" if mem else cpu),
        ("OS", f"{md(env.os_release or env.os)} ({md(env.kernel)}, {md(env.arch)})"),
        ("Python", md(env.python)),
        ("Tools", tools),
        ("CI", md(env.ci or "local")),
        (
            "Git",
            f"{commit} on {md(git.branch or '–')}{dirty}"
            + (f", tag {md(git.tag)}" if git.tag else ""),
        ),
        (
            "Repository",
            f"{repo.files} files, {repo.bytes / 2**20:.1f} MiB, "
            f"fingerprint {code(repo.fingerprint[:12], cell=True)} "
            f"({md(repo.fingerprint_method)})",
        ),
        ("Measured with", f"ftbench {md(report.tool.version)}, {md(report.measurement.probe)}"),
        ("Tracked files", md(tree_text(report) or "")),
    ]
    if report.against is not None and report.against.imports:  # under an editable install
        rows.append(("Base side's code", md(report.against.imports)))
    load = report.load
    if load is not None and load.load1 is not None:
        pressure = (
            f", CPU pressure {load.cpu_pressure_pct:.0f}%"
            if load.cpu_pressure_pct is not None
            else ""
        )
        rows.append(
            ("Machine load", f"load average {load.load1:g} on {load.cpus or '?'} CPUs{pressure}")
        )
    speeds = [
        f"{md(name)} {phase.speed_ref_ms:.2f} ms"
        + (f" (varied {phase.speed_ref_spread_pct:.0f}%)" if phase.speed_ref_spread_pct else "")
        + (f", CPU pressure {phase.cpu_pressure_pct:.0f}%" if phase.cpu_pressure_pct else "")
        for name, phase in report.runs.items()
        if phase.speed_ref_ms is not None
    ]
    if speeds:
        rows.append(("Machine speed (reference loop)", ", ".join(speeds)))
    out = ["", "<details><summary>Environment</summary>", "", "| item | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows if v]
    out += ["", "</details>"]
    return out


def ci_links(report: Report) -> list[str]:
    """Links to the CI run and its artifacts, from the CI variables the report recorded
    (http and https only)."""
    env = report.environment.env
    if env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        run = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        targets = [("workflow run", run), ("artifacts", f"{run}#artifacts")]
    elif env.get("CI_JOB_URL"):
        job = env["CI_JOB_URL"].rstrip("/")
        targets = [("job", job), ("artifacts", f"{job}/artifacts/browse")]
    else:
        return []
    urls = [(name, markdown_url(url)) for name, url in targets]
    return [f"[{name}]({url})" for name, url in urls if url]


def _artifacts(report: Report) -> list[str]:
    archive = report.archive
    out = ["", "### Artifacts", ""]
    links = ci_links(report)
    if links:  # in a pull request: the CI run's artifacts, no local path (they mean nothing)
        out.append("- CI: " + " · ".join(links) + " (the reports and logs)")
    elif report.environment.ci is None:
        out += ["- Report: `.firsttry/bench_proof.json`", "- Logs: `.firsttry/bench_artifacts/`"]
    if archive is not None and archive.local_key and report.environment.ci is None:
        out.append(f"- Archived as {code(archive.local_key)}")
    s3_url = markdown_url(archive.s3_url) if archive is not None and archive.s3_url else None
    if archive is not None and s3_url:
        out.append(f"- S3: [{md(archive.s3_key or archive.s3_url)}]({s3_url})")
    elif archive is not None and archive.s3_key:
        out.append(f"- S3 key: {code(archive.s3_key)}")
    out.append(f"- Run id: {code(report.run_id)}")
    return out
