"""ftbench.measure.runner: cold clearing, warm-up, samples, failures, timeouts, logs.

Most tests drive the runner with a scripted executor (tests/fakes.py): no processes. A few
run real ones, where the behaviour is about processes (timeouts killing a group, output in
the logs, the default executor).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from fakes import FakeExecutor, Outcome, result
from ftbench.errors import SetupError, UnsafePathError
from ftbench.measure.config import Step, Target
from ftbench.measure.executor import RSS_SCOPE, Job
from ftbench.measure.runner import BenchResult, Progress, Runner, RunSettings
from processes import gone


def target(*steps: Step, tier: str = "t") -> Target:
    return Target("tier", tier, steps, "test")


def settings(**kwargs: object) -> RunSettings:
    base: dict[str, object] = {"mode": "custom", "cold_runs": 1, "warm_runs": 1, "warmup": 0}
    base.update(kwargs)
    return RunSettings(**base)  # type: ignore[arg-type]


def artifacts(root: Path) -> Path:
    return root / ".firsttry" / "bench_artifacts"


def run_logs(root: Path) -> Path:
    """The one run's own log folder (measure/logs.py)."""
    (folder,) = artifacts(root).glob("run-*")
    return folder


def run(
    root: Path, tgt: Target, sets: RunSettings, executor: FakeExecutor | None = None
) -> BenchResult:
    return Runner(tgt, sets, root, artifacts(root), executor=executor).run()


def phase_of(job: Job) -> str:
    return job.env["FT_BENCH_PHASE"]


class Recorder(Progress):
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def phase(self, name: str, total: int) -> None:
        self.events.append(("phase", name, total))

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        self.events.append(("sample", name, index, total, ok))

    def close(self) -> None:
        self.events.append(("close",))


def test_caches_are_cleared_before_every_cold_sample_and_kept_warm(tmp_repo: Path) -> None:
    seen: list[str] = []

    def command(job: Job) -> Outcome:  # what the real command would do: fill its cache
        cache = job.cwd / "cachedir"
        seen.append(f"{phase_of(job)} {len(os.listdir(cache)) if cache.is_dir() else 0}")
        cache.mkdir(exist_ok=True)
        (cache / f"entry-{len(seen)}").write_text("x" * 100)
        return result()

    recorder = Recorder()
    fake = FakeExecutor(respond=command)
    tgt = target(Step("count", ("counter",), cache=("cachedir",)))
    res = Runner(
        tgt,
        settings(cold_runs=3, warm_runs=2, warmup=1),
        tmp_repo,
        artifacts(tmp_repo),
        recorder,
        executor=fake,
    ).run()
    assert res.error is None
    assert seen == ["cold 0", "cold 0", "cold 0", "warmup 1", "warm 2", "warm 3"]
    assert [len(p.samples) for p in res.phases.values()] == [3, 2]  # warm-up not recorded
    cold, warm = res.phases["cold"].cache_usage, res.phases["warm"].cache_usage
    assert cold is not None and warm is not None
    assert (cold.files, warm.files, warm.bytes) == (1, 4, 400)
    assert recorder.events == [
        ("phase", "cold", 3),
        ("sample", "cold", 1, 3, True),
        ("sample", "cold", 2, 3, True),
        ("sample", "cold", 3, 3, True),
        ("phase", "warmup", 1),
        ("sample", "warmup", 1, 1, True),
        ("phase", "warm", 2),
        ("sample", "warm", 1, 2, True),
        ("sample", "warm", 2, 2, True),
        ("close",),
    ]
    assert fake.closed == 1


def test_clear_command_runs_before_each_cold_sample(tmp_repo: Path) -> None:
    clear = f"{sys.executable} -c \"open('cleared.txt', 'a').write('c')\""
    cleared_before: list[str] = []

    def command(job: Job) -> Outcome:
        cleared = job.cwd / "cleared.txt"
        cleared_before.append(cleared.read_text() if cleared.exists() else "")
        return result()

    tgt = target(Step("s", ("true",), clear=clear))
    res = run(
        tmp_repo, tgt, settings(cold_runs=3, warm_runs=2, warmup=1), FakeExecutor(respond=command)
    )
    assert res.error is None
    assert cleared_before == ["c", "cc", "ccc", "ccc", "ccc", "ccc"]


def test_failing_clear_command_is_a_setup_error(tmp_repo: Path) -> None:
    fake = FakeExecutor()
    res = run(tmp_repo, target(Step("s", ("true",), clear=("false",))), settings(), fake)
    assert isinstance(res.error, SetupError)
    assert "clear command" in str(res.error)
    assert fake.jobs == []


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_unsafe_cache_paths_are_refused_before_anything_runs(
    tmp_path: Path, tmp_repo: Path, kind: str
) -> None:
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
    fake = FakeExecutor()
    with pytest.raises(UnsafePathError):
        run(
            tmp_repo,
            target(Step("touch", ("touch", "x"), cache=(path,))),
            settings(cold_runs=2),
            fake,
        )
    assert fake.jobs == []
    assert not (tmp_repo / ".firsttry").exists()
    assert (outside / "precious.txt").read_text() == "keep"


def test_failure_stops_the_run_and_keeps_what_was_measured(tmp_repo: Path) -> None:
    fake = FakeExecutor(
        respond=lambda job: result(
            exit_code=0 if phase_of(job) == "cold" or job.argv[0] == "true" else 4
        )
    )
    tgt = target(Step("flaky", ("flaky",)), Step("after", ("true",)))
    res = run(tmp_repo, tgt, settings(cold_runs=2, warm_runs=3), fake)
    assert res.error is not None
    assert res.error.exit_code == 3
    assert re.search(
        r"step 'flaky' exited with code 4 in warm sample 1 "
        r"\(log: \.firsttry/bench_artifacts/run-[^/]+/warm-01-flaky\.log\)",
        str(res.error),
    )
    assert [s.ok for s in res.phases["cold"].samples] == [True, True]
    (failed,) = res.phases["warm"].samples
    assert not failed.ok
    assert failed.exit_code == 4
    assert [s.name for s in failed.steps] == ["flaky"]  # later steps of the sample skipped
    assert [(phase_of(j), j.argv[0]) for j in fake.jobs][-1] == ("warm", "flaky")
    assert len(fake.jobs) == 5


def test_allow_failure_keeps_sampling(tmp_repo: Path) -> None:
    fake = FakeExecutor(respond=lambda job: result(exit_code=1))
    res = run(
        tmp_repo,
        target(Step("fail", ("false",))),
        settings(cold_runs=2, warm_runs=2, warmup=1, allow_failure=True),
        fake,
    )
    assert res.error is None
    assert [len(p.samples) for p in res.phases.values()] == [2, 2]
    assert all(s.exit_code == 1 for p in res.phases.values() for s in p.samples)
    assert len(fake.jobs) == 5


def test_failure_during_warmup_is_reported(tmp_repo: Path) -> None:
    fake = FakeExecutor(respond=lambda job: result(exit_code=0 if phase_of(job) == "cold" else 2))
    res = run(tmp_repo, target(Step("w", ("w",))), settings(warmup=1), fake)
    assert res.error is not None and res.error.exit_code == 3
    assert "in warm-up run 1" in str(res.error)
    assert "warm" not in res.phases


def test_timed_out_sample_stops_the_run(tmp_repo: Path) -> None:
    fake = FakeExecutor([result(0.5, timed_out=True)])
    res = run(tmp_repo, target(Step("slow", ("slow",))), settings(cold_runs=2, timeout_s=0.5), fake)
    assert res.error is not None and res.error.exit_code == 3
    assert "step 'slow' timed out in cold sample 1" in str(res.error)
    (sample,) = res.phases["cold"].samples
    assert sample.timed_out and not sample.ok
    assert fake.jobs[0].timeout_s == pytest.approx(0.5, abs=0.05)


def test_timeout_budget_covers_the_whole_sample(tmp_repo: Path) -> None:
    def slow(job: Job) -> Outcome:
        time.sleep(0.05)  # the second step gets what the first left of the budget
        return result(0.05)

    fake = FakeExecutor(respond=slow)
    tgt = target(Step("a", ("a",)), Step("b", ("b",)))
    run(tmp_repo, tgt, settings(timeout_s=10.0, skip_warm=True), fake)
    first, second = (job.timeout_s for job in fake.jobs)
    assert first is not None and second is not None
    assert first <= 10.0
    assert second <= first - 0.05


def test_environment_of_the_target(tmp_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTBENCH_INHERITED", "yes")
    fake = FakeExecutor()
    tgt = target(Step("env", ("env",), env={"STEP_VAR": "{tier}/{mode}"}), tier="lite")
    assert run(tmp_repo, tgt, settings(max_procs=3), fake).error is None
    for job, phase in zip(fake.jobs, ["cold", "warm"], strict=True):
        assert job.cwd == tmp_repo.resolve()
        assert {
            k: job.env.get(k)
            for k in ("FT_BENCH_PHASE", "FT_MAX_PROCS", "FTBENCH_INHERITED", "STEP_VAR")
        } == {
            "FT_BENCH_PHASE": phase,
            "FT_MAX_PROCS": "3",
            "FTBENCH_INHERITED": "yes",
            "STEP_VAR": "lite/custom",
        }


def test_logs_have_a_header_and_earlier_logs_are_removed(tmp_repo: Path) -> None:
    logs = artifacts(tmp_repo)
    logs.mkdir(parents=True)
    (logs / "stale.log").write_text("old")
    (logs / "stale-dir").mkdir()
    (logs / "cold-01-hello_world.log").write_text("output of an earlier run\n")
    fake = FakeExecutor()
    res = run(tmp_repo, target(Step("hello world", ("echo", "hi"))), settings(skip_warm=True), fake)
    own = run_logs(tmp_repo)  # earlier runs' files are gone; this run has its own folder
    assert [p.name for p in logs.iterdir()] == [own.name]
    assert sorted(p.name for p in own.iterdir()) == [".lock", "cold-01-hello_world.log"]
    (sample,) = res.phases["cold"].samples
    assert sample.steps[0].log == f".firsttry/bench_artifacts/{own.name}/cold-01-hello_world.log"
    assert fake.jobs[0].log_path == own / "cold-01-hello_world.log"
    assert (tmp_repo / sample.steps[0].log).read_text() == (
        "# ftbench cold sample 1, step hello world: echo hi\n"
    )


def test_skip_phases(tmp_repo: Path) -> None:
    tgt = target(Step("t", ("true",)))
    assert list(run(tmp_repo, tgt, settings(skip_cold=True), FakeExecutor()).phases) == ["warm"]
    assert list(run(tmp_repo, tgt, settings(skip_warm=True), FakeExecutor()).phases) == ["cold"]


def test_sample_aggregates_its_steps(tmp_repo: Path) -> None:
    fake = FakeExecutor(
        [
            result(0.25, user_s=0.125, sys_s=0.0625, max_rss_kb=3000, rss_exact=False),
            result(0.5, user_s=0.25, sys_s=0.125, max_rss_kb=9000, exit_code=0),
        ]
    )
    res = run(
        tmp_repo, target(Step("a", ("a",)), Step("b", ("b",))), settings(skip_warm=True), fake
    )
    (sample,) = res.phases["cold"].samples
    assert (sample.wall_s, sample.user_s, sample.sys_s) == (0.75, 0.375, 0.1875)
    assert sample.max_rss_kb == 9000
    assert not sample.rss_exact
    assert sample.ok and sample.exit_code == 0 and not sample.timed_out
    assert res.started_at.microsecond == 0
    assert res.probe_backend == "fake"
    assert res.rss_scope == RSS_SCOPE == "largest process"


def test_interrupt_keeps_partial_results(tmp_repo: Path) -> None:
    fake = FakeExecutor([result(), KeyboardInterrupt()])
    res = run(tmp_repo, target(Step("t", ("true",))), settings(cold_runs=3), fake)
    assert res.error is not None and res.error.exit_code == 130
    assert len(res.phases["cold"].samples) == 1
    assert fake.closed == 1


def test_a_command_that_cannot_start_is_a_setup_error(tmp_repo: Path) -> None:
    fake = FakeExecutor([PermissionError(13, "Permission denied")])
    res = run(tmp_repo, target(Step("t", ("t",))), settings(), fake)
    assert isinstance(res.error, SetupError)
    assert "step 't': cannot run: Permission denied" in str(res.error)


# --- real processes ---------------------------------------------------------------------------


def test_unknown_probe_backend_is_refused(tmp_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTBENCH_PROBE", "native")
    with pytest.raises(SetupError, match="FTBENCH_PROBE=native is not a probe backend"):
        Runner(target(Step("t", ("true",))), settings(), tmp_repo, artifacts(tmp_repo))


@pytest.mark.parametrize("backend", ["forkserver", "direct"])
def test_real_run_writes_output_to_the_logs(
    tmp_repo: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTBENCH_PROBE", backend)
    code = "import os; print('phase', os.environ['FT_BENCH_PHASE'])"
    res = run(tmp_repo, target(Step("py", (sys.executable, "-c", code))), settings(warmup=1))
    assert res.error is None
    assert res.probe_backend == backend
    for phase, log in (("cold", "cold-01"), ("warmup", "warmup-01-01"), ("warm", "warm-01-01")):
        text = (run_logs(tmp_repo) / f"{log}-py.log").read_text()
        assert text.splitlines()[-1] == f"phase {phase}"


def test_timeout_kills_grandchildren_and_the_budget_spans_steps(tmp_repo: Path) -> None:
    pid_file = tmp_repo / "grandchild.pid"
    script = f"sleep 30 & echo $! > '{pid_file}'; sleep 30"
    tgt = target(Step("a", ("sleep", "0.3")), Step("slow", script, shell=True))
    res = run(tmp_repo, tgt, settings(cold_runs=2, timeout_s=1.0))
    assert res.error is not None and res.error.exit_code == 3
    assert "step 'slow' timed out in cold sample 1" in str(res.error)
    (sample,) = res.phases["cold"].samples
    assert [s.name for s in sample.steps] == ["a", "slow"]
    assert sample.steps[1].result.timed_out
    assert gone(int(pid_file.read_text())), "the grandchild survived the timeout"
