"""Hostile names (tier, step, branch, tag, ``--against`` ref, and free text quoting them: the
error, the verdict's summary, notes and reasons) through every output ftbench writes for
people: the Markdown (PR comment, ``bench_proof.md``, job summary) of a plain run, an
archive-judged run and an A/B run, the terminal summary, the dotenv report, progress lines,
tables, error lines and the workflow annotation. Each keeps its structure: the table columns,
one top heading, the lines, no HTML element, no mention, no control character."""

from __future__ import annotations

import dataclasses
import html
import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ftbench import cli
from ftbench.cli import progress, run, tables
from ftbench.report.escape import dotenv_value, terminal
from ftbench.report.files import dotenv_lines
from ftbench.report.markdown import render
from ftbench.report.text import render_text
from hostile import (
    BENIGN,
    HOSTILE,
    KINDS,
    LINKED,
    control_characters,
    github_html,
    report,
    table_shapes,
    tags,
    text_outside_code,
)

#: the elements ftbench's Markdown is made of; anything else came from a name
ELEMENTS = {"h2", "h3", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td"}
ELEMENTS |= {"ul", "li", "details", "summary", "blockquote", "a"}


def _check_markdown(markdown: str) -> str:
    """The structural checks every hostile rendering passes; returns its HTML."""
    rendered = github_html(markdown)
    found = tags(rendered)
    assert {t.lstrip("/") for t in found} <= ELEMENTS, sorted(set(found))
    assert found.count("h2") == 1 and rendered.startswith("<h2>")
    assert all(len(set(shape)) == 1 for shape in table_shapes(markdown)), table_shapes(markdown)
    assert re.findall(r'<a href="([^"]*)"', rendered) == [
        u for u in re.findall(r'<a href="([^"]*)"', rendered) if u.startswith("https://")
    ]
    assert not LINKED.search(text_outside_code(rendered)), LINKED.findall(
        text_outside_code(rendered)
    )
    assert not control_characters(markdown)
    return rendered


def _shown(rendered: str) -> str:
    """Everything a reader sees, code included, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", rendered)).replace("\u200b", "")


@pytest.mark.parametrize("kind", KINDS)
def test_markdown_of_hostile_names_has_the_benign_structure(kind: str) -> None:
    hostile, benign = render(report(kind, HOSTILE)), render(report(kind, BENIGN))
    rendered = _check_markdown(hostile)
    assert tags(rendered) == tags(github_html(benign))
    assert hostile.count("\n") == benign.count("\n")
    assert table_shapes(hostile) == table_shapes(benign)
    # shown as written (on one line), not dropped
    seen = _shown(rendered)
    for name in (HOSTILE.tier, HOSTILE.step, HOSTILE.branch):
        assert terminal(name).strip() in seen
    if kind == "ab":
        assert HOSTILE.ref in seen


@pytest.mark.parametrize("kind", KINDS)
def test_terminal_summary_of_hostile_names(kind: str) -> None:
    hostile = render_text(report(kind, HOSTILE))
    assert hostile.count("\n") == render_text(report(kind, BENIGN)).count("\n")
    assert not control_characters(hostile)
    assert "\\x1b[31mred" in hostile or kind == "archive"  # shown, not interpreted
    assert terminal(HOSTILE.tier) in hostile


@pytest.mark.parametrize("kind", KINDS)
def test_dotenv_of_hostile_names_is_one_safe_line_per_variable(kind: str) -> None:
    hostile = dataclasses.replace(report(kind, HOSTILE), tier=HOSTILE.tier + "\n\x1b[2JX=1")
    lines = dotenv_lines(hostile, ".firsttry/bench_proof.json")
    assert len(lines) == len(dotenv_lines(report(kind, BENIGN), ".firsttry/bench_proof.json"))
    assert all(re.fullmatch(r"FT_BENCH_[A-Z0-9_]+=[^\n]*", line) for line in lines)
    assert not control_characters("\n".join(lines))
    assert f"FT_BENCH_TIER={dotenv_value(hostile.tier)}" in lines
    assert "FT_BENCH_TIER=lite` ``x <img src=x onerror=alert(1)> \\x1b[2JX=1" in lines


def test_plain_progress_lines_stay_single_lines() -> None:
    out = io.StringIO()
    shown = progress.PlainProgress(out=out, interval=0)
    shown.phase("warm", 2)
    shown.step("warm", 1, HOSTILE.step)
    shown.heartbeat()
    shown.sample("warm", 1, 2, 0.5, ok=False)
    shown.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("[ftbench] ") for line in lines)
    assert not control_characters(out.getvalue())
    assert terminal(HOSTILE.step) in lines[1]


def test_rich_progress_shows_markup_in_names_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bar = progress.RichProgress()
    bar.phase("warm", 2)
    bar.step("warm", 1, "[bold red]x[/bold red] \x1b]0;title\x07")
    bar.sample("warm", 1, 2, 0.5, ok=True)
    bar.close()
    err = capsys.readouterr().err
    assert "[bold red]x[/bold red] \\x1b]0;title\\x07" in err
    assert "\x07" not in err and "\x1b]" not in err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("out", [io.StringIO(), _Tty()], ids=["plain", "tty"])
def test_tables_show_names_as_text(out: io.StringIO) -> None:
    rows = [["branch", "tier"], [HOSTILE.branch, "[bold red]x[/bold red] \x1b]0;t\x07 \r:smile:"]]
    tables.print_table(rows, out, title="[red]title", footer=["note: [b]y\x1b[2J"])
    text = out.getvalue()
    for shown in ("[bold red]x[/bold red]", "\\x1b]0;t\\x07", ":smile:", "[red]title"):
        assert shown in text
    assert "note: [b]y\\x1b[2J" in text
    assert "\x07" not in text and "\r" not in text and "\x1b]" not in text
    if not out.isatty():
        assert not control_characters(text)


def test_workflow_annotation_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    base = report("archive", BENIGN)
    assert base.regression is not None
    verdict = dataclasses.replace(
        base.regression, verdict="no baseline", reason="branch x%0A::error::y\n::error::z"
    )
    environment = dataclasses.replace(base.environment, ci="github-actions")
    run._warn_no_baseline(dataclasses.replace(base, regression=verdict, environment=environment))
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and out.startswith("::warning title=ftbench: no baseline::")
    assert "x%250A::error::y ::error::z" in out
    assert err.count("\n") == 1


HOSTILE_TIER = "lite<img src=x onerror=alert(1)>|x\n## H @octocat #1 \x1b[2J"
HOSTILE_STEP = "st|ep\n- item `tick` <!-- [bold]b\x1b]0;t\x07"
HOSTILE_BRANCH = "feat/<img/src=x/onerror=alert(1)>|@octocat#1`x!7"


def _toml(text: str) -> str:
    escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in text)
    return f'"{escaped}"'


def test_a_run_with_hostile_names_end_to_end(
    repo_factory: Callable[..., Path],
    run_git: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``ft-bench run`` (plain, then judged against the archive), ``tiers`` and a failing
    step, with a hostile tier, step and branch: stdout, progress on stderr, error lines,
    bench_proof.md, the job summary and bench_report.env."""
    config = (
        f"[tiers.{_toml(HOSTILE_TIER)}]\n\n[[tiers.{_toml(HOSTILE_TIER)}.steps]]\n"
        f'name = {_toml(HOSTILE_STEP)}\ncmd = ["true"]\n\n'
        f'[tiers.bad]\n\n[[tiers.bad.steps]]\nname = {_toml(HOSTILE_STEP)}\ncmd = ["false"]\n'
    )
    repo = repo_factory(tmp_path / "repo", config)
    run_git(repo, "checkout", "-q", "-b", HOSTILE_BRANCH)
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_", "GITLAB")):
            monkeypatch.delenv(name, raising=False)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo)
    fast = ["--runs", "2", "--cold-runs", "1", "--warmup", "0", "--progress", "always"]
    written = []
    for baseline in (["--baseline", "none"], []):
        assert cli.main(["run", "--tier", HOSTILE_TIER, *fast, *baseline]) == 0
        out, err = capsys.readouterr()
        assert not control_characters(out + err), (out, err)
        assert out.splitlines()[0].startswith("ftbench: ")
        assert terminal(HOSTILE_TIER) in out
        assert [line for line in err.splitlines() if line.startswith("[ftbench]")]
        markdown = (repo / ".firsttry" / "bench_proof.md").read_text()
        written.append(markdown)
        rendered = _check_markdown(markdown)
        seen = _shown(rendered)
        assert all(terminal(n).strip() in seen for n in (HOSTILE_TIER, HOSTILE_STEP))
        assert HOSTILE_BRANCH in seen
        env = (repo / ".firsttry" / "bench_report.env").read_text().splitlines()
        assert all(re.fullmatch(r"FT_BENCH_[A-Z0-9_]+=[^\n]*", line) for line in env)
        assert not control_characters("\n".join(env))
    assert "Verdict:** not judged" not in markdown  # the second run was judged
    assert summary.read_text() == "".join(m + "\n" for m in written)  # the same Markdown
    assert cli.main(["tiers"]) == 0
    out, _ = capsys.readouterr()
    assert not control_characters(out) and terminal(HOSTILE_STEP) in out
    assert cli.main(["run", "--tier", "bad", *fast, "--baseline", "none"]) == 3
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("ft-bench: error:")]
    assert len(errors) == 1 and terminal(HOSTILE_STEP) in errors[0], err
    assert not control_characters(out + err)
