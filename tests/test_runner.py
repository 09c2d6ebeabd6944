"""ftbench.measure.runner: cold clearing, warm-up, samples, failures, timeouts, logs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from ftbench.errors import SetupError, UnsafePathError
from ftbench.measure import runner as runner_mod
from ftbench.measure.config import Step, Target
from ftbench.measure.runner import BenchResult, Runner, RunSettings

# Counts the entries of its cache directory, records "<phase> <count>" in a side file outside
# the cache, then adds one entry: a cold sample must always see 0.
COUNTER = """
import os, pathlib
cache = pathlib.Path('cachedir')
n = len(os.listdir(cache)) if cache.is_dir() else 0
with open('counts.txt', 'a') as fh:
    fh.write(f"{os.environ['FT_BENCH_PHASE']} {n}\\n")
cache.mkdir(exist_ok=True)
(cache / f'entry-{os.getpid()}').write_text('x' * 100)
print('seen', n)
"""


def target(*steps: Step, tier: str = "t") -> Target:
    return Target("tier", tier, steps, "test")


def py_step(name: str, code: str, **kwargs: object) -> Step:
    return Step(name, (sys.executable, "-c", code), **kwargs)  # type: ignore[arg-type]


def settings(**kwargs: object) -> RunSettings:
    base: dict[str, object] = {"mode": "custom", "cold_runs": 1, "warm_runs": 1, "warmup": 0}
    base.update(kwargs)
    return RunSettings(**base)  # type: ignore[arg-type]


def run(root: Path, tgt: Target, sets: RunSettings) -> BenchResult:
    return Runner(tgt, sets, root, root / ".firsttry" / "bench_artifacts").run()


class Recorder(runner_mod.Progress):
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def phase(self, name: str, total: int) -> None:
        self.events.append(("phase", name, total))

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        self.events.append(("sample", name, index, total, ok))

    def close(self) -> None:
        self.events.append(("close",))


def test_caches_are_cleared_before_every_cold_sample_and_kept_warm(tmp_repo: Path) -> None:
    recorder = Recorder()
    tgt = target(py_step("count", COUNTER, cache=("cachedir",)))
    result = Runner(tgt, settings(cold_runs=3, warm_runs=2, warmup=1), tmp_repo,
                    tmp_repo / ".firsttry" / "bench_artifacts", recorder).run()
    assert result.error is None
    counts = (tmp_repo / "counts.txt").read_text().split("\n")[:-1]
    assert counts == ["cold 0", "cold 0", "cold 0", "warmup 1", "warm 2", "warm 3"]
    # the logs say the same, sample by sample
    logs = tmp_repo / ".firsttry" / "bench_artifacts"
    for i in (1, 2, 3):
        assert "seen 0" in (logs / f"cold-{i:02d}-count.log").read_text()
    assert "seen 2" in (logs / "warm-01-count.log").read_text()
    assert "seen 3" in (logs / "warm-02-count.log").read_text()
    assert [len(p.samples) for p in result.phases.values()] == [3, 2]
    assert result.phases["cold"].cache_usage is not None
    assert result.phases["cold"].cache_usage.files == 1
    assert result.phases["warm"].cache_usage.files == 4  # type: ignore[union-attr]
    assert result.phases["warm"].cache_usage.bytes == 400  # type: ignore[union-attr]
    assert recorder.events == [
        ("phase", "cold", 3), ("sample", "cold", 1, 3, True), ("sample", "cold", 2, 3, True),
        ("sample", "cold", 3, 3, True), ("phase", "warmup", 1),
        ("sample", "warmup", 1, 1, True), ("phase", "warm", 2),
        ("sample", "warm", 1, 2, True), ("sample", "warm", 2, 2, True), ("close",)]


def test_clear_command_runs_before_each_cold_sample(tmp_repo: Path) -> None:
    clear = f"{sys.executable} -c \"open('cleared.txt', 'a').write('c')\""
    tgt = target(Step("s", ("true",), clear=clear))
    result = run(tmp_repo, tgt, settings(cold_runs=3, warm_runs=2, warmup=1))
    assert result.error is None
    assert (tmp_repo / "cleared.txt").read_text() == "ccc"


def test_failing_clear_command_is_a_setup_error(tmp_repo: Path) -> None:
    tgt = target(Step("s", ("true",), clear=("false",)))
    result = run(tmp_repo, tgt, settings())
    assert isinstance(result.error, SetupError)
    assert "clear command" in str(result.error)


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_unsafe_cache_paths_are_refused_before_anything_runs(tmp_path: Path, tmp_repo: Path,
                                                             kind: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    if kind == "dotdot":
        path = "../outside"
    elif kind == "absolute":
        path = str(outside)
    else:
        (tmp_repo / "escape").symlink_to(outside, target_is_directory=True)
        path = "escape"
    tgt = target(Step("touch", ("touch", "ran.txt"), cache=(path,)))
    with pytest.raises(UnsafePathError):
        run(tmp_repo, tgt, settings(cold_runs=2))
    assert not (tmp_repo / "ran.txt").exists()
    assert not (tmp_repo / ".firsttry").exists()
    assert (outside / "precious.txt").read_text() == "keep"


def test_failure_stops_the_run_and_keeps_what_was_measured(tmp_repo: Path) -> None:
    code = "import os, sys; sys.exit(0 if os.environ['FT_BENCH_PHASE'] == 'cold' else 4)"
    tgt = target(py_step("flaky", code), Step("after", ("true",)))
    result = run(tmp_repo, tgt, settings(cold_runs=2, warm_runs=3))
    assert result.error is not None
    assert result.error.exit_code == 3
    assert "step 'flaky' exited with code 4 in warm sample 1" in str(result.error)
    assert [s.ok for s in result.phases["cold"].samples] == [True, True]
    (failed,) = result.phases["warm"].samples
    assert not failed.ok
    assert failed.exit_code == 4
    assert [s.name for s in failed.steps] == ["flaky"]  # later steps of the sample skipped
    assert result.failed_sample is failed


def test_allow_failure_keeps_sampling(tmp_repo: Path) -> None:
    tgt = target(Step("fail", ("false",)))
    result = run(tmp_repo, tgt, settings(cold_runs=2, warm_runs=2, warmup=1,
                                         allow_failure=True))
    assert result.error is None
    assert [len(p.samples) for p in result.phases.values()] == [2, 2]
    assert all(s.exit_code == 1 for p in result.phases.values() for s in p.samples)


def test_failure_during_warmup_is_reported(tmp_repo: Path) -> None:
    code = "import os, sys; sys.exit(0 if os.environ['FT_BENCH_PHASE'] == 'cold' else 2)"
    result = run(tmp_repo, target(py_step("w", code)), settings(warmup=1))
    assert result.error is not None and result.error.exit_code == 3
    assert "warm-up" in str(result.error)
    assert "warm" not in result.phases


def test_timeout_marks_the_sample_and_kills_grandchildren(tmp_repo: Path) -> None:
    pid_file = tmp_repo / "grandchild.pid"
    script = f"sleep 30 & echo $! > '{pid_file}'; sleep 30"
    started = time.monotonic()
    result = run(tmp_repo, target(Step("slow", script, shell=True)),
                 settings(cold_runs=2, timeout_s=0.5))
    assert time.monotonic() - started < 15
    assert result.error is not None and result.error.exit_code == 3
    assert "timed out" in str(result.error)
    (sample,) = result.phases["cold"].samples
    assert sample.timed_out
    assert not sample.ok
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        stat = Path(f"/proc/{grandchild}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            break  # killed, waiting for its new parent to reap it
        time.sleep(0.02)
    else:
        pytest.fail(f"grandchild {grandchild} survived the timeout")


def test_timeout_budget_covers_the_whole_sample(tmp_repo: Path) -> None:
    tgt = target(Step("a", ("sleep", "0.3")), Step("b", ("sleep", "0.3")))
    result = run(tmp_repo, tgt, settings(timeout_s=0.45, skip_warm=True))
    (sample,) = result.phases["cold"].samples
    assert [s.name for s in sample.steps] == ["a", "b"]
    assert sample.steps[1].result.timed_out


def test_environment_of_the_target(tmp_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTBENCH_INHERITED", "yes")
    code = ("import os; print('|'.join(os.environ.get(k, '-') for k in "
            "('FT_BENCH_PHASE', 'FT_MAX_PROCS', 'FTBENCH_INHERITED', 'STEP_VAR')))")
    tgt = target(py_step("env", code, env={"STEP_VAR": "{tier}/{mode}"}), tier="lite")
    result = run(tmp_repo, tgt, settings(max_procs=3))
    assert result.error is None
    logs = tmp_repo / ".firsttry" / "bench_artifacts"
    assert "cold|3|yes|lite/custom" in (logs / "cold-01-env.log").read_text()
    assert "warm|3|yes|lite/custom" in (logs / "warm-01-env.log").read_text()


def test_logs_have_a_header_and_earlier_logs_are_removed(tmp_repo: Path) -> None:
    logs = tmp_repo / ".firsttry" / "bench_artifacts"
    logs.mkdir(parents=True)
    (logs / "stale.log").write_text("old")
    tgt = target(Step("hello world", ("echo", "hi")))
    result = run(tmp_repo, tgt, settings(skip_warm=True))
    assert not (logs / "stale.log").exists()
    (sample,) = result.phases["cold"].samples
    assert sample.steps[0].log == ".firsttry/bench_artifacts/cold-01-hello_world.log"
    lines = (tmp_repo / sample.steps[0].log).read_text().splitlines()
    assert lines[0].startswith("# ftbench cold sample 1, step hello world: echo hi")
    assert lines[1] == "hi"


def test_skip_phases(tmp_repo: Path) -> None:
    tgt = target(Step("t", ("true",)))
    assert list(run(tmp_repo, tgt, settings(skip_cold=True)).phases) == ["warm"]
    assert list(run(tmp_repo, tgt, settings(skip_warm=True)).phases) == ["cold"]


def test_sample_aggregates_steps(tmp_repo: Path) -> None:
    tgt = target(Step("a", ("sleep", "0.05")), Step("b", ("sleep", "0.05")))
    result = run(tmp_repo, tgt, settings(skip_warm=True))
    (sample,) = result.phases["cold"].samples
    assert sample.wall_s == pytest.approx(sum(s.result.wall_s for s in sample.steps))
    assert sample.wall_s >= 0.1
    assert sample.ok and sample.exit_code == 0 and not sample.timed_out
    assert result.started_at.microsecond == 0
    assert result.probe_backend in {"native", "gnu-time", "direct"}


def test_interrupt_is_recorded(tmp_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = runner_mod.probe.run_measured

    def interrupted(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_mod.probe, "run_measured", interrupted)
    result = run(tmp_repo, target(Step("t", ("true",))), settings(cold_runs=3))
    assert result.interrupted
    assert result.error is not None and result.error.exit_code == 130
    assert len(result.phases["cold"].samples) == 1
