"""ftbench.measure.config: tiers from ftbench.toml / [tool.ftbench], built-in tiers, --cmd."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftbench.errors import ConfigError, SetupError
from ftbench.measure import config, tools

TWO_STEPS = """
[tiers.lite]
description = "quick"

[[tiers.lite.steps]]
name = "lint"
cmd = ["ruff", "check", "--tier={tier}", "{mode}"]
cache = [".ruff_cache"]
env = { RUFF_X = "{tier}-{mode}" }

[[tiers.lite.steps]]
name = "shell"
cmd = "echo {tier} {python} && true"
shell = true
clear = "rm -rf .x"
cache = "single/path"
"""


def write(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    return root


def test_ftbench_toml_tiers(tmp_path: Path) -> None:
    root = write(tmp_path, "ftbench.toml", TWO_STEPS)
    tiers = tools.available_tiers(root)
    assert list(tiers) == ["lite"]
    lite = tiers["lite"]
    assert lite.kind == "tier"
    assert lite.source == "ftbench.toml"
    assert lite.description == "quick"
    lint, shell = lite.steps
    assert lint.argv("lite", "fast") == ["ruff", "check", "--tier=lite", "fast"]
    assert lint.cache == (".ruff_cache",)
    assert lint.env_for("lite", "fast") == {"RUFF_X": "lite-fast"}
    assert shell.shell
    assert shell.cache == ("single/path",)
    argv = shell.argv("pro", "full")
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv[2] == f"echo pro {shlex.quote(sys.executable)} && true"
    assert shell.clear_argv("pro", "full") == ["/bin/sh", "-c", "rm -rf .x"]
    assert lint.clear_argv("lite", "fast") is None


def test_string_command_without_shell_is_split(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "ftbench.toml",
        """
[[tiers.t.steps]]
name = "s"
cmd = "{python} -c 'print(1)' --tier {tier}"
""",
    )
    step = tools.available_tiers(root)["t"].steps[0]
    assert step.argv("t", "normal") == [sys.executable, "-c", "print(1)", "--tier", "t"]


def test_pyproject_tool_ftbench(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "pyproject.toml",
        """
[project]
name = "x"

[[tool.ftbench.tiers.pro.steps]]
name = "a"
cmd = ["true"]
""",
    )
    tiers = tools.available_tiers(root)
    assert tiers["pro"].source == "pyproject.toml [tool.ftbench]"
    assert tiers["lite"].source.startswith("built-in")  # configuring pro keeps built-in lite


def test_ftbench_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[[tool.ftbench.tiers.pro.steps]]\nname="a"\ncmd="x"\n')
    write(tmp_path, "ftbench.toml", '[[tiers.lite.steps]]\nname="b"\ncmd="y"\n')
    tiers = tools.available_tiers(tmp_path)
    assert tiers["lite"].source == "ftbench.toml"
    assert tiers["pro"].source.startswith("built-in")  # not the pyproject's pro


def test_projects_own_pyproject_configures_lite_and_pro() -> None:
    root = Path(__file__).resolve().parents[1]
    tiers = tools.available_tiers(root)
    assert {"lite", "pro"} <= set(tiers)
    tools.check_commands(tiers["lite"], "normal", root)


def test_placeholders_in_project_tier(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "ftbench.toml",
        """
[[tiers.lite.steps]]
name = "firsttry"
cmd = "firsttry run {mode} --tier {tier}"
""",
    )
    step = tools.available_tiers(root)["lite"].steps[0]
    assert step.argv("lite", "fast") == ["firsttry", "run", "fast", "--tier", "lite"]


BAD_CONFIGS = {
    "invalid toml": "[tiers.lite\n",
    "tiers not a table": "tiers = 3\n",
    "tier not a table": "[tiers]\nlite = 1\n",
    "no steps": "[tiers.lite]\ndescription = 'x'\n",
    "empty steps": "[tiers.lite]\nsteps = []\n",
    "step not a table": "[tiers.lite]\nsteps = ['ruff']\n",
    "unknown key": "[[tiers.lite.steps]]\nname='a'\ncmd='x'\ncahce=['.c']\n",
    "missing name": "[[tiers.lite.steps]]\ncmd='x'\n",
    "blank name": "[[tiers.lite.steps]]\nname='  '\ncmd='x'\n",
    "name not a string": "[[tiers.lite.steps]]\nname=1\ncmd='x'\n",
    "missing cmd": "[[tiers.lite.steps]]\nname='a'\n",
    "empty cmd": "[[tiers.lite.steps]]\nname='a'\ncmd=''\n",
    "empty cmd list": "[[tiers.lite.steps]]\nname='a'\ncmd=[]\n",
    "cmd wrong type": "[[tiers.lite.steps]]\nname='a'\ncmd=5\n",
    "cmd list of ints": "[[tiers.lite.steps]]\nname='a'\ncmd=[1, 2]\n",
    "shell not bool": "[[tiers.lite.steps]]\nname='a'\ncmd='x'\nshell='yes'\n",
    "cache wrong type": "[[tiers.lite.steps]]\nname='a'\ncmd='x'\ncache=5\n",
    "cache blank": "[[tiers.lite.steps]]\nname='a'\ncmd='x'\ncache=['']\n",
    "env wrong type": "[[tiers.lite.steps]]\nname='a'\ncmd='x'\nenv={A=1}\n",
    "clear wrong type": "[[tiers.lite.steps]]\nname='a'\ncmd='x'\nclear=true\n",
    "duplicate names": "[[tiers.lite.steps]]\nname='a'\ncmd='x'\n"
    "[[tiers.lite.steps]]\nname='a'\ncmd='y'\n",
    "description not a string": "[tiers.lite]\ndescription=1\n"
    "[[tiers.lite.steps]]\nname='a'\ncmd='x'\n",
}


@pytest.mark.parametrize("text", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_configuration_is_one_line_config_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, "ftbench.toml", text)
    with pytest.raises(ConfigError) as caught:
        tools.resolve_target(tmp_path, tier="lite", cmd=None)
    message = str(caught.value)
    assert message
    assert "\n" not in message
    assert "ftbench.toml" in message
    assert caught.value.exit_code == 5


@pytest.mark.parametrize(
    "text",
    [
        "[tool]\nftbench = 3\n",
        "tool = 3\n",
        "tool = 'x'\n",
        "[tool.ftbench]\ntiers = []\n",
        "[project\n",
    ],
    ids=["ftbench-not-table", "tool-int", "tool-str", "tiers-list", "invalid"],
)
def test_bad_pyproject_is_config_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, "pyproject.toml", text)
    with pytest.raises(ConfigError) as caught:
        tools.available_tiers(tmp_path)
    assert "\n" not in str(caught.value)


def test_unreadable_config_is_config_error(tmp_path: Path) -> None:
    (tmp_path / "ftbench.toml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ConfigError):
        tools.available_tiers(tmp_path)


def test_unknown_tier_is_setup_error_listing_available(tmp_path: Path) -> None:
    write(tmp_path, "ftbench.toml", TWO_STEPS)
    with pytest.raises(SetupError) as caught:
        tools.resolve_target(tmp_path, tier="nope", cmd=None)
    assert "unknown tier 'nope'" in str(caught.value)
    assert "lite" in str(caught.value)
    assert caught.value.exit_code == 5


def test_default_tier_is_lite(tmp_path: Path) -> None:
    write(tmp_path, "ftbench.toml", TWO_STEPS)
    assert tools.resolve_target(tmp_path, tier=None, cmd=None).tier == "lite"


def test_cmd_target(tmp_path: Path) -> None:
    target = tools.resolve_target(tmp_path, tier=None, cmd="echo hi there", cache=["c1", "c2"])
    assert target.kind == "cmd"
    assert target.tier == "cmd"
    (step,) = target.steps
    assert step.argv("cmd", "normal") == ["echo", "hi", "there"]
    assert step.cache == ("c1", "c2")
    shell = tools.resolve_target(tmp_path, tier=None, cmd="echo $HOME", shell=True)
    assert shell.steps[0].argv("cmd", "normal") == ["/bin/sh", "-c", "echo $HOME"]
    with pytest.raises(ConfigError):
        tools.resolve_target(tmp_path, tier=None, cmd="   ")


def test_cmd_ignores_broken_configuration(tmp_path: Path) -> None:
    write(tmp_path, "ftbench.toml", "[broken\n")
    assert tools.resolve_target(tmp_path, tier=None, cmd="true").kind == "cmd"


def test_config_hash_is_stable_and_sensitive(tmp_path: Path) -> None:
    a = tools.resolve_target(tmp_path, tier=None, cmd="echo a")
    assert a.config_hash() == tools.resolve_target(tmp_path, tier=None, cmd="echo a").config_hash()
    assert a.config_hash() != tools.resolve_target(tmp_path, tier=None, cmd="echo b").config_hash()
    assert len(a.config_hash()) == 16
    int(a.config_hash(), 16)


def test_check_commands(tmp_path: Path) -> None:
    ok = tools.resolve_target(tmp_path, tier=None, cmd="true")
    tools.check_commands(ok, "normal", tmp_path)
    missing = tools.resolve_target(tmp_path, tier=None, cmd="ftbench-no-such-program-xyz -v")
    with pytest.raises(SetupError, match="command not found: ftbench-no-such-program-xyz"):
        tools.check_commands(missing, "normal", tmp_path)
    relative = tools.resolve_target(tmp_path, tier=None, cmd="./run.sh")
    with pytest.raises(SetupError, match="command not found"):
        tools.check_commands(relative, "normal", tmp_path)
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    tools.check_commands(relative, "normal", tmp_path)
    unbalanced = tools.resolve_target(tmp_path, tier=None, cmd="echo 'oops")
    with pytest.raises(ConfigError, match="cannot parse"):
        tools.check_commands(unbalanced, "normal", tmp_path)


# --- built-in tiers: deterministic by controlling PATH ------------------------------------


def _fake_bin(tmp_path: Path, *names: str) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        exe = bin_dir / name
        exe.write_text("#!/bin/sh\necho fake\n")
        exe.chmod(0o755)
    return bin_dir


def test_builtin_tiers_with_ruff_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "repo", "pyproject.toml", "[project]\nname='x'\n")
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path, "ruff")))
    monkeypatch.delenv("VIRTUAL_ENV")
    tiers = tools.available_tiers(root)
    assert [s.name for s in tiers["lite"].steps] == ["ruff"]
    assert [s.name for s in tiers["pro"].steps] == ["ruff"]  # no tests dir: no pytest
    assert tiers["lite"].source.startswith("built-in")


def test_builtin_pro_has_ruff_mypy_pytest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "repo", "setup.py", "")
    (root / "tests").mkdir()
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path, "ruff", "mypy")))
    tiers = tools.available_tiers(root)
    assert [s.name for s in tiers["pro"].steps] == ["ruff", "mypy", "pytest"]
    assert tiers["pro"].steps[2].argv("pro", "normal")[0] == sys.executable


def test_builtin_firsttry_tier_interface(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "repo", "pyproject.toml", "[project]\nname='x'\n")
    bin_dir = _fake_bin(tmp_path, "ruff")
    (bin_dir / "firsttry").write_text("#!/bin/sh\necho 'usage: firsttry run MODE [--tier T]'\n")
    (bin_dir / "firsttry").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("VIRTUAL_ENV")
    tiers = tools.available_tiers(root)
    assert tiers["pro"].steps[0].argv("pro", "fast") == ["firsttry", "run", "fast", "--tier", "pro"]
    assert tiers["pro"].steps[0].cache == tools.FIRSTTRY_CACHES
    assert [s.name for s in tiers["python-lite"].steps] == ["ruff"]  # kept beside FirstTry


def test_no_builtin_tiers_without_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "repo", "pyproject.toml", "[project]\nname='x'\n")
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path)))
    monkeypatch.delenv("VIRTUAL_ENV")
    assert tools.available_tiers(root) == {}
    with pytest.raises(SetupError, match="available: none"):
        tools.resolve_target(root, tier=None, cmd=None)
    non_python = tmp_path / "other"
    non_python.mkdir()
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path, "ruff")))
    assert tools.available_tiers(non_python) == {}


# --- property tests: any TOML gives tiers or a one-line ConfigError -----------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False)
)
_keys = st.sampled_from(
    ["name", "cmd", "shell", "cache", "clear", "env", "steps", "description", "tiers", "x"]
)


def _tomlable(value: Any) -> Any:
    """Drop None (TOML has no null)."""
    if isinstance(value, dict):
        return {k: _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_tomlable(v) for v in value if v is not None]
    return value


_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(_keys | st.text(max_size=4), children, max_size=4),
    ),
    max_leaves=12,
)

_step = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=6), _values),
        "cmd": st.one_of(st.text(max_size=12), st.lists(st.text(max_size=6), max_size=3), _values),
        "shell": st.one_of(st.booleans(), _values),
        "cache": st.one_of(st.lists(st.text(max_size=6), max_size=2), _values),
        "clear": st.one_of(st.text(max_size=6), _values),
        "env": st.one_of(
            st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2), _values
        ),
        "bogus": _values,
    },
)
_tier = st.one_of(
    st.fixed_dictionaries(
        {"steps": st.lists(st.one_of(_step, _values), max_size=3)},
        optional={"description": st.one_of(st.text(), _values)},
    ),
    _values,
)
_table = st.fixed_dictionaries(
    {},
    optional={
        "tiers": st.one_of(
            st.dictionaries(st.text(min_size=1, max_size=5), _tier, max_size=3), _values
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(_table)
def test_parse_tiers_gives_targets_or_one_line_config_error(table: dict[str, Any]) -> None:
    table = _tomlable(table)
    try:
        tiers = config.parse_tiers(table, "ftbench.toml")
    except ConfigError as exc:
        assert str(exc)
        assert "\n" not in str(exc)
        return
    for name, target in tiers.items():
        assert isinstance(target, config.Target)
        assert target.tier == name
        assert target.steps
        for step in target.steps:
            assert isinstance(step.name, str) and step.name
            assert len(target.config_hash()) == 16


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.lists(
            st.sampled_from(
                [
                    "[tiers.lite]\n",
                    "[[tiers.lite.steps]]\n",
                    "name = 'a'\n",
                    "cmd = ['true']\n",
                    "cmd = 'echo {tier}'\n",
                    "cmd = 3\n",
                    "shell = true\n",
                    "cache = ['.c']\n",
                    "cache = 1\n",
                    "env = { A = 'b' }\n",
                    "env = { A = 1 }\n",
                    "clear = 'x'\n",
                    "tiers = 1\n",
                    "[tiers]\n",
                    "lite = 2\n",
                    "steps = []\n",
                    "steps = [1]\n",
                    "description = 'd'\n",
                    "unknown = 1\n",
                    "[tiers.pro]\n",
                    "[[tiers.pro.steps]]\n",
                    "[tool]\n",
                    "tool = 1\n",
                    "ftbench = 1\n",
                    "[tool.ftbench]\n",
                    "=\n",
                    "[\n",
                ]
            ),
            max_size=12,
        ).map("".join),
    ),
    filename=st.sampled_from(["ftbench.toml", "pyproject.toml"]),
)
def test_loading_any_file_gives_tiers_or_config_error(
    tmp_path: Path, text: str, filename: str
) -> None:
    root = tmp_path / "hyp"
    root.mkdir(exist_ok=True)
    for name in ("ftbench.toml", "pyproject.toml"):
        (root / name).unlink(missing_ok=True)
    (root / filename).write_text(text, encoding="utf-8")
    old_path = os.environ.get("PATH", "")
    try:
        os.environ["PATH"] = str(tmp_path / "no-bin")  # built-in tiers: deterministic, none
        tiers = tools.available_tiers(root)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    finally:
        os.environ["PATH"] = old_path
    for target in tiers.values():
        assert isinstance(target, config.Target)


def test_python_placeholder_survives_spaces_in_interpreter_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "/opt/my python/bin/python3")
    split = config.Step("s", "{python} -m pytest")
    assert split.argv("t", "normal") == ["/opt/my python/bin/python3", "-m", "pytest"]
    shell = config.Step("s", "{python} -m pytest", shell=True)
    assert shell.argv("t", "normal")[2] == "'/opt/my python/bin/python3' -m pytest"
    listed = config.Step("s", ("{python}", "-m", "pytest"))
    assert listed.argv("t", "normal")[0] == "/opt/my python/bin/python3"
