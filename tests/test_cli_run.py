"""``ft-bench run`` and ``ft-bench tiers`` end to end: exit codes, reports, secrets, limits."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ftbench import __version__, cli
from processes import gone
from procs import ftbench_run

Validate = Callable[[Any], dict[str, Any]]
RepoFactory = Callable[..., Path]
# Small sample counts keep the suite fast; "--baseline none" keeps the judge out of the way.
FAST = [
    "--runs",
    "2",
    "--cold-runs",
    "1",
    "--warmup",
    "0",
    "--baseline",
    "none",
    "--progress",
    "never",
]
BIN_DIR = str(Path(sys.executable).parent)
PY = shlex.quote(sys.executable)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CI summary, S3 settings or archive override leaks in from the caller's shell."""
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_", "GITLAB")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CI", raising=False)
    # "python" in a --cmd is this interpreter, not a pyenv shim or a system one
    monkeypatch.setenv("PATH", BIN_DIR + os.pathsep + os.environ.get("PATH", ""))


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; argparse's SystemExit becomes an exit code."""
    try:
        code = cli.main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ft-bench: error:"), err
    assert "Traceback" not in err


def proof(repo: Path) -> Path:
    return repo / ".firsttry" / "bench_proof.json"


# --- the headline: a sleep is measured as a sleep ------------------------------------------


def test_sleep_warm_median_is_near_the_sleep(
    tmp_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, out, err = invoke(
        capsys,
        "run",
        "--cmd",
        "python -c 'import time; time.sleep(0.05)'",
        "--runs",
        "5",
        "--cold-runs",
        "2",
    )
    assert code == 0, err
    report = validate_report(proof(tmp_repo))
    warm = report["runs"]["warm"]
    assert len(warm["samples"]) == 5
    assert len(report["runs"]["cold"]["samples"]) == 2
    # a sleep is measured as a sleep: at least its length of wall time, and that time spent
    # waiting, not on a CPU (no upper bound on wall time: a loaded machine stretches it)
    assert warm["elapsed_s"] >= 0.045, warm
    waits = sorted(s["wall_s"] - s["user_s"] - s["sys_s"] for s in warm["samples"])
    assert waits[len(waits) // 2] >= 0.045, warm
    assert all(s["wall_s"] >= 0.045 for s in warm["samples"])
    assert report["mode"] == "custom"
    assert report["tier"] == "cmd"
    assert report["target"]["kind"] == "cmd"
    assert report["ok"] is True
    assert "\n  warm " in out and "<details>" not in out  # the plain-text summary is printed
    md = (tmp_repo / ".firsttry" / "bench_proof.md").read_text()
    assert "| warm |" in md
    env = (tmp_repo / ".firsttry" / "bench_report.env").read_text()
    assert f"FT_BENCH_WARM_MEDIAN_S={warm['elapsed_s']}" in env.splitlines()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(capsys, "--version")
    assert code == 0
    assert __version__ in out


# --- tiers from configuration, cold clearing through the CLI -------------------------------

COUNT_TIER = """
[[tiers.lite.steps]]
name = "count"
cmd = ["{python}", "-c", '''
import os, pathlib
c = pathlib.Path("cachedir")
n = len(os.listdir(c)) if c.is_dir() else 0
open("counts.txt", "a").write(f"{os.environ['FT_BENCH_PHASE']} {n}\\n")
c.mkdir(exist_ok=True)
(c / f"e{os.getpid()}").write_text("x")
''']
cache = ["cachedir"]
"""


def test_tier_run_clears_caches_cold_and_keeps_them_warm(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
    repo_factory: RepoFactory,
) -> None:
    repo = repo_factory(tmp_path / "repo", COUNT_TIER)
    monkeypatch.chdir(repo)
    code, _, err = invoke(
        capsys,
        "run",
        "--tier",
        "lite",
        "--runs",
        "2",
        "--cold-runs",
        "2",
        "--warmup",
        "1",
        "--baseline",
        "none",
    )
    assert code == 0, err
    assert (repo / "counts.txt").read_text().split() == [
        "cold",
        "0",
        "cold",
        "0",
        "warmup",
        "1",
        "warm",
        "2",
        "warm",
        "3",
    ]
    report = validate_report(proof(repo))
    assert report["tier"] == "lite"
    assert report["target"]["source"] == "ftbench.toml"
    assert report["runs"]["cold"]["cache"]["files"] == 1
    assert report["runs"]["warm"]["cache"]["files"] == 4


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_unsafe_cache_path_is_refused_before_anything_runs(
    tmp_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    path = {"dotdot": "../outside", "absolute": str(outside), "symlink": "escape"}[kind]
    if kind == "symlink":
        (tmp_repo / "escape").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--cmd", "touch ran.txt", "--cache", path, *FAST)
    assert code == 5
    assert_one_line_error(err)
    assert "outside the repository" in err
    assert not (tmp_repo / "ran.txt").exists()
    assert (outside / "precious.txt").read_text() == "keep"


@pytest.mark.parametrize(
    "path", [".firsttry", ".firsttry/bench_artifacts", ".firsttry/archive", ".git", ".git/objects"]
)
def test_cache_path_over_ftbench_output_or_git_is_refused(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--cmd", "touch ran.txt", "--cache", path, *FAST)
    assert code == 5
    assert_one_line_error(err)
    assert "refusing cache path" in err
    assert not (tmp_repo / "ran.txt").exists()
    assert (tmp_repo / ".git" / "HEAD").is_file()


def test_out_dir_and_earlier_logs_removed(
    tmp_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    out = tmp_path / "reports"
    (out / "bench_artifacts").mkdir(parents=True)
    (out / "bench_artifacts" / "old.log").write_text("old")
    (out / "bench_artifacts" / "warm-01-cmd.log").write_text("OLD RUN OUTPUT")
    monkeypatch.chdir(tmp_repo)
    code, stdout, err = invoke(
        capsys,
        "run",
        "--cmd",
        "echo hello",
        "--out-dir",
        str(out),
        "--quiet",
        "--max-procs",
        "3",
        *FAST,
    )
    assert code == 0, err
    validate_report(out / "bench_proof.json")
    assert not (out / "bench_artifacts" / "old.log").exists()
    (own,) = (out / "bench_artifacts").iterdir()  # the run's own folder (measure/logs.py)
    logs = sorted(p.name for p in own.glob("*.log"))
    # a cold sample's own log; the warm samples' batch shares one, a header line each
    assert logs == ["cold-01-cmd.log", "warm-01-02-cmd.log"]
    warm = (own / "warm-01-02-cmd.log").read_text()
    assert warm.count("\nhello\n") == 2 and "# ftbench warm sample 2\nhello" in warm
    assert "OLD RUN OUTPUT" not in warm
    assert "| warm |" not in stdout  # --quiet
    report = json.loads((out / "bench_proof.json").read_text())
    assert report["settings"]["max_procs"] == 3


def test_max_procs_is_exported(
    tmp_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(
        capsys,
        "run",
        "--cmd",
        "sh -c 'echo procs=$FT_MAX_PROCS'",
        "--max-procs",
        "3",
        "--skip-warm",
        "--cold-runs",
        "1",
        "--baseline",
        "none",
    )
    assert code == 0, err
    (log,) = (tmp_repo / ".firsttry" / "bench_artifacts").glob("run-*/cold-01-cmd.log")
    assert "procs=3" in log.read_text()
    assert validate_report(proof(tmp_repo))["settings"]["max_procs"] == 3


# --- failures and exit codes -----------------------------------------------------------------


def test_failing_command_exits_3_and_still_writes_reports(
    tmp_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--cmd", "sh -c 'echo failing; exit 2'", *FAST)
    assert code == 3
    assert_one_line_error(err)
    assert "exited with code 2" in err
    report = validate_report(proof(tmp_repo))
    assert report["ok"] is False
    (sample,) = report["runs"]["cold"]["samples"]
    assert sample["exit_code"] == 2 and sample["ok"] is False
    assert "failing" in (tmp_repo / sample["steps"][0]["log"]).read_text()
    assert (tmp_repo / ".firsttry" / "bench_proof.md").is_file()
    assert "FT_BENCH_OK=false" in (tmp_repo / ".firsttry" / "bench_report.env").read_text()


def test_missing_baseline_file_still_writes_and_archives(
    tmp_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(
        capsys,
        "run",
        "--cmd",
        "true",
        "--runs",
        "2",
        "--cold-runs",
        "1",
        "--warmup",
        "0",
        "--baseline",
        "missing.json",
        "--progress",
        "never",
    )
    assert code == 2
    assert_one_line_error(err)
    assert "missing.json" in err
    report = validate_report(proof(tmp_repo))
    assert report["archive"]["local_key"]
    assert list((tmp_repo / ".firsttry" / "archive").rglob("*.json"))


def test_allow_failure_exits_0(
    tmp_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--cmd", "false", "--allow-failure", *FAST)
    assert code == 0, err
    report = validate_report(proof(tmp_repo))
    assert len(report["runs"]["cold"]["samples"]) == 1
    assert len(report["runs"]["warm"]["samples"]) == 2
    assert all(not s["ok"] for s in report["runs"]["warm"]["samples"])


def test_command_not_found_exits_5(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--cmd", "ftbench-no-such-program-xyz --flag", *FAST)
    assert code == 5
    assert_one_line_error(err)
    assert "command not found: ftbench-no-such-program-xyz" in err


def test_unknown_tier_exits_5(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--tier", "nope", *FAST)
    assert code == 5
    assert_one_line_error(err)
    assert "unknown tier 'nope'" in err


BAD_CONFIG = {
    "invalid-toml": "[[tiers.lite.steps]\nname = 'a'\n",
    "wrong-type": "[[tiers.lite.steps]]\nname = 'a'\ncmd = 42\n",
    "wrong-cache-type": "[[tiers.lite.steps]]\nname = 'a'\ncmd = 'true'\ncache = {a = 1}\n",
    "unknown-key": "[[tiers.lite.steps]]\nname = 'a'\ncmd = 'true'\ncahce = ['.c']\n",
    "newline-in-name": '[[tiers."li\\nte".steps]]\nname = "a\\nb"\ncmd = 1\n',
}


@pytest.mark.parametrize("text", BAD_CONFIG.values(), ids=BAD_CONFIG.keys())
def test_bad_configuration_exits_5_with_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repo_factory: RepoFactory,
    text: str,
) -> None:
    repo = repo_factory(tmp_path / "repo", text)
    monkeypatch.chdir(repo)
    code, _, err = invoke(capsys, "run", "--tier", "lite", *FAST)
    assert code == 5
    assert_one_line_error(err)
    assert "ftbench.toml" in err
    assert not proof(repo).exists()
    code, _, err = invoke(capsys, "tiers")
    assert code == 5
    assert_one_line_error(err)


def test_bad_pyproject_configuration_exits_5(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repo_factory: RepoFactory,
) -> None:
    repo = repo_factory(tmp_path / "repo", None)
    (repo / "pyproject.toml").write_text("[tool.ftbench.tiers.lite]\nsteps = 'ruff'\n")
    monkeypatch.chdir(repo)
    code, _, err = invoke(capsys, "run", *FAST)
    assert code == 5
    assert_one_line_error(err)
    assert "pyproject.toml" in err


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--runs", "abc"],
        ["run", "--cold-runs", "-1"],
        ["run", "--timeout-s", "0"],
        ["run", "--mode", "turbo"],
        ["run", "--tier", "x", "--cmd", "y"],
        ["run", "--cache", "c"],
        ["run", "--cmd", "true", "--skip-cold", "--skip-warm"],
        ["run", "--cmd", "true", "--runs", "0"],
        ["run", "--no-such-option"],
        ["bogus-command"],
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_exit_2(
    tmp_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not proof(tmp_repo).exists()


def test_usage_error_exit_code_from_the_console(tmp_repo: Path) -> None:
    done = ftbench_run(tmp_repo, "run", "--runs", "abc")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


# --- timeouts with grandchildren ---------------------------------------------------------------


def test_timeout_kills_grandchildren_and_exits_3(
    tmp_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    monkeypatch.chdir(tmp_repo)
    started = time.monotonic()
    code, _, err = invoke(
        capsys,
        "run",
        "--cmd",
        "sh -c 'sleep 30 & echo $! > grandchild.pid; sleep 30'",
        "--timeout-s",
        "0.5",
        *FAST,
    )
    assert time.monotonic() - started < 20
    assert code == 3
    assert_one_line_error(err)
    assert "timed out" in err
    report = validate_report(proof(tmp_repo))
    (sample,) = report["runs"]["cold"]["samples"]
    assert sample["timed_out"] is True
    assert report["runs"]["cold"]["timed_out_samples"] == 1
    grandchild = int((tmp_repo / "grandchild.pid").read_text())
    assert gone(grandchild), f"grandchild {grandchild} survived the timeout"


# --- huge output never goes through the harness ---------------------------------------------

HARNESS = """
import resource, sys
from ftbench.cli.app import main
code = main(sys.argv[1:])
sys.stderr.write(f"\\nHARNESS_MAXRSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
sys.exit(code)
"""


def _harness_rss(repo: Path, megabytes: int, env: dict[str, str]) -> int:
    writer = (
        f"import sys\nchunk = b'x' * 1048575 + b'\\n'\n"
        f"for _ in range({megabytes}): sys.stdout.buffer.write(chunk)\n"
    )
    cmd = shlex.join([sys.executable, "-c", writer])
    # forked from /bin/sh, not pytest: its ru_maxrss must not start at pytest's high-water mark
    harness = ["/bin/sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", HARNESS]
    done = subprocess.run(
        [
            *harness,
            "run",
            "--cmd",
            cmd,
            "--skip-warm",
            "--cold-runs",
            "1",
            "--baseline",
            "none",
            "--quiet",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) < 100_000  # the output did not come through the harness
    (log,) = (repo / ".firsttry" / "bench_artifacts").glob("run-*/cold-01-cmd.log")
    assert log.stat().st_size >= megabytes * 2**20
    line = next(x for x in done.stderr.splitlines() if x.startswith("HARNESS_MAXRSS_KB="))
    return int(line.split("=", 1)[1])


@pytest.mark.parametrize("probe_backend", ["forkserver", "direct"])
def test_huge_output_goes_to_the_log_not_the_harness_memory(
    tmp_repo: Path, validate_report: Validate, probe_backend: str
) -> None:
    env = {**os.environ, "FTBENCH_PROBE": probe_backend}
    small = _harness_rss(tmp_repo, 1, env)
    huge = _harness_rss(tmp_repo, 100, env)
    validate_report(proof(tmp_repo))
    assert small < 100 * 1024, f"the harness alone peaked at {small} KiB"
    assert huge - small < 30 * 1024, f"harness grew from {small} KiB to {huge} KiB"


# --- secrets ------------------------------------------------------------------------------------

SECRETS = ("wJalrXUtnFEMIsecretK7MDENG", "ghp_0123456789abcdefSECRET", "tok3n", "hunter2xyz")


def test_no_secret_reaches_reports_logs_or_terminal(
    tmp_repo: Path, tmp_path: Path, validate_report: Validate, run_git: Callable[..., str]
) -> None:
    run_git(tmp_repo, "remote", "add", "origin", "https://user:tok3n@example.com/o/r.git")
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        "S3_SECRET_ACCESS_KEY": SECRETS[0],
        "GITHUB_TOKEN": SECRETS[1],
        "GITHUB_STEP_SUMMARY": str(summary),
        "CI": "true",
    }
    cmd = f"{PY} -c 'import sys; print(len(sys.argv))' --password=hunter2xyz"
    done = ftbench_run(tmp_repo, "run", "--cmd", cmd, "--progress", "always", *FAST, env=env)
    assert done.returncode == 0, done.stderr
    validate_report(proof(tmp_repo))
    failing = ftbench_run(
        tmp_repo, "run", "--cmd", f"false --password=hunter2xyz {SECRETS[1]}", *FAST, env=env
    )
    assert failing.returncode == 3
    report = validate_report(proof(tmp_repo))
    assert report["git"]["remote"] == "https://example.com/o/r.git"
    out = tmp_repo / ".firsttry"
    texts = {
        "stdout": done.stdout + failing.stdout,
        "stderr": done.stderr + failing.stderr,
        "json": (out / "bench_proof.json").read_text(),
        "md": (out / "bench_proof.md").read_text(),
        "env": (out / "bench_report.env").read_text(),
        "summary": summary.read_text(),
        "log headers": "\n".join(
            p.read_text().splitlines()[0] for p in (out / "bench_artifacts").glob("*/*.log")
        ),
    }
    assert "--password=" in texts["log headers"]
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {where}"


# --- GitHub step summary ------------------------------------------------------------------------


def test_markdown_is_appended_to_github_step_summary(
    tmp_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step output\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--cmd", "true", *FAST)
    assert code == 0, err
    validate_report(proof(tmp_repo))
    text = summary.read_text()
    md = (tmp_repo / ".firsttry" / "bench_proof.md").read_text()
    assert text.startswith("earlier step output\n")
    assert md.strip() in text
    code, _, err = invoke(capsys, "run", "--cmd", "true", *FAST)
    assert code == 0, err
    assert summary.read_text().count("FirstTry benchmark") == 2  # appended, not overwritten


def test_unwritable_step_summary_is_a_warning(
    tmp_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validate_report: Validate,
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "no" / "such" / "dir" / "f.md"))
    monkeypatch.chdir(tmp_repo)
    code, _, err = invoke(capsys, "run", "--cmd", "true", *FAST)
    assert code == 0
    assert "GITHUB_STEP_SUMMARY" in err
    validate_report(proof(tmp_repo))


# --- ft-bench tiers -------------------------------------------------------------------------------


def test_tiers_prints_configured_steps(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repo_factory: RepoFactory,
) -> None:
    repo = repo_factory(
        tmp_path / "repo",
        """
[tiers.lite]
description = "quick checks"
[[tiers.lite.steps]]
name = "lint"
cmd = ["ruff", "check", "--tier", "{tier}", "--mode", "{mode}"]
cache = [".ruff_cache"]
env = { RUFF_CACHE_DIR = ".ruff_cache" }
[[tiers.pro.steps]]
name = "ft"
cmd = "firsttry run {mode} --tier {tier}"
""",
    )
    monkeypatch.chdir(repo)
    code, out, err = invoke(capsys, "tiers", "--mode", "fast")
    assert code == 0, err
    assert "lite  (ftbench.toml): quick checks" in out
    assert "  - lint: ruff check --tier lite --mode fast" in out
    assert "cache: .ruff_cache" in out
    assert "env: RUFF_CACHE_DIR=.ruff_cache" in out
    assert "  - ft: firsttry run fast --tier pro" in out


def _only_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *tools: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in (*tools, "git"):
        real = "/usr/bin/git" if tool == "git" else None
        exe = bin_dir / tool
        exe.write_text(f'#!/bin/sh\nexec {real} "$@"\n' if real else "#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)  # no user environment but this PATH


@pytest.mark.skipif(not os.access("/usr/bin/git", os.X_OK), reason="needs /usr/bin/git")
def test_tiers_builtin_when_unconfigured(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repo_factory: RepoFactory,
) -> None:
    repo = repo_factory(tmp_path / "repo", None)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    _only_path(monkeypatch, tmp_path, "ruff")
    monkeypatch.chdir(repo)
    code, out, err = invoke(capsys, "tiers")
    assert code == 0, err
    assert "lite  (built-in (Python: ruff))" in out
    assert "  - ruff: ruff check ." in out
    assert "cache: .ruff_cache" in out


@pytest.mark.skipif(not os.access("/usr/bin/git", os.X_OK), reason="needs /usr/bin/git")
def test_tiers_none_found(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repo_factory: RepoFactory,
) -> None:
    repo = repo_factory(tmp_path / "repo", None)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    _only_path(monkeypatch, tmp_path)
    monkeypatch.chdir(repo)
    code, out, _ = invoke(capsys, "tiers")
    assert code == 0
    assert "\nno tiers" in out
    assert "# ruff left out: not found on the commands' PATH (pip install ruff)" in out
    code, _, err = invoke(capsys, "run", *FAST)
    assert code == 5
    assert_one_line_error(err)


def test_tiers_masks_secrets_in_the_commands_it_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_factory: RepoFactory
) -> None:
    config = '[tiers.x]\n[[tiers.x.steps]]\nname = "a"\ncmd = "tool --token s3cr3tvalue123 -v"\n'
    repo = repo_factory(tmp_path / "r", config)
    code, out, _ = invoke(capsys, "tiers", "--repo", str(repo))
    assert code == 0 and "- a: tool --token *** -v" in out and "s3cr3tvalue123" not in out
