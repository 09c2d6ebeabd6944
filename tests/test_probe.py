"""ftbench.measure.probe: wall/CPU time, peak RSS of the target (not the harness), exit codes, timeouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ftbench.measure import probe
from processes import gone

MiB = 1024  # ru_maxrss is in KiB
HAVE_GNU_TIME = os.access(probe.GNU_TIME, os.X_OK)
HAVE_NATIVE = probe.native_probe() is not None

BACKENDS = [
    pytest.param("native", marks=pytest.mark.skipif(
        not HAVE_NATIVE, reason="no C compiler: the native probe cannot be built")),
    pytest.param("gnu-time", marks=pytest.mark.skipif(
        not HAVE_GNU_TIME, reason=f"{probe.GNU_TIME} (GNU time) is not installed")),
    "direct",
]
EXACT_BACKENDS = BACKENDS[:2]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    monkeypatch.setenv("FTBENCH_PROBE", name)
    assert probe.backend() == name
    return name


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "out.log"


def run(argv: list[str], log: Path, cwd: Path, timeout_s: float | None = None,
        env: dict[str, str] | None = None) -> probe.ProcessResult:
    return probe.run_measured(argv, cwd=cwd, env=env or dict(os.environ), log_path=log,
                              timeout_s=timeout_s, header="# header\n")


def _grow_harness() -> bytearray:
    """Make the harness's own peak RSS clearly larger than a tiny target's."""
    block = bytearray(64 * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


@pytest.mark.parametrize("backend", EXACT_BACKENDS, indirect=True)
def test_true_reports_its_own_small_peak_rss(backend: str, log: Path, tmp_path: Path) -> None:
    ballast = _grow_harness()  # a harness-inherited figure would be >= 64 MiB
    result = run(["/bin/true"], log, tmp_path)
    assert result.ok
    assert result.rss_exact
    assert result.max_rss_kb is not None
    assert 0 < result.max_rss_kb < 10 * MiB, result
    del ballast


FRESH_HARNESS = """
import dataclasses, json, os, sys
from pathlib import Path
from ftbench.measure import probe
result = probe.run_measured(sys.argv[1:], cwd=Path.cwd(), env=dict(os.environ),
                            log_path=Path(os.environ["FTBENCH_TEST_LOG"]))
print(json.dumps(dataclasses.asdict(result)))
"""


def measure_in_fresh_harness(backend: str, argv: list[str], tmp_path: Path) -> dict[str, Any]:
    """Measure from a fresh, small interpreter: the direct backend's floor is the harness's
    own peak RSS, which in a long pytest session can exceed any target's. The interpreter is
    forked from /bin/sh, not from pytest, so it does not inherit pytest's high-water mark."""
    env = {**os.environ, "FTBENCH_PROBE": backend, "FTBENCH_TEST_LOG": str(tmp_path / "x.log")}
    via_sh = ["/bin/sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", FRESH_HARNESS, *argv]
    done = subprocess.run(via_sh, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_big_program_reports_at_least_its_allocation(backend: str, tmp_path: Path) -> None:
    result = measure_in_fresh_harness(
        backend, [sys.executable, "-c", "b = bytearray(200 * 2**20)"], tmp_path)
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
def test_direct_backend_in_a_big_harness_never_reports_the_harness(backend: str, log: Path,
                                                                   tmp_path: Path) -> None:
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


def test_runs_in_cwd_with_env_and_output_goes_to_log(backend: str, log: Path,
                                                     tmp_path: Path) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    env = {**os.environ, "FTBENCH_TEST_VALUE": "hello-env"}
    result = run(["sh", "-c", 'pwd; echo "$FTBENCH_TEST_VALUE"; echo err >&2'], log, work,
                 env=env)
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


def test_timeout_kills_the_whole_process_group(backend: str, log: Path,
                                               tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 30 & echo $! > '{pid_file}'; sleep 30"
    started = time.monotonic()
    result = run(["sh", "-c", script], log, tmp_path, timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert not result.ok
    assert result.exit_code == -1
    assert elapsed < 10
    grandchild = int(pid_file.read_text())
    assert gone(grandchild), f"grandchild {grandchild} survived the timeout"


def test_background_grandchild_does_not_block_the_harness(backend: str, log: Path,
                                                          tmp_path: Path) -> None:
    """A command that leaves a daemon behind (a build server, say) must not hang the sample."""
    pid_file = tmp_path / "daemon.pid"
    started = time.monotonic()
    result = run(["sh", "-c", f"sleep 5 & echo $! > '{pid_file}'"], log, tmp_path)
    elapsed = time.monotonic() - started
    try:
        assert result.ok
        assert elapsed < 3, f"harness waited {elapsed:.1f}s for a background grandchild"
    finally:
        import contextlib
        import signal

        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_missing_program_in_native_is_exit_127(monkeypatch: pytest.MonkeyPatch, log: Path,
                                               tmp_path: Path) -> None:
    if not HAVE_NATIVE:
        pytest.skip("no C compiler: the native probe cannot be built")
    monkeypatch.setenv("FTBENCH_PROBE", "native")
    result = run(["ftbench-no-such-program-xyz"], log, tmp_path)
    assert result.exit_code == 127
    assert "cannot run" in (tmp_path / "out.log").read_text()


def test_describe_backend_is_one_line(backend: str) -> None:
    text = probe.describe_backend()
    assert text
    assert "\n" not in text


def test_log_is_truncated_and_starts_with_the_header(backend: str, log: Path,
                                                     tmp_path: Path) -> None:
    log.write_text("stale output from an earlier run\n")
    assert run(["echo", "fresh"], log, tmp_path).ok
    assert log.read_text() == "# header\nfresh\n"


# --- run_many: queued samples --------------------------------------------------------------

def _jobs(tmp_path: Path, argv: list[str], count: int) -> list[probe.Job]:
    jobs = []
    for i in range(count):
        path = tmp_path / f"run-{i}.log"
        probe.prepare_log(path, f"# run {i}\n")
        jobs.append(probe.Job(argv, tmp_path, dict(os.environ), path))
    return jobs


def test_run_many_yields_every_result_in_order(backend: str, tmp_path: Path) -> None:
    script = "n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; exit $((n % 3))"
    results = list(probe.run_many(_jobs(tmp_path, ["sh", "-c", script], 7)))
    assert [r.exit_code for r in results] == [0, 1, 2, 0, 1, 2, 0]
    assert (tmp_path / "count").read_text().strip() == "7"
    assert "# run 6" in (tmp_path / "run-6.log").read_text()


@pytest.mark.parametrize("backend", ["native"], indirect=True)
def test_run_many_stopped_early_kills_and_cancels_the_queue(backend: str,
                                                           tmp_path: Path) -> None:
    # each run records its start, then runs for a while with a grandchild
    script = "echo $$ >> starts; sleep 30 & echo $! >> grandchildren; sleep 0.3; exit 1"
    results = probe.run_many(_jobs(tmp_path, ["sh", "-c", script], 6))
    first = next(results)
    assert first.exit_code == 1
    results.close()  # like the runner after a failure
    starts = (tmp_path / "starts").read_text().split()
    assert len(starts) <= 2, "queued runs must be cancelled, not run"
    first_grandchild, *killed = map(int, (tmp_path / "grandchildren").read_text().split())
    os.kill(first_grandchild, 9)  # the finished run's daemon is left alone, by design
    for pid in killed:  # the run that was under way when stopped: its whole group is gone
        assert gone(pid), f"grandchild {pid} survived"
    # the helper takes requests again after a cancel
    again = probe.run_measured(["true"], cwd=tmp_path, env=dict(os.environ),
                               log_path=tmp_path / "again.log")
    assert again.ok
