"""Escaping of everything a pull request controls, where it lands.

Branch, tier and step names, refs, commit subjects, tool version lines and the notes and
reasons that quote them are hostile text. Each place they land has one function here, and
every renderer goes through it:

* :func:`markdown_text`: inline Markdown (a paragraph, a list item, a blockquote, a table
  cell: the PR comment, ``bench_proof.md``, ``$GITHUB_STEP_SUMMARY``). The reader sees the
  same characters, never markup: no HTML tag, comment or entity, no table column (``|``), no
  new line or block (heading, list, quote), no code span, link, image, emphasis or math, no
  ``@name`` mention and no ``#123`` / ``!123`` / ``GH-123`` reference (GitHub and GitLab
  notify or cross-link those: a zero-width space is put after the ``@`` / ``#``);
* :func:`markdown_code`: the same text verbatim in a code span, fenced by more backticks
  than any run inside it;
* :func:`markdown_url`: a link destination (``http``/``https`` only);
* :func:`dotenv_value`: one safe line of the GitLab dotenv report;
* :func:`terminal`: one line for the terminal and logs (no control character, so no ANSI
  escape, no carriage return rewriting a line, no bidi override); rich markup is escaped by
  the caller (``rich.markup.escape`` or a ``rich.text.Text``);
* :func:`workflow_data`: the message of a GitHub workflow command (``::warning::...``).

Benign names come out unchanged (``x86_64``, ``p < 0.0025``, ``Intel(R) CPU @ 2.50GHz``):
only what a renderer would read as markup is escaped.
"""

from __future__ import annotations

import re
import string
from urllib.parse import quote, urlsplit

#: characters that end a line (for a name they are just a blank)
_BREAKS = "\t\n\v\f\r\x85\u2028\u2029"
#: bidi embeddings, overrides and isolates: they reorder what a reader sees
_BIDI = "\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_PUNCT = frozenset(string.punctuation)
#: a zero-width space: after ``@`` or ``#`` it keeps GitHub/GitLab from linking a mention
ZWSP = "&#8203;"
#: always backslash-escaped in Markdown text
_ALWAYS = frozenset("`*[]|~$")
#: what starts a heading, a list item, a thematic break or a quote at a line's start
_BLOCK_START = re.compile(r"#{1,6}(?:\s|$)|[-+](?:\s|$|-)|>")
_ORDERED = re.compile(r"(\d{1,9})[.)](?:\s|$)")


def _shown(char: str) -> str:
    """A control character as a visible escape (``\\x1b``, ``\\u202e``)."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: object) -> str:
    """``text`` on one line: line breaks and tabs become blanks, other control and bidi
    characters (and lone surrogates) visible escapes (``\\x1b``, ``\\u202e``)."""
    out = []
    for char in str(text):
        if char in _BREAKS:
            out.append(" ")
        elif char in _BIDI or _is_control(char):
            out.append(_shown(char))
        else:
            out.append(char)
    return "".join(out)


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000


def terminal(text: object) -> str:
    """A name for the terminal or a log: one line, no control character."""
    return one_line(text)


def workflow_data(text: object) -> str:
    """The message of a GitHub workflow command: one line, ``%`` encoded as the runner
    decodes it (so ``%0A`` in a name cannot become a new line)."""
    return terminal(text).replace("%", "%25")


def dotenv_value(value: object) -> str:
    """A dotenv value: one line, no control character, blanks collapsed."""
    return " ".join(one_line(value).split())


def markdown_text(text: object) -> str:
    """``text`` as inline Markdown that shows exactly these characters (see the module)."""
    flat = one_line(text).strip()
    out = [
        _escape_char(char, flat[i - 1] if i else "", flat[i + 1 : i + 2])
        for i, char in enumerate(flat)
    ]
    # GH-123 (GitHub links it like #123)
    escaped = re.sub(r"(?i)(gh-)(?=\d)", lambda m: m.group(1) + ZWSP, "".join(out))
    return _line_start(escaped)


def _escape_char(char: str, before: str, after: str) -> str:
    """One character of :func:`markdown_text`, seen with its neighbours."""
    if char in _ALWAYS:
        return "\\" + char
    if char == "\\":  # a backslash escapes only the punctuation after it
        return "\\\\" if after in _PUNCT or not after else char
    if char == "<":  # a tag, comment, declaration or autolink starts with one of these
        starts_tag = not after or (after.isascii() and (after.isalpha() or after in "/!?"))
        return "&lt;" if starts_tag else char
    if char == "&":  # an entity or character reference: &amp; &#64; &#x40;
        return "&amp;" if not after or after.isalnum() or after == "#" else char
    if char == "_":  # emphasis, unless inside a word (x86_64, my_step)
        return char if before.isalnum() and after.isalnum() else "\\_"
    if char == "@" and after.isascii() and (after.isalnum() or after == "_"):
        return char + ZWSP  # @mention (GitHub, GitLab)
    if char in "#!" and after.isascii() and after.isdigit():
        return char + ZWSP  # #123 (GitHub, GitLab), !123 (GitLab merge requests)
    if char == "#" and not after:
        return "\\#"  # the closing sequence of a heading
    return char


def _line_start(escaped: str) -> str:
    """Escape what would start a block when the text begins a line (``# x``, ``- x``,
    ``> x``, ``1. x``): a list item or a quote may hold a heading or another list."""
    ordered = _ORDERED.match(escaped)
    if ordered:
        return ordered.group(1) + "\\" + escaped[ordered.end(1) :]
    return "\\" + escaped if _BLOCK_START.match(escaped) else escaped


def markdown_code(text: object, *, cell: bool = False) -> str:
    """``text`` verbatim in a code span: the fence is longer than any backtick run inside,
    and padded when the text starts or ends with a backtick. In a table cell (``cell``) a
    text holding ``|`` is shown as :func:`markdown_text` instead: renderers disagree on
    escaped pipes inside code spans."""
    flat = one_line(text).strip()
    if cell and "|" in flat:
        return markdown_text(flat)
    if not flat:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat[0] == "`" or flat[-1] == "`" else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


#: kept as written in a link destination; everything else is percent-encoded
_URL_SAFE = "/:@!$&+,;=-._~%?#"


def markdown_url(url: object) -> str | None:
    """A link destination: ``http(s)`` only (None otherwise), with blanks, parentheses,
    brackets, quotes and control characters percent-encoded."""
    text = str(url).strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return quote(text, safe=_URL_SAFE)
