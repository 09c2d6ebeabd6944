"""Issue 9 without S3: signals, process trees, secrets, odd input, huge plans, logs.

Real ``ft-bench run`` subprocesses and real signals wherever the case is about them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftbench.archive.s3config import S3Config
from ftbench.measure.environment import read_version, tool_version
from ftbench.redact import scrub, scrub_argv, target_environ
from processes import gone
from procs import PY, clean_environ, ftbench
from procs import committed_repo as make_repo

QUICK = ("--runs", "1", "--cold-runs", "1", "--warmup", "0", "--baseline", "none")


def wait_for(predicate: object, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def archived(repo: Path) -> list[Path]:
    return sorted((repo / ".firsttry" / "archive").glob("benchmarks/*/*.json"))


def run_folders(repo: Path) -> list[Path]:
    return sorted((repo / ".firsttry" / "bench_artifacts").glob("run-*"))


# --- 1. SIGTERM / SIGHUP end a run like Ctrl-C ------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "code", "group"),
    [(signal.SIGTERM, 143, False), (signal.SIGHUP, 129, False), (signal.SIGTERM, 143, True)],
    ids=["TERM", "HUP", "TERM-to-the-group"],
)
def test_signal_keeps_the_report_archives_it_and_stops_the_sample(
    tmp_path: Path, signum: int, code: int, group: bool
) -> None:
    repo = make_repo(tmp_path / "repo")
    pid_file = tmp_path / "sample.pid"
    cmd = f"echo $$ > '{pid_file}'; exec sleep 60"
    argv = ("run", "--shell", "--cmd", cmd, "--runs", "5", "--cold-runs", "1")
    proc = ftbench(repo, *argv, start_new_session=group)
    try:
        wait_for(pid_file.exists)
        wait_for(lambda: pid_file.read_text().strip() != "")
        sample = int(pid_file.read_text())
        if group:  # as a CI runner may: the harness and its fork server alike
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == code, err
    assert f"interrupted by {signal.Signals(signum).name}" in err
    assert gone(sample), "the running sample survived the signal"
    report = json.loads((repo / ".firsttry" / "bench_proof.json").read_text())
    assert report["error"] == f"interrupted by {signal.Signals(signum).name}"
    assert len(archived(repo)) == 1  # written and archived


def test_background_and_setsid_grandchildren_do_not_outlive_their_sample(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    bg, escaped = tmp_path / "bg.pid", tmp_path / "escaped.pid"
    cmd = f"sleep 300 & echo $! > '{bg}'; setsid sleep 301 & echo $! > '{escaped}'"
    done = ftbench(repo, "run", "--shell", "--cmd", cmd, *QUICK)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert gone(int(bg.read_text())) and gone(int(escaped.read_text()))


def test_setsid_does_not_escape_the_timeout(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    escaped = tmp_path / "escaped.pid"
    cmd = f"setsid sh -c 'echo $$ > {escaped}; exec sleep 302' & wait"
    done = ftbench(repo, "run", "--shell", "--cmd", cmd, "--timeout-s", "1", *QUICK)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 3 and "timed out" in err
    assert gone(int(escaped.read_text()))


# --- 7, 8, 9. secrets and versions ------------------------------------------------------------


def test_token_flags_and_own_credentials_never_reach_logs_reports_or_targets(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    canaries = {
        "S3_SECRET_ACCESS_KEY": "canary-s3-secret-1",
        "S3_ACCESS_KEY_ID": "canary-s3-key-id-2",
        "S3_SESSION_TOKEN": "canary-s3-token-3",
        "AWS_SECRET_ACCESS_KEY": "canary-aws-secret-4",
        "AWS_SESSION_TOKEN": "canary-aws-token-5",
    }
    printenv = f"{PY} -c 'import os; print(sorted(os.environ.items()))'"
    cmd = f"{printenv} --token canary-flag-value-6 --password 'canary pw 7'"
    done = ftbench(repo, "run", "--cmd", cmd, *QUICK, env=clean_environ(**canaries))
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    written = [
        p for p in (repo / ".firsttry").rglob("*") if p.is_file() and not p.name.startswith(".")
    ]
    texts = [out, err, *(p.read_text(errors="replace") for p in written)]
    for text in texts:
        assert "canary" not in text
    (log,) = (repo / ".firsttry" / "bench_artifacts").glob("run-*/warm-01-01-cmd.log")
    header = log.read_text().splitlines()[0]
    assert "--token *** --password ***" in header
    assert "S3_SECRET_ACCESS_KEY" not in log.read_text()  # not in the command's environment


def test_pass_env_gives_a_step_a_credential_explicitly(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "ftbench.toml").write_text(
        "[tiers.lite]\nsteps = [\n"
        f'  {{ name = "aws", cmd = ["{PY}", "-c", '
        "\"import os; print('seen' if os.environ.get('AWS_SECRET_ACCESS_KEY') else 'absent')\"],"
        ' pass_env = ["AWS_SECRET_ACCESS_KEY"] },\n]\n'
    )
    env = clean_environ(AWS_SECRET_ACCESS_KEY="canary-passed-secret")
    done = ftbench(repo, "run", "--tier", "lite", *QUICK, env=env)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    (log,) = (repo / ".firsttry" / "bench_artifacts").glob("run-*/warm-01-01-aws.log")
    assert "seen" in log.read_text()


def test_scrubbing_of_spaced_secret_flags() -> None:
    assert scrub("deploy --token abc123 --x", environ={}) == "deploy --token *** --x"
    assert scrub("curl --api-key 'a b' x", environ={}) == "curl --api-key *** x"
    assert scrub("x --token --other", environ={}) == "x --token --other"
    assert scrub_argv(["tool", "--token", "abc", "--password", "-v"], environ={}) == (
        "tool",
        "--token",
        "***",
        "--password",
        "-v",
    )
    env = target_environ(
        {
            "S3_SECRET_ACCESS_KEY": "s",
            "AWS_SESSION_TOKEN": "t",
            "S3_REGION": "auto",
            "S3_ENDPOINT_URL": "http://u:p@h",
            "HOME": "/h",
        }
    )
    assert env == {"S3_REGION": "auto", "HOME": "/h"}


def test_endpoint_credentials_are_masked_everywhere(tmp_path: Path) -> None:
    config = S3Config.from_env(
        {"S3_ENDPOINT_URL": "http://user:PASSWORD123@127.0.0.1:9", "S3_BUCKET_NAME": "bkt"}
    )
    assert "PASSWORD123" not in repr(config) and "PASSWORD123" not in str(config.to_dict())
    assert config.problems and not config.is_usable
    repo = make_repo(tmp_path / "repo")
    env = clean_environ(S3_ENDPOINT_URL="http://user:PASSWORD123@127.0.0.1:9", S3_BUCKET_NAME="b")
    done = ftbench(repo, "doctor", env=env)
    out, err = done.communicate(timeout=60)
    assert done.returncode == 5
    assert "PASSWORD123" not in out + err and "must not contain credentials" in out


def test_an_unknown_command_is_never_run_for_its_version(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    counter = tmp_path / "runs.txt"
    script = repo / "tool.sh"
    script.write_text(f"#!/bin/sh\necho ran >> '{counter}'\nprintf '\\377\\376 weird\\n'\n")
    script.chmod(0o755)
    done = ftbench(
        repo, "run", "--cmd", "./tool.sh", "--runs", "3", "--cold-runs", "1", "--warmup", "0"
    )
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert len(counter.read_text().splitlines()) == 4  # 1 cold + 3 warm, not one more
    report = json.loads((repo / ".firsttry" / "bench_proof.json").read_text())
    assert report["environment"]["tool_versions"] == {"cmd": None}


def test_a_configured_version_command_with_odd_output_never_costs_the_run(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    odd = repo / "odd_version.py"  # a megabyte of non-UTF-8 output
    odd.write_text("import sys\nsys.stdout.buffer.write(b'\\xff v9\\n' * 10**6)\n")
    (repo / "ftbench.toml").write_text(
        f'[tiers.lite]\nsteps = [{{ name = "t", cmd = "true", version = ["{PY}", "{odd}"] }}]\n'
    )
    done = ftbench(repo, "run", *QUICK)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    report = json.loads((repo / ".firsttry" / "bench_proof.json").read_text())
    assert report["environment"]["tool_versions"] == {"t": "\ufffd v9"}


def test_version_reader_bounds() -> None:
    assert read_version([PY, "-c", "import time; time.sleep(30)"], timeout=0.5) is None
    assert read_version(["/nonexistent/tool", "--version"]) is None
    assert read_version([PY, "-c", "import sys; sys.exit(3)"]) is None
    assert tool_version("/bin/sleep") is None  # not a known tool: never run
    assert tool_version(PY) is not None


# --- 10. huge plans, logs -----------------------------------------------------------------------


def test_a_huge_plan_warns_and_creates_no_log_ahead(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    done = ftbench(repo, "run", "--cmd", "false", "--runs", "1000000", "--baseline", "none")
    _, err = done.communicate(timeout=120)
    assert done.returncode == 3
    assert "1,000,006 samples planned" in err
    (folder,) = run_folders(repo)
    assert sorted(p.name for p in folder.glob("*.log")) == ["cold-01-cmd.log"]


def test_no_header_only_logs_of_samples_that_did_not_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    counter = tmp_path / "n"
    cmd = f"echo x >> {counter}; test $(wc -l < {counter}) -lt 4"  # fails on its 4th run
    done = ftbench(repo, "run", "--shell", "--cmd", cmd, "--skip-cold", "--runs", "50")
    done.communicate(timeout=120)
    assert done.returncode == 3
    (folder,) = run_folders(repo)
    assert sorted(p.name for p in folder.glob("*.log")) == [
        "warm-01-50-cmd.log",
        "warmup-01-01-cmd.log",
    ]
    # the warm samples share their batch's log: a header line for each sample that ran
    lines = (folder / "warm-01-50-cmd.log").read_text().splitlines()
    assert [line for line in lines if line.startswith("# ftbench")] == [
        "# ftbench warm samples 1-50, step cmd: /bin/sh -c " + cmd,
        "# ftbench warm sample 1",
        "# ftbench warm sample 2",
        "# ftbench warm sample 3",
    ]


def test_concurrent_runs_keep_their_own_logs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    slow = ftbench(repo, "run", "--cmd", "sleep 2", *QUICK, "--skip-cold")
    try:
        wait_for(lambda: len(run_folders(repo)) == 1)
        quick = ftbench(repo, "run", "--cmd", "true", *QUICK)
        _, err = quick.communicate(timeout=120)
        assert quick.returncode == 0, err
        assert len(run_folders(repo)) == 2  # the running one was not removed
        _, err = slow.communicate(timeout=120)
        assert slow.returncode == 0, err
    finally:
        with contextlib.suppress(ProcessLookupError):
            slow.kill()
    folders = run_folders(repo)
    assert len(folders) == 2 and all(list(f.glob("warm-01-01-cmd.log")) for f in folders)
    last = ftbench(repo, "run", "--cmd", "true", *QUICK)  # finished runs' folders go
    last.communicate(timeout=120)
    assert len(run_folders(repo)) == 1


# --- 11. setup errors are one line and exit 2 or 5 ---------------------------------------------


def test_non_utf8_argument_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    proc = subprocess.run(
        [
            os.fsencode(PY),
            b"-m",
            b"ftbench",
            b"run",
            b"--cmd",
            b"echo \xff",
            *map(os.fsencode, QUICK),
        ],
        cwd=repo,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().strip().endswith("are UTF-8)")
    assert b"internal error" not in proc.stderr


@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[None]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield
    finally:
        subprocess.run(["umount", str(where)], check=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [("size=1m,ro", "Read-only file system"), ("size=48k", "No space left on device")],
)
def test_read_only_or_full_firsttry_is_a_setup_error(
    tmp_path: Path, options: str, message: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    with tmpfs(repo / ".firsttry", options):
        done = ftbench(repo, "run", "--cmd", "head -c 40000 /dev/zero", *QUICK)
        _, err = done.communicate(timeout=120)
    assert done.returncode == 5
    assert message in err and "internal error" not in err
    assert err.strip().splitlines()[-1].startswith("ft-bench: error: file system error")


def test_long_and_reserved_prefixes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    s3 = {
        "S3_BUCKET_NAME": "bkt",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "S3_ACCESS_KEY_ID": "AKIAFAKE",
        "S3_SECRET_ACCESS_KEY": "fake-secret",
        "S3_MAX_ATTEMPTS": "1",
        "S3_REPO_ID": "r" * 60,
    }
    env = clean_environ(**s3, S3_PREFIX="p" * 159)
    done = ftbench(repo, "run", "--cmd", "true", *QUICK, "--upload-s3", env=env)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert "[WARN] S3 upload failed" in out
    pending = list((repo / ".firsttry" / "archive" / ".pending").iterdir())
    assert len(pending) == 1 and pending[0].name.startswith("h-")  # a hashed marker

    env = clean_environ(S3_PREFIX=".pending", S3_BUCKET_NAME="bkt")
    done = ftbench(repo, "run", "--cmd", "true", *QUICK, env=env)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    doctor = ftbench(repo, "doctor", "--no-probe", env=env)
    out, _ = doctor.communicate(timeout=60)
    assert doctor.returncode == 5
    assert "S3_PREFIX must not start with '.pending'" in out
