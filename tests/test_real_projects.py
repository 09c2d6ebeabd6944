"""Issue 10, real projects as they are: the user's interpreter, cold that is cold (globs and
Python bytecode), failing linters, missing tools, FirstTry's real CLI, prompts on stdin,
reading results. Real processes where the behaviour is about them; each test is quick."""

from __future__ import annotations

import dataclasses
import io
import os
import sys
from pathlib import Path

import pytest

from factory import keyed, make_report, noisy
from ftbench.cli import app as cli
from ftbench.cli.progress import PlainProgress, clock_text
from ftbench.cli.run import _warn_warm_slower
from ftbench.errors import ConfigError, SetupError
from ftbench.measure import config, interpreter, tools
from ftbench.measure.config import Step, Target
from ftbench.measure.runner import Runner, RunSettings

# `firsttry run --help` of firsttry-run 0.1.9 (the current release), and its licence prompt
FIRSTTRY_HELP = """usage: firsttry run [-h] [--level {1,2,3,4}]

options:
  -h, --help         show this help message and exit
  --level {1,2,3,4}  1=autofix basics, 2=types+tests, 3=team hygiene, 4=CI-
                     grade
"""
FAKE_FIRSTTRY = f"""#!{sys.executable}
import sys
if sys.argv[1:3] == ["run", "--help"]:
    print({FIRSTTRY_HELP!r}); sys.exit(0)
if sys.argv[1:3] == ["run", "--level"] and len(sys.argv) == 4:
    import os, pathlib
    if not os.environ.get("FIRSTTRY_LICENSE_KEY"):
        print("FirstTry needs a trial license key to start your 3-day trial.")
        key = input("    Enter license key: ")
    pathlib.Path(".firsttry").mkdir(exist_ok=True)
    pathlib.Path(".firsttry/cache.json").write_text("{{}}")
    sys.exit(0)
print("usage: firsttry [-h] {{run,activate,status,install-hooks}} ...", file=sys.stderr)
sys.exit(2)
"""


def _exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _project(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    return root


def settings(**kw: object) -> RunSettings:
    base: dict[str, object] = {"mode": "custom", "cold_runs": 3, "warm_runs": 2, "warmup": 1}
    base.update(kw)
    return RunSettings(**base)  # type: ignore[arg-type]


def measure(root: Path, *steps: Step, **kw: object) -> tuple[Runner, object]:
    runner = Runner(Target("tier", "t", steps, "test"), settings(**kw), root, root / ".ft" / "a")
    return runner, runner.run()


# --- 2. the user's interpreter -------------------------------------------------------------


def test_interpreter_order(tmp_path: Path) -> None:
    venv = _exe(tmp_path / "active" / "bin" / "python", "#!/bin/sh\n").parent.parent
    project = _exe(tmp_path / "repo" / ".venv" / "bin" / "python", "#!/bin/sh\n").parents[2]
    on_path = _exe(tmp_path / "userbin" / "python3", "#!/bin/sh\n").parent
    env = {"PATH": f"{on_path}{os.pathsep}/usr/bin", "VIRTUAL_ENV": str(venv)}
    active = interpreter.find(project, env)
    assert (active.python, active.origin) == (str(venv / "bin" / "python"), "VIRTUAL_ENV")
    assert interpreter.command_path(active, env).split(os.pathsep)[0] == str(venv / "bin")
    del env["VIRTUAL_ENV"]
    own = interpreter.find(project, env)
    assert (own.python, own.origin) == (str(project / ".venv" / "bin" / "python"), "project .venv")
    bare = interpreter.find(tmp_path, env)  # no .venv: the first python on the user's PATH
    assert (bare.python, bare.origin, bare.venv_bin) == (str(on_path / "python3"), "PATH", None)
    assert interpreter.command_path(bare, env) == env["PATH"]  # ftbench's venv never added
    assert interpreter.find(tmp_path, {"PATH": str(tmp_path / "empty")}).python is None


def test_python_placeholder_and_path_are_the_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _project(tmp_path / "repo")
    _exe(repo / ".venv" / "bin" / "python", f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    _exe(repo / ".venv" / "bin" / "ruff", "#!/bin/sh\necho ruff 0.0.0\n")
    monkeypatch.delenv("VIRTUAL_ENV")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    tiers = tools.available_tiers(repo)
    assert tiers["lite"].steps[0].argv("lite", "normal") == ["ruff", "check", "."]
    pro = tiers["pro"]
    assert [s.name for s in pro.steps] == ["ruff", "pytest"]  # no mypy in the project
    assert pro.steps[1].argv("pro", "normal")[0] == str(repo / ".venv" / "bin" / "python")
    assert pro.path.split(os.pathsep)[0] == str(repo / ".venv" / "bin")
    notes = tools.builtin_tiers(repo, pro.interp, pro.path).notes  # type: ignore[arg-type]
    why = "from project .venv: no other virtual environment active"
    assert f"interpreter: {repo / '.venv' / 'bin' / 'python'} ({why})" in notes
    assert "mypy left out: not found on the commands' PATH (pip install mypy)" in notes


def test_pytest_left_out_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _project(tmp_path / "repo")
    venv = tmp_path / "venv"
    _exe(venv / "bin" / "python", "#!/bin/sh\nexit 1\n")  # cannot import anything
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    built = tools.builtin_tiers(repo, interpreter.find(repo, os.environ), "/usr/bin:/bin")
    assert f"pytest left out: {venv / 'bin' / 'python'} cannot import pytest" in built.notes


# --- 4. a missing tool is a setup error ----------------------------------------------------


def test_missing_or_not_executable_program_is_exit_5_before_any_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _project(tmp_path / "repo")
    (repo / "ftbench.toml").write_text(
        '[[tiers.pro.steps]]\nname = "ruff"\ncmd = ["ruff", "check", "."]\n'
        '[[tiers.x.steps]]\nname = "x"\ncmd = ["./run.sh"]\n'
        '[[tiers.m.steps]]\nname = "m"\ncmd = ["{python}", "-m", "no_such_module_ftbench"]\n'
    )
    (repo / "run.sh").write_text("#!/bin/sh\n")  # exists, not executable
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ruff").write_text("#!/bin/sh\n")  # on PATH, not executable
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.delenv("VIRTUAL_ENV")
    code = cli.main(["run", "--repo", str(repo), "--tier", "pro", "--progress", "never"])
    err = capsys.readouterr().err
    assert code == 5 and f"not executable: {bin_dir / 'ruff'}" in err
    (bin_dir / "ruff").unlink()
    assert cli.main(["run", "--repo", str(repo), "--tier", "pro"]) == 5
    err = capsys.readouterr().err
    assert "step 'ruff': command not found: ruff; install it: pip install ruff" in err
    assert not (repo / ".firsttry" / "bench_proof.json").exists()  # nothing ran
    assert cli.main(["run", "--repo", str(repo), "--tier", "x"]) == 5
    assert "not executable: ./run.sh" in capsys.readouterr().err
    assert cli.main(["run", "--repo", str(repo), "--tier", "m"]) == 5
    assert "cannot import no_such_module_ftbench; install it:" in capsys.readouterr().err


# --- 5. FirstTry ---------------------------------------------------------------------------


def test_firsttry_levels_detected_from_its_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _project(tmp_path / "repo")
    bin_dir = _exe(tmp_path / "bin" / "firsttry", FAKE_FIRSTTRY).parent
    _exe(bin_dir / "ruff", "#!/bin/sh\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.delenv("VIRTUAL_ENV")
    found = tools.detect_firsttry(os.environ["PATH"])
    assert found is not None and (found.interface, found.levels) == ("level", ("1", "2", "3", "4"))
    tiers = tools.available_tiers(repo)
    assert tiers["lite"].steps[0].argv("lite", "fast") == ["firsttry", "run", "--level", "1"]
    assert tiers["pro"].steps[0].argv("pro", "fast") == ["firsttry", "run", "--level", "2"]
    assert tiers["firsttry-4"].steps[0].argv("firsttry-4", "fast")[-1] == "4"
    assert tiers["pro"].steps[0].cache == tools.FIRSTTRY_CACHES
    assert [s.name for s in tiers["python-lite"].steps] == ["ruff"]  # kept beside FirstTry


def test_firsttry_run_clears_only_its_cache_and_a_prompt_fails_fast(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_repo / "ftbench.toml").unlink()
    (tmp_repo / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    bin_dir = _exe(tmp_repo.parent / "bin" / "firsttry", FAKE_FIRSTTRY).parent
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    args = ["run", "--repo", str(tmp_repo), "--tier", "pro", "--cold-runs", "2", "--runs", "1"]
    args += ["--baseline", "none", "--progress", "never", "--quiet"]
    # no licence: FirstTry asks on stdin, which is /dev/null: exit 3 at once, a clear line
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 3
    assert "it asked for input, but samples run with stdin from /dev/null" in err
    assert "FIRSTTRY_LICENSE_KEY" in err
    monkeypatch.setenv("FIRSTTRY_LICENSE_KEY", "k")
    assert cli.main(args) == 0
    proof = (tmp_repo / ".firsttry" / "bench_proof.json").read_text()
    assert '"tier": "pro"' in proof and (tmp_repo / ".firsttry" / "cache.json").is_file()
    assert (tmp_repo / ".firsttry" / "archive").is_dir()  # ftbench's own files stay
    assert (tmp_repo / ".firsttry" / ".gitignore").read_text().splitlines()[-1] == "*"


# --- 1. cold that is cold ------------------------------------------------------------------


def test_globs_are_expanded_before_every_cold_sample(tmp_path: Path) -> None:
    # the docs' own example: from a clean tree, samples 2..N used to find sample 1's bytecode
    seen = tmp_path / "seen"
    script = (
        f"find src -name '*.pyc' | wc -l >> {seen}; "
        "mkdir -p src/pkg/__pycache__ && touch src/pkg/__pycache__/m.pyc"
    )
    step = Step("s", script, shell=True, cache=("**/__pycache__",))
    (tmp_path / "src").mkdir()
    measure(tmp_path, step)
    counts = [int(line) for line in seen.read_text().split()]
    assert counts == [0, 0, 0, 1, 1, 1]  # 3 cold (cleared), warm-up + 2 warm (kept)


def test_pycache_steps_get_a_fresh_prefix_per_cold_sample(tmp_path: Path) -> None:
    (tmp_path / "mod_ftbench_demo.py").write_text("X = 1\n")
    code = (
        "import os, sys, importlib.util as u; p = sys.pycache_prefix; "
        "n = int(os.path.exists(u.cache_from_source(os.path.abspath('mod_ftbench_demo.py')))); "
        "import mod_ftbench_demo; print(os.environ['FT_BENCH_PHASE'], n, p)"
    )
    step = Step("py", (sys.executable, "-c", code), pycache=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    os_environ = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        runner, _ = measure(tmp_path, step, cold_runs=2, warm_runs=1)
    finally:
        os.environ.clear()
        os.environ.update(os_environ)
    lines = [
        log.read_text().splitlines()[-1].split() for log in sorted(runner.artifacts.glob("*.log"))
    ]
    cold = [line for line in lines if line[0] == "cold"]
    warm = [line for line in lines if line[0] == "warm"]
    assert [n for _, n, _ in cold] == ["0", "0"]  # nothing compiled is left for them
    assert [n for _, n, _ in warm] == ["1"]  # the warm-up's bytecode is kept
    assert cold[0][2].endswith("pycache/cold") and warm[0][2].endswith("pycache/warm")
    assert not list(tmp_path.glob("__pycache__"))  # the user's tree is untouched


# --- 3. commands that exit non-zero --------------------------------------------------------


def test_ignore_failure_times_every_sample_and_keeps_exit_codes(
    tmp_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--repo", str(tmp_repo), "--cmd", "sh -c 'exit 1'", "--cold-runs", "2"]
    args += ["--runs", "3", "--baseline", "none", "--progress", "never", "--quiet"]
    assert cli.main(args) == 3  # a linter with findings stops a plain run
    assert cli.main([*args, "-i"]) == 0
    capsys.readouterr()
    proof = (tmp_repo / ".firsttry" / "bench_proof.json").read_text()
    import json

    report = json.loads(proof)
    assert report["settings"]["ignore_failure"] is True
    warm = report["runs"]["warm"]
    assert warm["elapsed_s"] is not None and len(warm["samples"]) == 3
    assert {s["exit_code"] for s in warm["samples"]} == {1}


def test_ok_exit_codes_per_step(tmp_path: Path) -> None:
    fine = Step("lint", ("sh", "-c", "exit 1"), ok_exit_codes=(0, 1))
    _, result = measure(tmp_path, fine)
    assert result.error is None  # type: ignore[attr-defined]
    assert all(s.ok for s in result.phases["warm"].samples)  # type: ignore[attr-defined]
    bad = Step("lint", ("sh", "-c", "exit 2"), ok_exit_codes=(0, 1))
    _, result = measure(tmp_path, bad)
    assert "exited with code 2" in str(result.error)  # type: ignore[attr-defined]


def test_ok_exit_codes_in_config_and_hash(tmp_path: Path) -> None:
    (tmp_path / "ftbench.toml").write_text(
        '[[tiers.t.steps]]\nname = "a"\ncmd = "true"\nok_exit_codes = [1, 0]\npycache = true\n'
    )
    step = tools.available_tiers(tmp_path, builtin=False)["t"].steps[0]
    assert step.ok_exit_codes == (0, 1) and step.pycache
    plain = config.parse_tiers({"tiers": {"t": {"steps": [{"name": "a", "cmd": "true"}]}}}, "x")
    assert "ok_exit_codes" not in config._step_dict(plain["t"].steps[0])  # old hashes kept
    for bad in ([], ["0"], [256], 0):
        raw = {"name": "a", "cmd": "x", "ok_exit_codes": bad}
        with pytest.raises(ConfigError, match="ok_exit_codes"):
            config.parse_tiers({"tiers": {"t": {"steps": [raw]}}}, "x")


# --- 7. reading results --------------------------------------------------------------------


def test_unknown_keys_are_warned_with_the_nearest_valid_one() -> None:
    warnings = config.config_warnings({"tier": {}, "tiers": {"t": {"step": []}}}, "ftbench.toml")
    assert warnings == [
        "ftbench.toml: unknown key 'tier' is ignored; did you mean 'tiers'?",
        "ftbench.toml: tier 't': unknown key 'step' is ignored; did you mean 'steps'?",
    ]


def test_ft_max_procs_defaults_to_the_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FT_MAX_PROCS", raising=False)
    runner = Runner(Target("cmd", "cmd", (Step("c", "true"),), "x"), settings(), tmp_path, tmp_path)
    assert runner.base_env["FT_MAX_PROCS"] == str(len(os.sched_getaffinity(0)))
    given = Runner(
        Target("cmd", "cmd", (Step("c", "true"),), "x"), settings(max_procs=3), tmp_path, tmp_path
    )
    assert given.base_env["FT_MAX_PROCS"] == "3"


def test_quiet_still_prints_the_verdict_on_a_regression(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ftbench import pipeline
    from ftbench.judge.core import judge
    from ftbench.judge.options import JudgeOptions

    base = make_report(noisy(1.0, 30, seed=1), noisy(3.0, 10, seed=2))
    new = make_report(noisy(1.5, 30, seed=3), noisy(3.0, 10, seed=4))
    verdict = judge(new, [keyed("base.json", base)], JudgeOptions())
    assert verdict.exit_code == 4
    outcome = pipeline.RunOutcome(dataclasses.replace(new, regression=verdict), "# md", "", None, 4)
    monkeypatch.setattr(pipeline, "run", lambda request: outcome)
    args = ["run", "--repo", str(tmp_repo), "--cmd", "true", "--progress", "never"]
    assert cli.main([*args, "--quiet"]) == 4
    out = capsys.readouterr().out
    assert out.startswith(f"ft-bench: regression: {verdict.summary}")
    assert len(out.splitlines()) == 1


def test_warm_slower_than_cold_is_warned(capsys: pytest.CaptureFixture[str]) -> None:
    _warn_warm_slower(make_report([2.0] * 5, [1.0] * 5))
    assert "[WARN] warm median 2.000s is slower than cold median 1.000s" in (
        capsys.readouterr().err
    )
    _warn_warm_slower(make_report([1.0] * 5, [2.0] * 5))
    assert capsys.readouterr().err == ""


# --- 8. progress ---------------------------------------------------------------------------


def test_plain_progress_lines_and_heartbeat() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress(out, interval=0, clock=lambda: now[0])  # no thread: driven here
    progress.phase("cold", 3)
    progress.step("cold", 1, "pytest")
    now[0] = 40.0
    progress.sample("cold", 1, 3, 40.0, True)
    now[0] = 75.0
    progress.heartbeat()
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "[ftbench] cold: 3 run(s) (elapsed 0:00)"
    assert lines[1] == "[ftbench] cold 1/3: 40.000 s (elapsed 0:40, cold ETA 1:20)"
    assert lines[2] == "[ftbench] cold 2/3, step pytest: running for 0:35 (elapsed 1:15)"
    assert "\x1b" not in out.getvalue()
    assert clock_text(3725) == "1:02:05"


def test_plain_progress_beats_at_least_every_interval() -> None:
    out = io.StringIO()
    progress = PlainProgress(out, interval=0.05)
    progress.phase("warm", 1)
    import time

    time.sleep(1.3)  # the beat thread wakes at least once a second
    progress.close()
    assert "running for" in out.getvalue()


def test_setup_error_for_an_unknown_tier_points_at_tiers(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="ft-bench tiers"):
        tools.resolve_target(tmp_path, tier="nope", cmd=None)
