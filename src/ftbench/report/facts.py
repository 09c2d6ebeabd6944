"""Facts about a run that the Markdown and the terminal both state, in the same words: the exit
codes a run counted as success (``-i``, ``ok_exit_codes``) and what the tracked files went
through (``measure/tree.py``). Names are returned raw: each caller escapes them for where
they land."""

from __future__ import annotations

from collections import Counter

from ftbench.report.model import Phase, Report

#: changed files named before "and N more"
SHOWN = 5


def _codes(samples: list[tuple[int, bool]]) -> str:
    """``exit 1 in 10 of 10 samples`` (exit codes other than 0, most frequent first)."""
    seen = Counter(code for code, _ in samples if code != 0)
    parts = [f"exit {code} in {n}" for code, n in seen.most_common()]
    return f"{', '.join(parts)} of {len(samples)} samples"


def ignored_exits(report: Report) -> list[tuple[str, str]]:
    """Per step whose samples counted although it exited non-zero: ``(step, "exit 1 in 10 of
    10 samples, ignored (-i)")``. Empty when every counted sample exited 0."""
    why = "ignored (-i)" if report.settings.ignore_failure else "accepted (ok_exit_codes)"
    per: dict[str, list[tuple[int, bool]]] = {}
    for _, phase in report.runs.items():
        for sample in phase.samples:
            for step in sample.steps:
                per.setdefault(step.name, []).append((step.exit_code, sample.ok))
    out = []
    for name, seen in per.items():
        if any(code != 0 and ok for code, ok in seen):
            out.append((name, f"{_codes(seen)}, {why}"))
    return out


def phase_exits(phase: Phase) -> str:
    """``exit 1 ignored`` when the phase's counted samples include non-zero exits, else ``""``."""
    codes = sorted({s.exit_code for s in phase.samples if s.ok and s.exit_code != 0})
    return f"exit {', '.join(map(str, codes))} ignored" if codes else ""


def tree_text(report: Report) -> str | None:
    """What the tracked files went through, or None for reports before the check."""
    tree = report.tree
    if tree is None:
        return None
    if not tree.checked:
        return "not checked (not a git work tree)"
    cost = f"{tree.checks} checks, {tree.check_s:.2f} s outside the timings"
    if tree.changed:
        names = ", ".join(tree.changed[:SHOWN]) + (
            f" and {len(tree.changed) - SHOWN} more" if len(tree.changed) > SHOWN else ""
        )
        return f"changed by a command: {names} (the run stopped; {cost})"
    if tree.restores:
        return (
            f"the commands change tracked files: put back after {tree.restores} samples "
            f'(writes = "restore"; {cost})'
        )
    return f"unchanged, checked after every sample ({cost})"


def markdown_lines(report: Report) -> list[str]:
    """The facts as Markdown lines (each a list item), names escaped."""
    from ftbench.report.escape import markdown_text as md

    out = [f"- ⚠️ {md(step)}: {md(text)}" for step, text in ignored_exits(report)]
    tree = report.tree
    if tree is not None and (tree.restores or tree.changed or not tree.checked):
        out.append(f"- Tracked files: {md(tree_text(report) or '')}")
    return ["", *out] if out else []


def text_lines(report: Report) -> list[str]:
    """The facts as terminal lines, names shown on one line without control characters."""
    from ftbench.report.escape import terminal

    out = [f"  {terminal(step)}: {terminal(text)}" for step, text in ignored_exits(report)]
    tree = report.tree
    if tree is not None and tree.restores:  # a change that stopped the run: its error says it
        out.append(f"  tracked files: {terminal(tree_text(report) or '')}")
    return out
