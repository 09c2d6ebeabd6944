"""Tables for people: rich on a terminal, aligned plain text in logs and pipes.

Cells hold names from the repository and the archive (branches, tiers, steps, keys): each is
shown on one line without control characters, and never read as rich markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO

from ftbench.report.escape import terminal


def print_table(
    rows: Sequence[Sequence[str]],
    out: TextIO,
    *,
    title: str | None = None,
    text_title: bool = True,
    styles: Mapping[int, str] | None = None,
    footer: Sequence[str] = (),
) -> None:
    """Print ``rows`` (the first is the header), then the ``footer`` lines.

    ``styles`` maps a body row's index to a rich style; ``text_title=False`` keeps the title
    out of the plain-text form (whose first line is then the header).
    """
    rows = [[terminal(cell) for cell in row] for row in rows]
    footer = [terminal(line) for line in footer]
    title = terminal(title) if title is not None else None
    body = rows[1:]
    if out.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title and Text(title))
        for cell in rows[0]:
            table.add_column(Text(cell))
        for i, row in enumerate(body):
            table.add_row(*(Text(cell) for cell in row), style=(styles or {}).get(i, ""))
        console = Console(file=out)
        if body:
            console.print(table)
        for line in footer:
            console.print(line, highlight=False, markup=False, emoji=False)
        return
    if title and text_title:
        out.write(title + "\n")
    if body:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            out.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
            )
        out.write("\n")
    for line in footer:
        out.write(line + "\n")
