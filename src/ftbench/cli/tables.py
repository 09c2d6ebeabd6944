"""Tables for people: rich on a terminal, aligned plain text in logs and pipes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO


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
    body = rows[1:]
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*rows[0], title=title)
        for i, row in enumerate(body):
            table.add_row(*row, style=(styles or {}).get(i, ""))
        console = Console(file=out)
        if body:
            console.print(table)
        for line in footer:
            console.print(line, highlight=False, markup=False)
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
