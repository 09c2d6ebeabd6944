"""ftbench.measure.probe: time, CPU, peak RSS of the target (not the harness), exits, timeouts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ftbench.errors import SetupError
from ftbench.measure import probe
from processes import gone

MiB = 1024  # ProcessResult.max_rss_kb is in KiB on every platform
BACKENDS = list(probe.BACKENDS)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    monkeypatch.setenv("FTBENCH_PROBE", name)
    return name


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "out.log"


def run(
    argv: list[str],
    log: Path,
    cwd: Path,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
) -> probe.ProcessResult:
    """Measure ``argv`` with the backend FTBENCH_PROBE names, appending to ``log``."""
    executor = probe.default_executor()
    try:
        return one(executor, probe.Job(argv, cwd, env or dict(os.environ), log, timeout_s))
    finally:
        executor.close()


def one(executor: probe.Executor, job: probe.Job) -> probe.ProcessResult:
    """Run one job: a batch of one."""
    (result,) = executor.run([job], stop_on_failure=False)
    return result


def _grow_harness() -> bytearray:
    """Make the harness's own peak RSS clearly larger than a tiny target's."""
    block = bytearray(64 * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


@pytest.mark.parametrize("backend", ["forkserver"], indirect=True)
def test_true_reports_its_own_small_peak_rss(backend: str, log: Path, tmp_path: Path) -> None:
    ballast = _grow_harness()  # a harness-inherited figure would be >= 64 MiB
    # the first server to start after its source changed compiles it and caches the bytecode:
    # the compiler's peak stays in that one server's floor (~10.3 MiB)
    run(["/bin/true"], log, tmp_path)
    result = run(["/bin/true"], log, tmp_path)
    assert result.ok
    assert result.max_rss_kb is not None
    assert 0 < result.max_rss_kb < 10 * MiB, result  # ~9.4 MiB, the server's
    # /bin/true needs ~1 MiB: what it reads is what it inherited from the fork server, and
    # the result says so
    assert not result.rss_exact
    assert result.max_rss_kb <= result.rss_floor_kb < 10 * MiB
    del ballast


FRESH_HARNESS = """
import dataclasses, json, os, sys
from pathlib import Path
from ftbench.measure import probe
log = Path(os.environ["FTBENCH_TEST_LOG"])
job = probe.Job(sys.argv[1:], Path.cwd(), dict(os.environ), log)
(result,) = probe.default_executor().run([job], stop_on_failure=False)
print(json.dumps(dataclasses.asdict(result)))
"""


def measure_in_fresh_harness(backend: str, argv: list[str], tmp_path: Path) -> dict[str, Any]:
    """Measure from a fresh, small interpreter: the direct backend's floor is the harness's
    own peak RSS, which in a long pytest session can exceed any target's. The interpreter is
    forked from /bin/sh, not from pytest, so it does not inherit pytest's high-water mark."""
    env = {**os.environ, "FTBENCH_PROBE": backend, "FTBENCH_TEST_LOG": str(tmp_path / "x.log")}
    via_sh = ["/bin/sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", FRESH_HARNESS, *argv]
    done = subprocess.run(
        via_sh, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_big_program_reports_at_least_its_allocation(backend: str, tmp_path: Path) -> None:
    result = measure_in_fresh_harness(
        backend, [sys.executable, "-c", "b = bytearray(200 * 2**20)"], tmp_path
    )
    assert result["exit_code"] == 0
    assert result["rss_exact"]
    assert result["max_rss_kb"] >= 200 * MiB, result
    assert result["max_rss_kb"] < 600 * MiB, result


def test_direct_backend_marks_small_target_as_not_exact(tmp_path: Path) -> None:
    result = measure_in_fresh_harness("direct", ["/bin/true"], tmp_path)
    assert result["exit_code"] == 0
    assert result["max_rss_kb"] is None
    assert result["rss_exact"] is False
    assert result["rss_floor_kb"] > 0


@pytest.mark.parametrize("backend", ["direct"], indirect=True)
def test_direct_backend_in_a_big_harness_never_reports_the_harness(
    backend: str, log: Path, tmp_path: Path
) -> None:
    ballast = _grow_harness()
    result = run(["/bin/true"], log, tmp_path)
    assert result.ok
    assert result.max_rss_kb is None or result.max_rss_kb < 10 * MiB
    assert not result.rss_exact
    assert result.rss_floor_kb >= 64 * MiB
    del ballast


def test_exit_codes(backend: str, log: Path, tmp_path: Path) -> None:
    failed = run(["sh", "-c", "exit 7"], log, tmp_path)
    assert failed.exit_code == 7
    assert not failed.ok
    assert not failed.timed_out
    killed = run(["sh", "-c", "kill -9 $$"], log, tmp_path)
    assert killed.exit_code == 128 + 9
    assert not killed.ok


def test_runs_in_cwd_with_env_and_output_goes_to_log(
    backend: str, log: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    env = {**os.environ, "FTBENCH_TEST_VALUE": "hello-env"}
    result = run(["sh", "-c", 'pwd; echo "$FTBENCH_TEST_VALUE"; echo err >&2'], log, work, env=env)
    assert result.ok
    text = (tmp_path / "out.log").read_text()
    assert str(work) in text
    assert "hello-env" in text
    assert "err" in text


def test_wall_time_of_a_sleep(backend: str, log: Path, tmp_path: Path) -> None:
    result = run(["sleep", "0.2"], log, tmp_path)
    assert result.ok
    assert 0.19 <= result.wall_s < 5
    assert result.user_s >= 0
    assert result.sys_s >= 0


def test_cpu_time_is_the_targets(backend: str, log: Path, tmp_path: Path) -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    result = run([sys.executable, "-c", spin], log, tmp_path)
    assert result.ok
    assert result.user_s + result.sys_s >= 0.25


def test_timeout_kills_the_whole_process_group(backend: str, log: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 30 & echo $! > '{pid_file}'; sleep 30"
    result = run(["sh", "-c", script], log, tmp_path, timeout_s=0.5)
    assert result.timed_out
    assert not result.ok
    assert result.exit_code == -1
    grandchild = int(pid_file.read_text())
    assert gone(grandchild), f"grandchild {grandchild} survived the timeout"


def test_background_grandchild_does_not_block_the_harness(
    backend: str, log: Path, tmp_path: Path
) -> None:
    """A command that leaves a daemon behind (a build server, say) must not hang the sample,
    and the daemon does not outlive the sample (issue 9: the tree is reaped after each)."""
    pid_file = tmp_path / "daemon.pid"
    result = run(["sh", "-c", f"sleep 30 & echo $! > '{pid_file}'"], log, tmp_path)
    try:
        assert result.ok
        assert result.wall_s < 10  # the harness did not wait for it
        assert gone(int(pid_file.read_text())), "the background grandchild outlived its sample"
    finally:
        import contextlib
        import signal

        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.parametrize("backend", ["forkserver"], indirect=True)
def test_missing_program_is_exit_127_with_a_message(
    backend: str, log: Path, tmp_path: Path
) -> None:
    result = run(["ftbench-no-such-program-xyz"], log, tmp_path)
    assert result.exit_code == 127
    assert "cannot run" in log.read_text()


def test_output_is_appended_to_the_log(backend: str, log: Path, tmp_path: Path) -> None:
    log.write_text("# header\n")  # the runner creates each log with its header
    assert run(["echo", "fresh"], log, tmp_path).ok
    assert log.read_text() == "# header\nfresh\n"


def _jobs(tmp_path: Path, *scripts: str) -> list[probe.Job]:
    return [
        probe.Job(["sh", "-c", script], tmp_path, dict(os.environ), tmp_path / f"{i}.log")
        for i, script in enumerate(scripts)
    ]


@pytest.mark.parametrize("stop", [True, False])
def test_a_batch_runs_in_order_and_may_stop_at_the_first_failure(
    backend: str, tmp_path: Path, stop: bool
) -> None:
    jobs = _jobs(tmp_path, "echo a", "echo b; exit 3", "echo c")
    executor = probe.default_executor()
    try:
        results = list(executor.run(jobs, stop_on_failure=stop))
    finally:
        executor.close()
    assert [r.exit_code for r in results] == ([0, 3] if stop else [0, 3, 0])
    assert [(tmp_path / f"{i}.log").exists() for i in range(3)] == [True, True, not stop]
    assert (tmp_path / "1.log").read_text() == "b\n"


def test_a_batch_closed_early_starts_nothing_more_and_the_server_goes_on(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    jobs = _jobs(tmp_path, "true", f"sleep 30 & echo $! > '{pid_file}'; sleep 30", "true")
    executor = probe.ForkServer()
    try:
        results = executor.run(jobs, stop_on_failure=False)
        assert next(results).ok
        results.close()  # the second job is running, or about to
        assert not (tmp_path / "2.log").exists()
        if pid_file.exists():
            assert gone(int(pid_file.read_text())), "the cancelled job's group survived"
        assert one(executor, _jobs(tmp_path, "true")[0]).ok
    finally:
        executor.close()


def test_rss_units_are_kib_on_every_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert probe._to_kib(200 * 2**20) == 200 * MiB  # macOS: bytes
    monkeypatch.setattr(sys, "platform", "linux")
    assert probe._to_kib(200 * MiB) == 200 * MiB  # Linux: KiB already


@pytest.mark.parametrize("platform", ["win32"])
def test_unsupported_platform_is_a_setup_error(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    with pytest.raises(SetupError, match="Linux and macOS only") as caught:
        probe.default_executor()
    assert caught.value.exit_code == 5


def test_probe_module_imports_without_resource() -> None:
    """On Windows ``resource`` does not exist: importing the measure package must not need it."""
    code = (
        "import sys; sys.modules['resource'] = None; "
        "import ftbench.measure.probe, ftbench.measure.runner; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_dead_server_is_replaced(log: Path, tmp_path: Path) -> None:
    executor = probe.ForkServer()
    try:
        assert one(executor, probe.Job(["true"], tmp_path, dict(os.environ), log)).ok
        server = executor._proc
        assert server is not None
        server.kill()
        server.wait()
        assert one(executor, probe.Job(["true"], tmp_path, dict(os.environ), log)).ok
        assert executor._proc is not None and executor._proc.pid != server.pid
    finally:
        executor.close()


def test_ctrl_c_kills_the_running_group_and_the_server_goes_on(log: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 30 & echo $! > '{pid_file}'; sleep 30"
    executor = probe.ForkServer()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            one(executor, probe.Job(["sh", "-c", script], tmp_path, dict(os.environ), log))
        assert gone(int(pid_file.read_text())), "the grandchild survived Ctrl-C"
        assert one(executor, probe.Job(["true"], tmp_path, dict(os.environ), log)).ok
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        executor.close()


@pytest.mark.parametrize("spawn", [True, False], ids=["posix_spawn", "fork"])
def test_server_starts_commands_alike_with_posix_spawn_or_fork(
    spawn: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of starting a command (fork where posix_spawn cannot start a session): a new
    session, the given directory, /dev/null in, stdout and stderr appended to the log."""
    from ftbench.measure import _forkserve

    monkeypatch.chdir(tmp_path)  # _spawn enters the command's directory itself
    monkeypatch.setattr(_forkserve, "_SPAWN_SETSID", spawn)
    work = tmp_path / "work"
    work.mkdir()
    log = tmp_path / "log"
    log.write_text("header\n")
    script = b"pwd; echo err >&2; cat; ps -o sid= -p $$"
    pid = _forkserve._spawn(
        os.fsencode(work),
        _forkserve._log(os.fsencode(log)),
        b"/bin/sh",
        [b"sh", b"-c", script],
        {b"PATH": os.fsencode(os.defpath)},
    )
    _, status, _ = os.wait4(pid, 0)
    _forkserve._close_logs()
    assert os.waitstatus_to_exitcode(status) == 0
    lines = log.read_text().split()
    assert lines[:3] == ["header", str(work), "err"]
    assert lines[3] == str(pid)  # it leads a session of its own


def test_server_falls_back_to_fork_when_posix_spawn_cannot_start_a_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftbench.measure import _forkserve

    def no_setsid(*args: Any, **kwargs: Any) -> int:
        raise NotImplementedError("setsid")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_forkserve, "_SPAWN_SETSID", True)
    monkeypatch.setattr(os, "posix_spawn", no_setsid)  # the module the server calls
    log = _forkserve._log(os.fsencode(tmp_path / "log"))
    pid = _forkserve._spawn(os.fsencode(tmp_path), log, b"/bin/true", [b"true"], {})
    assert os.waitstatus_to_exitcode(os.wait4(pid, 0)[1]) == 0
    _forkserve._close_logs()
    assert _forkserve._SPAWN_SETSID is False
