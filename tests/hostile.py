"""Hostile names (what a pull request controls) put into reports, and the structure of what
ftbench renders from them, read back with GitHub's own Markdown parser (cmark-gfm).

A hostile report is a stored report whose names are replaced (tier, step, branch and tag, the
``--against`` ref, and the free text that quotes names: the error, the verdict's summary,
notes and reasons, tool version lines); its benign twin gets plain names in the same places.
Escaping is right when the hostile rendering has exactly the benign one's structure: the same
HTML elements in the same order, the same lines, the same table columns.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cmarkgfm
from cmarkgfm.cmark import Options

from ftbench.report.model import Report

FIXTURE = Path(__file__).parent / "fixtures" / "reports" / "v1" / "tier-judged.json"


@dataclass(frozen=True)
class Names:
    tier: str
    step: str
    branch: str
    ref: str
    subject: str  # a commit subject or any free text quoting names


HOSTILE = Names(
    tier="lite` ``x <img src=x onerror=alert(1)>",
    step="a|b\n## Injected heading\n<script>alert(1)</script> @octocat #123 `tick` "
    "[x](javascript:alert(1)) *em* _u_ \x1b[31mred\x1b]0;title\x07 [bold red]rich",
    branch="feat/<!--x--> @org/team !7 GH-12 $x$ ~~s~~ &#64;octocat \\| </details>",
    ref="</script><svg onload=alert(1)>```",
    subject="> quote\n- item\n1. one\n# h1\r\x08 &lt;b&gt; <b>bold</b> | x | y |\u202eevil",
)
BENIGN = Names(
    tier="lite2",
    step="compile2",
    branch="feature/x",
    ref="main",
    subject="a plain note",
)
#: the modes of a report: a plain run (not judged), judged against the archive, A/B
KINDS = ("plain", "archive", "ab")


def report(kind: str, names: Names) -> Report:
    """The stored ``tier-judged`` report with ``names`` everywhere a name goes."""
    text = FIXTURE.read_text().replace('"compile"', json.dumps(names.step))
    data: dict[str, Any] = json.loads(text)
    data["tier"] = names.tier
    data["git"].update(branch=names.branch, tag=names.branch)
    data["environment"]["tool_versions"][names.step] = f"tool 1.0 {names.subject}"
    verdict = data["regression"]
    verdict["summary"] += f" - branch {names.branch}: {names.subject}"
    verdict["threshold_source"] = names.subject
    verdict["notes"] = [names.subject, f"step {names.step}"]
    warm = verdict["phases"]["warm"]
    warm["steps"] = {names.step: 4.5, "sleep": -1.0}
    warm["metrics"] = {
        "wall_s": {"verdict": "inconclusive", "current_median": 0.1, "baseline_median": 0.1},
        "user_s": {
            "verdict": "no change",
            "current_median": 0.05,
            "baseline_median": 0.05,
            "reason": f"{names.subject} on {names.branch}",
        },
    }
    data["archive"]["s3_key"] = f"benchmarks/{names.branch}"
    data["archive"]["s3_url"] = "https://s3.example.test/b/k.json?x=(1)"
    if kind == "plain":
        data["regression"] = None
        data["error"] = f"step {names.step!r} exited with code 1: {names.subject}"
    elif kind == "ab":
        data["against"] = {
            "ref": names.ref,
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "how": "git worktree",
            "order": "ABBA",
            "setup": None,
            "stopped": {},
            "tool_versions": {},
            "runs": data["runs"],
        }
        verdict["notes"].append(f"base side: {names.ref}")
    return Report.from_dict(data)


def github_html(markdown: str) -> str:
    """The Markdown as GitHub renders it before sanitizing (raw HTML kept, so that any tag a
    name smuggled in shows up)."""
    return str(
        cmarkgfm.markdown_to_html_with_extensions(
            markdown, options=Options.CMARK_OPT_UNSAFE, extensions=["table", "strikethrough"]
        )
    )


_TAG = re.compile(r"<(/?[a-zA-Z][a-zA-Z0-9]*)|<!--")


def tags(rendered: str) -> list[str]:
    """Every element (and comment) of rendered HTML, in order."""
    return [m.group(1) or "!--" for m in _TAG.finditer(rendered)]


def text_outside_code(rendered: str) -> str:
    """The text a reader sees outside code spans and blocks, entities decoded."""
    plain = re.sub(r"<code>.*?</code>", " ", rendered, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", plain))


#: what GitHub or GitLab would link, notify or cross-reference in text
LINKED = re.compile(r"@[A-Za-z0-9_]|[#!][0-9]|\bGH-[0-9]", re.I)


def row_cells(line: str) -> int:
    """The cells of a table row, split at pipes no backslash escapes (cmark-gfm's rule)."""
    return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))


def table_shapes(markdown: str) -> list[list[int]]:
    """Per table in the Markdown source: the cell count of each row."""
    shapes: list[list[int]] = []
    previous = ""
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                shapes.append([])
            shapes[-1].append(row_cells(line))
        previous = line
    return shapes


def control_characters(text: str) -> list[str]:
    """Control, bidi-format and line-separator characters other than the new line."""
    return [
        c
        for c in text
        if c != "\n" and (unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in "\u202e\u2066")
    ]
