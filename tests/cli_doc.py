"""The help blocks of ``docs/cli.md``, generated from the parser.

``python tests/cli_doc.py`` rewrites every ```` ```text ```` block that follows a
``## `ft-bench COMMAND` `` heading with that command's ``--help`` at 100 columns;
``tests/test_cli_doc.py`` checks the committed file equals what this generates, so the CLI
reference stays true to the parser. Prose between the blocks is left alone.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from ftbench.cli.app import build_parser

CLI_DOC = Path(__file__).parent.parent / "docs" / "cli.md"
WIDTH = "100"
_BLOCK = re.compile(
    r"(## `ft-bench ([a-z -]+)`\n(?:(?!## |```text\n)[^\n]*\n)*```text\n)(.*?)(```\n)", re.S
)


def command_help(words: str) -> str:
    """``ft-bench WORDS --help`` as argparse prints it at :data:`WIDTH` columns."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parser: argparse.ArgumentParser = build_parser()
        for word in words.split():
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices[word]
        return parser.format_help()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def render(text: str) -> str:
    """``text`` (docs/cli.md) with every command's block regenerated."""
    return _BLOCK.sub(lambda m: m.group(1) + command_help(m.group(2)) + m.group(4), text)


if __name__ == "__main__":
    CLI_DOC.write_text(render(CLI_DOC.read_text()))
    print(f"wrote {CLI_DOC}")
