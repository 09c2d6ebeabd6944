"""A plain-text summary of a report for the terminal (the Markdown goes to files and CI).

The verdict first, then one aligned row per phase: this run's wall-time median, its interval
and samples, and, when judged, the judged metric's median of this run and of the base, the
change with its interval and the noise floor. Names are shown through
:func:`~ftbench.report.escape.terminal` (one line, no control character).
"""

from __future__ import annotations

from collections.abc import Sequence

from ftbench.report.escape import terminal
from ftbench.report.facts import text_lines
from ftbench.report.formats import fmt_change, fmt_ci, fmt_rss, fmt_s
from ftbench.report.model import Report
from ftbench.report.verdict_md import NO_BASELINE_FIX, headline


def columns(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Rows aligned in columns (columns empty in every row are left out)."""
    keep = [i for i in range(len(rows[0])) if any(r[i] for r in rows[1:])]
    widths = {i: max(len(r[i]) for r in rows) for i in keep}
    return [indent + "  ".join(r[i].ljust(widths[i]) for i in keep).rstrip() for r in rows]


def render_text(
    report: Report, report_path: str = ".firsttry/bench_proof.json", *, error: bool = True
) -> str:
    """``error=False``: the run's error is left out (the CLI prints it once, on stderr)."""
    verdict = report.regression
    # the headline's emoji is left out: terminals and logs do not all show them
    words = terminal(headline(report).split(" ", 1)[-1])
    lines = [f"ftbench: {words} · {terminal(report.tier)} tier ({terminal(report.mode)} mode)"]
    if report.error and error:
        lines.append(f"  error: {terminal(report.error)}")
    if verdict is not None:
        lines.append(f"  verdict: {terminal(verdict.summary or verdict.verdict)}")
        if verdict.notes:
            lines += [f"  note: {terminal(note)}" for note in verdict.notes]
    rows = [
        [
            "phase",
            "median",
            "95% CI",
            "samples",
            "peak RSS",
            "judged on",
            "this run",
            "base",
            "change",
            "change CI",
            "noise",
        ]
    ]
    for name, phase in report.runs.items():
        judged = verdict.phases.get(name) if verdict is not None else None
        rows.append(
            [
                terminal(name),
                fmt_s(phase.elapsed_s) if phase.elapsed_s is not None else "–",
                fmt_ci(phase.stats.ci95) if phase.stats.ci95 else "",
                f"{phase.stats.n}/{phase.planned}"
                + ("" if phase.ok else f" exit {phase.exit_code}"),
                fmt_rss(phase.max_rss_kb, phase.rss_exact),
                terminal(judged.metric) if judged is not None else "",
                _base(judged.current.median, judged.metric) if judged is not None else "",
                _base(judged.baseline.median, judged.metric) if judged is not None else "",
                fmt_change(judged.pct_change, judged.raw_pct_change)
                if judged and judged.pct_change is not None
                else "",
                fmt_ci(judged.ci95_pct, "pct") if judged and judged.ci95_pct else "",
                f"±{judged.noise_floor_pct:.1f}%"
                if judged and judged.noise_floor_pct is not None
                else "",
            ]
        )
    if len(rows) > 1:
        lines += ["", *columns(rows)]
    lines += text_lines(report)  # exit codes counted as success, the tracked files
    if report.speedup:
        lines.append(f"  cold → warm speedup {report.speedup:.2f}×")
    lines += ["", f"  report: {report_path} (Markdown: bench_proof.md next to it)"]
    return "\n".join(lines) + "\n"


def _base(median: float | None, metric: str) -> str:
    if median is None:
        return ""
    return fmt_rss(int(median), True) if metric.startswith("rss") else fmt_s(median)


def no_baseline_warning(report: Report) -> str | None:
    """What to print when a CI run found no baseline: nothing was gated, and how to fix it."""
    verdict = report.regression
    if verdict is None or verdict.verdict != "no baseline" or not report.environment.ci:
        return None
    fix = NO_BASELINE_FIX.replace("`", "")
    why = terminal(verdict.reason or "no earlier report")
    return (
        f"no baseline in CI ({why}): nothing was gated, "
        f"this run passes whatever it measured. To get a baseline, {fix}."
    )
