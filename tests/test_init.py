"""``ft-bench init`` (issue 20): a tier of the repository's own checks as the default tier,
the CI file that runs it (docs/ci.md's recipes), nothing replaced without ``--force``, odd and
hostile repositories handled."""

from __future__ import annotations

import errno
import re
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

from ftbench.adopt import recipes
from ftbench.cli import app as cli
from ftbench.measure import tools

DOCS = Path(__file__).resolve().parents[1] / "docs" / "ci.md"
INSTALL = "pip install -e . pytest"


def _exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A foreign project: src layout, tests, its .venv's python (this one: it has pytest), no
    ruff or mypy on PATH."""
    root = tmp_path / "proj"
    (root / "src" / "samplelib").mkdir(parents=True)
    (root / "src" / "samplelib" / "__init__.py").write_text("")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "samplelib"\nversion = "0.1"\n\n[tool.mypy]\nstrict = true\n'
    )
    _exe(root / ".venv" / "bin" / "python", f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    monkeypatch.delenv("VIRTUAL_ENV")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return root


def _init(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["init", "--repo", str(root), *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_init_writes_the_project_checks_as_the_default_tier(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (repo / "pyproject.toml").read_text()
    code, out = _init(repo, capsys)
    assert code == 0, out
    after = (repo / "pyproject.toml").read_text()
    assert after.startswith(before)  # every byte kept, the tier added
    table = tomllib.loads(after)["tool"]["ftbench"]
    assert table["default_tier"] == "checks"
    (step,) = table["tiers"]["checks"]["steps"]
    assert step == {
        "name": "pytest",
        "cmd": ["{python}", "-m", "pytest", "-q"],
        "cache": [".pytest_cache"],
        "pycache": True,
    }
    assert f"interpreter: {repo / '.venv' / 'bin' / 'python'} (from project .venv" in out
    assert "pytest: {python} -m pytest -q  (tests/ found," in out
    assert "mypy left out: configured ([tool.mypy] in pyproject.toml) but not installed" in out
    assert "wrote pyproject.toml: tier 'checks'" in out
    assert tools.resolve_target(repo, tier=None, cmd=None).tier == "checks"  # the default
    code = cli.main(["run", "--repo", str(repo), "--mode", "fast", "--baseline", "none"])
    assert code == 0, capsys.readouterr()
    assert "checks tier" in capsys.readouterr().out

    # again: the tier is kept, nothing written
    code, out = _init(repo, capsys)
    assert code == 5 and "already has a tier 'checks': kept (--force replaces it" in out
    assert (repo / "pyproject.toml").read_text() == after
    # --force replaces the tier, and only it
    code, out = _init(repo, capsys, "--force")
    assert code == 0 and "tier 'checks' replaced (--force)" in out
    assert (repo / "pyproject.toml").read_text() == after


def test_configured_and_installed_tools_become_steps(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for tool in ("ruff", "mypy"):
        _exe(repo / ".venv" / "bin" / tool, "#!/bin/sh\nexit 0\n")
    (repo / "ruff.toml").write_text("line-length = 100\n")
    code, out = _init(repo, capsys, "--tier", "pre push")
    assert code == 0, out
    table = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["ftbench"]
    steps = table["tiers"]["pre push"]["steps"]
    assert [s["cmd"] for s in steps] == [
        ["ruff", "check", "."],
        ["mypy", "src"],
        ["{python}", "-m", "pytest", "-q"],
    ]
    assert table["default_tier"] == "pre push"


def test_without_pyproject_a_new_ftbench_toml(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "pyproject.toml").unlink()
    (repo / "setup.py").write_text("")
    code, out = _init(repo, capsys)
    assert code == 0, out
    text = (repo / "ftbench.toml").read_text()
    assert text.startswith('default_tier = "checks"\n\n[tiers.checks]\n')
    assert tools.resolve_target(repo, tier=None, cmd=None).tier == "checks"


def test_an_existing_table_gets_the_default_under_its_header(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (repo / "pyproject.toml").open("a") as fh:
        fh.write(
            '\n[tool.ftbench]\n\n[[tool.ftbench.tiers.lint.steps]]\nname = "x"\ncmd = "true"\n'
        )
    code, out = _init(repo, capsys)
    assert code == 0, out
    table = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["ftbench"]
    assert set(table["tiers"]) == {"lint", "checks"} and table["default_tier"] == "checks"
    # another default is kept without --force
    (repo / "pyproject.toml").write_text(
        (repo / "pyproject.toml")
        .read_text()
        .replace('default_tier = "checks"', 'default_tier = "lint"')
    )
    code, out = _init(repo, capsys, "--tier", "more")
    assert code == 0 and "default_tier stays 'lint' (--force makes it 'more')" in out


def test_hostile_and_odd_repositories(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a pyproject.toml that is a link out of the repository is never written through
    outside = tmp_path / "outside.toml"
    outside.write_text((repo / "pyproject.toml").read_text())
    (repo / "pyproject.toml").unlink()
    (repo / "pyproject.toml").symlink_to(outside)
    before = outside.read_text()
    code, out = _init(repo, capsys)
    assert (
        code == 5 and "pyproject.toml is a symbolic link: ftbench does not write through it" in out
    )
    assert outside.read_text() == before
    assert "Traceback" not in out
    # nor a CI folder that is a link
    (repo / "pyproject.toml").unlink()
    (repo / ".github").symlink_to(tmp_path)
    code, out = _init(repo, capsys, "--ci", "github")
    assert code == 5 and "refusing" in out and not (tmp_path / "workflows").exists()
    assert not (repo / "ftbench.toml").exists()  # refused before anything was written
    (repo / ".github").unlink()
    # invalid TOML: one line, nothing written
    (repo / "pyproject.toml").write_text("[project\n")
    code, out = _init(repo, capsys)
    assert code == 5 and "pyproject.toml: invalid TOML, nothing written" in out
    assert (repo / "pyproject.toml").read_text() == "[project\n"


def test_a_read_only_repository_is_one_line(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder ftbench may not write in (as a user other than root sees a read-only one)."""

    def refused(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    before = (repo / "pyproject.toml").read_text()
    monkeypatch.setattr(tempfile, "mkstemp", refused)
    code, out = _init(repo, capsys)
    assert code == 5 and "cannot write pyproject.toml: Permission denied" in out
    assert "Traceback" not in out and (repo / "pyproject.toml").read_text() == before


def test_ci_files_are_the_docs_recipes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "tests" / "requirements.txt").write_text("")
    for kind, path in recipes.FILES.items():
        code, out = _init(repo, capsys, "--ci", kind, "--force")
        assert code == 0, out
        written = (repo / path).read_text()
        assert written == recipes.render(kind, INSTALL).text
        block = re.search(rf"<!-- recipe: {kind} -->\n```\w*\n(.*?)```", DOCS.read_text(), re.S)
        assert block is not None and block.group(1) == written, kind
        assert f"wrote {path} ({recipes.lines(written)} lines)" in out
        assert recipes.lines(written) <= 10
    # an existing CI file is kept (its recipe printed), --print writes nothing
    (repo / ".gitlab-ci.yml").write_text("stages: [test]\n")
    code, out = _init(repo, capsys, "--ci", "gitlab", "--tier", "other")
    assert code == 0 and ".gitlab-ci.yml exists: kept (--force replaces it)" in out
    assert (repo / ".gitlab-ci.yml").read_text() == "stages: [test]\n"
    before = (repo / "pyproject.toml").read_text()
    code, out = _init(repo, capsys, "--ci", "github", "--tier", "third", "--print", "--force")
    assert code == 0 and "--- .github/workflows/ftbench.yml (10 lines)" in out
    assert (repo / "pyproject.toml").read_text() == before


def test_source_fills_in_where_ftbench_comes_from() -> None:
    github = recipes.render("github", INSTALL, "https://github.com/o/ftbench", "v9")
    assert "uses: o/ftbench@v9" in github.text and not github.todo
    gitlab = recipes.render("gitlab", 'pip install -e ".[test]"', "https://gl.example/g/ftbench")
    assert "remote: https://gl.example/g/ftbench/-/raw/v" in gitlab.text
    assert 'FTBENCH_INSTALL: "pip install -e \\".[test]\\""' in gitlab.text
    assert recipes.render("pre-commit", "").todo.startswith("replace https://<host>/<owner>")
    bare = recipes.render("github", "")
    assert "install" not in bare.text  # nothing to install: no input


def test_the_documented_line_counts_are_true(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/ci.md's table of what a user writes, per recipe, and what init writes."""
    text = DOCS.read_text()
    for kind, row in (
        ("github", "GitHub Actions"),
        ("gitlab", "GitLab CI"),
        ("pre-commit", "pre-commit"),
        ("docker", "Docker, your project's image"),
    ):
        block = re.search(rf"<!-- recipe: {kind} -->\n```\w*\n(.*?)```", text, re.S)
        assert block is not None
        count = recipes.lines(block.group(1))
        assert f"| {row} | {count} (" in text, (kind, count)
        assert count <= 10
    assert _init(repo, capsys)[0] == 0
    written = (repo / "pyproject.toml").read_text().split("[tool.mypy]\nstrict = true\n")[1]
    assert recipes.lines(written) == 9 and "| 9 (the tier) |" in text
