"""report/escape.py: escaped names render as exactly their characters (read back with GitHub's
own parser, cmark-gfm), never as markup, a mention, a new line or a table column; terminal
and dotenv text has no control character."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ftbench.report.escape import (
    dotenv_value,
    markdown_code,
    markdown_text,
    markdown_url,
    one_line,
    terminal,
    workflow_data,
)
from hostile import LINKED, control_characters, github_html, row_cells

#: what Markdown, HTML and the terminal read as syntax, often
SPECIAL = [
    *"<>&|`*_[]()#@!$~\\-+=.:/;'\" \n\r\t\x1b\x07\x00\u2028\u202e\u200b",
    "<!--",
    "-->",
    "</script>",
    "<img src=x onerror=alert(1)>",
    "@octocat",
    "#12",
    "!7",
    "GH-3",
    "&#64;",
    "&amp;",
    "```",
    "1. ",
    "- ",
    "# ",
    "> ",
    "[x](javascript:alert(1))",
    "\x1b[31m",
    "[bold red]",
]
TEXT = st.lists(st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8")), max_size=25).map(
    "".join
)
ZWSP = "\u200b"


def _expected(text: str) -> str:
    """What a reader should see: the text on one line, without the zero-width spaces."""
    return one_line(text).strip().replace(ZWSP, "")


def _seen(rendered: str) -> str:
    return html.unescape(rendered).replace(ZWSP, "")


def _inline(rendered: str, tag: str) -> str:
    """The content of the one ``<tag>`` element ``rendered`` consists of."""
    found = re.fullmatch(rf"<{tag}>(.*)</{tag}>\n", rendered, re.S)
    assert found, rendered
    return found.group(1)


@given(TEXT)
@example("x86_64 my_step __init__ snake_ *a* p < 0.0025 a & b")
@example("1. one")
@example("## #")
@example("a\\")
def test_markdown_text_shows_its_characters_and_nothing_else(text: str) -> None:
    escaped = markdown_text(text)
    assert "\n" not in escaped and not control_characters(escaped)
    for before, fmt in (("", "p"), ("## ", "h2"), ("- ", "li"), ("> ", "blockquote")):
        rendered = github_html(before + escaped)
        if not escaped:
            continue
        if fmt == "li":
            rendered = _inline(rendered, "ul").strip("\n") + "\n"
        if fmt == "blockquote":
            rendered = _inline(rendered, "blockquote").strip("\n") + "\n"
            fmt = "p"
        body = _inline(rendered, fmt)
        assert "<" not in body, rendered  # no element: no tag, emphasis, link, code, ...
        assert _seen(body) == _expected(text), rendered
        assert not LINKED.search(html.unescape(body))


@given(st.lists(TEXT, min_size=1, max_size=4))
def test_a_row_of_escaped_cells_has_exactly_its_cells(cells: list[str]) -> None:
    escaped = [markdown_text(c) for c in cells]
    header = "| " + " | ".join(f"h{i}" for i in range(len(cells))) + " |"
    row = "| " + " | ".join(escaped) + " |"
    assert row_cells(row) == len(cells)
    rendered = github_html(f"{header}\n|{'---|' * len(cells)}\n{row}\n")
    body = rendered.split("<tbody>", 1)[1]
    shown = re.findall(r"<td>(.*?)</td>", body, re.S)
    assert [_seen(c) for c in shown] == [_expected(c) for c in cells], rendered
    assert not any("<" in c for c in shown)


@given(TEXT)
@example("a`b``c")
@example("`")
@example("a|b\\|")
def test_markdown_code_holds_the_text_verbatim(text: str) -> None:
    code = markdown_code(text)
    if not one_line(text).strip():
        assert code == ""
        return
    assert "\n" not in code
    rendered = _inline(github_html(code), "p")
    inner = re.fullmatch(r"<code>(.*)</code>", rendered, re.S)
    assert inner, rendered
    assert html.unescape(inner.group(1)) == one_line(text).strip()
    # in a table cell: the cell's text, as a code span or (with a pipe) as escaped text
    cell = markdown_code(text, cell=True)
    table = github_html(f"| a | b |\n|---|---|\n| {cell} | x |\n")
    shown = re.findall(r"<td>(.*?)</td>", table, re.S)
    assert len(shown) == 2 and shown[1] == "x", table
    assert _seen(re.sub(r"</?code>", "", shown[0])) == _expected(text)


def test_fences_and_benign_names() -> None:
    assert markdown_code("lite") == "`lite`"
    assert markdown_code("a`b``c") == "```a`b``c```"
    assert markdown_code("`x") == "`` `x ``"
    assert markdown_code("a|b", cell=True) == "a\\|b"
    for benign in ("x86_64", "Intel(R) Xeon(R) Processor @ 2.50GHz", "p < 0.0025", "3.11.7"):
        assert markdown_text(benign) == benign
    assert markdown_text("@octocat #12 !7 GH-3") == (
        "@&#8203;octocat #&#8203;12 !&#8203;7 GH-&#8203;3"
    )
    assert markdown_text("<img src=x>") == "&lt;img src=x>"
    assert markdown_text("a\n## b") == "a ## b"


@given(TEXT)
@example("\x1b[31mred\x1b[0m \x1b]0;title\x07 \r over\u202eevil")
def test_terminal_text_has_no_control_character(text: str) -> None:
    shown = terminal(text)
    assert not control_characters(shown) and "\n" not in shown
    if not control_characters(text) and "\n" not in text and "\t" not in text:
        assert shown == text  # nothing to escape: unchanged
    assert "\x1b" not in shown and ("\x1b" not in text or "\\x1b" in shown)


@given(TEXT)
def test_dotenv_values_and_workflow_messages_are_one_safe_line(text: str) -> None:
    value = dotenv_value(text)
    assert value == value.strip() and "  " not in value
    assert not control_characters(value) and "\n" not in value
    data = workflow_data(text)
    assert "\n" not in data and "\r" not in data and not control_characters(data)
    assert "%0A" not in data.replace("%25", "")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/o/r/actions/runs/1", "https://github.com/o/r/actions/runs/1"),
        ("http://h/a b)(<x>\"'`|\n/y", "http://h/a%20b%29%28%3Cx%3E%22%27%60%7C%0A/y"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//evil.example/x", None),
        ("http://[::1", None),
    ],
)
def test_link_destinations(url: str, expected: str | None) -> None:
    assert markdown_url(url) == expected
    if expected is not None:
        rendered = github_html(f"[x]({expected})")
        assert rendered.count("<a ") == 1 and rendered.endswith(">x</a></p>\n")
