"""A bisection on the terminal: ``ft-bench bisect``'s table of steps, its answer, notes and
budget. Subjects through :func:`~ftbench.report.escape.terminal` (one line, no control
character), cut to :data:`SUBJECT_WIDTH`."""

from __future__ import annotations

from ftbench.report.bisect import Bisection
from ftbench.report.bisect_view import HEADER, budget_line, explained, row, short, what
from ftbench.report.escape import terminal
from ftbench.report.text import columns

#: the subject's width in the terminal table
SUBJECT_WIDTH = 40


def render_text(b: Bisection) -> str:
    """The terminal table of steps, the answer, the notes and the budget."""
    lines = [f"ft-bench bisect: {terminal(what(b))}"]
    rows = [[*HEADER, "pairs", "time"]]
    for number, step in enumerate(b.steps, 1):
        cells = [terminal(cell) for cell in row(number, step)]
        if len(cells[2]) > SUBJECT_WIDTH:
            cells[2] = cells[2][: SUBJECT_WIDTH - 1] + "…"
        rows.append(cells)
    if len(rows) > 1:
        lines += ["", *columns(rows)]
    for step in b.steps:
        if explained(step):
            why = terminal(step.reason)
            lines.append(f"  {short(step.commit)} {step.decision}: {why}")
    lines += ["", f"{terminal(_answer_word(b))}: {terminal(b.summary)}"]
    lines += [f"  note: {terminal(note)}" for note in b.notes]
    lines.append(f"  budget: {budget_line(b)}")
    return "\n".join(lines) + "\n"


def _answer_word(b: Bisection) -> str:
    return {"found": "culprit", "range": "range", "not confirmed": "not named"}.get(
        b.status, b.status
    )
