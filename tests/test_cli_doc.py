"""docs/cli.md shows every command's help as the parser prints it."""

from __future__ import annotations

import argparse
import re

from cli_doc import CLI_DOC, render
from ftbench.cli.app import build_parser


def test_cli_reference_matches_the_parser() -> None:
    text = CLI_DOC.read_text()
    assert render(text) == text, "docs/cli.md is stale: run python tests/cli_doc.py"


def test_every_command_has_a_section() -> None:
    text = CLI_DOC.read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    documented = set(re.findall(r"## `ft-bench ([a-z]+)", text))
    assert set(sub.choices) <= documented
