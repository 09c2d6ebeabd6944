"""A bisection in Markdown: ``ft-bench bisect --format markdown`` (a PR comment, the job
summary) and the verdict's part in ``bench_proof.md`` with ``run --against REF --bisect``;
the cells both it and the terminal table (``bisect_text.py``) show.

Commit subjects are hostile text: every one, and the answer's line that quotes them, goes
through :func:`~ftbench.report.escape.markdown_text` (hashes through ``markdown_code``).
"""

from __future__ import annotations

from ftbench.report.bisect import Bisection, BisectStep
from ftbench.report.escape import markdown_code as code
from ftbench.report.escape import markdown_text as md
from ftbench.report.formats import fmt_ci, fmt_pct, table

HEADINGS = {
    "found": "🔎 Found the commit",
    "range": "🔎 Narrowed to a range",
    "not confirmed": "⚠️ Narrowed to a commit that did not confirm",
    "no slowdown": "✅ No slowdown to bisect",
    "stopped": "❌ Bisection stopped",
}
HEADER = ["#", "commit", "subject", "against", "change", "95% CI", "position", "decision"]


def short(sha: str | None) -> str:
    return sha[:12] if sha else "–"


def _against(step: BisectStep) -> str:
    if step.reference is None:
        return "–"
    like = {"good": "GOOD-like", "bad": "BAD-like"}.get(step.reference_is or "", "")
    return f"{short(step.reference)} ({like})" if like else short(step.reference)


def _position(step: BisectStep) -> str:
    if step.position is None:
        return ""
    if step.position_ci is None:
        return f"{step.position:.2f}"
    return f"{step.position:.2f} [{step.position_ci[0]:.2f}, {step.position_ci[1]:.2f}]"


def what(b: Bisection) -> str:
    """``warm wall +21% (95% CI +18%..+25%) from GOOD 1a2b.. to BAD 3c4d.., 15 commits``."""
    text = f"GOOD {short(b.good)} → BAD {short(b.bad)}, {b.path_commits} commits"
    if b.phase and b.metric:
        change = f"{b.phase} {b.metric} {fmt_pct(b.change_pct)}"
        if b.change_ci95_pct is not None:
            change += f" (95% CI {fmt_ci(b.change_ci95_pct, 'pct')})"
        text = f"{change}, {text}"
    return text


def budget_line(b: Bisection) -> str:
    return (
        f"{b.used_s / 60:.1f} of {b.budget_s / 60:g} min used; {b.samples} samples "
        f"(as many as {b.normal_runs:g} normal runs)"
    )


def row(number: int, step: BisectStep) -> list[str]:
    return [
        str(number),
        short(step.commit),
        step.subject,
        _against(step),
        fmt_pct(step.pct_change) if step.pct_change is not None else "",
        fmt_ci(step.ci95_pct, "pct") if step.ci95_pct is not None else "",
        _position(step),
        step.decision,
        str(step.pairs),
        f"{step.elapsed_s:.0f} s",
    ]


def _steps_md(b: Bisection) -> list[str]:
    rows = []
    for number, step in enumerate(b.steps, 1):
        cells = row(number, step)
        decision = md(cells[7])
        rows.append(
            [
                cells[0],
                code(cells[1], cell=True),
                md(cells[2]) or "–",
                md(cells[3]),
                *cells[4:7],
                decision,
                *cells[8:],
            ]
        )
    out = [*table([*HEADER, "pairs", "time"], rows), ""] if rows else []
    out += [
        f"- {code(short(s.commit))} {md(s.decision)}: {md(s.reason)}"
        for s in b.steps
        if explained(s)
    ]
    out += [f"- {md(note)}" for note in b.notes]
    out.append(f"- budget: {md(budget_line(b))}")
    return out


def markdown_lines(b: Bisection) -> list[str]:
    """``ft-bench bisect --format markdown``: the answer, the steps, the notes, the budget."""
    return [
        f"## {HEADINGS.get(b.status, md(b.status))}",
        "",
        f"**{md(b.summary)}**",
        "",
        md(what(b)) + ".",
        "",
        *_steps_md(b),
    ]


def verdict_lines(b: Bisection) -> list[str]:
    """The verdict's part (``run --against REF --bisect``): the answer, the steps folded."""
    return [
        f"**🔎 Bisect of {md(what(b))}:** {md(b.summary)}",
        "",
        f"<details><summary>Bisect steps ({len(b.steps)})</summary>",
        "",
        *_steps_md(b),
        "",
        "</details>",
    ]


def explained(step: BisectStep) -> bool:
    return step.decision in ("skipped", "unclear", "not confirmed", "partial")


def render_markdown(b: Bisection) -> str:
    """``ft-bench bisect --format markdown``: a PR comment or job summary of its own."""
    return "\n".join(markdown_lines(b)) + "\n"
