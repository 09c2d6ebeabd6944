"""Measure a target: cold samples (caches cleared before each), warm-up, warm samples.

The runner never raises in the middle of a run: an error stops the run and is recorded in
:attr:`BenchResult.error`, so whatever was measured before it still reaches the reports.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ftbench.errors import EXIT_COMMAND_FAILED, FtbenchError, SetupError
from ftbench.measure import cache, probe
from ftbench.measure.config import MODES, Step, Target, target_path
from ftbench.redact import scrub

PHASES = ("cold", "warm")


@dataclass(frozen=True)
class RunSettings:
    mode: str = "normal"
    cold_runs: int = MODES["normal"][0]
    warm_runs: int = MODES["normal"][1]
    warmup: int = MODES["normal"][2]
    skip_cold: bool = False
    skip_warm: bool = False
    timeout_s: float | None = None
    max_procs: int | None = None
    allow_failure: bool = False


@dataclass(frozen=True)
class StepSample:
    name: str
    result: probe.ProcessResult
    log: str  # path relative to the repository root


@dataclass(frozen=True)
class Sample:
    phase: str
    index: int
    steps: tuple[StepSample, ...]

    @property
    def wall_s(self) -> float:
        return sum(s.result.wall_s for s in self.steps)

    @property
    def user_s(self) -> float:
        return sum(s.result.user_s for s in self.steps)

    @property
    def sys_s(self) -> float:
        return sum(s.result.sys_s for s in self.steps)

    @property
    def max_rss_kb(self) -> int | None:
        known = [s.result.max_rss_kb for s in self.steps if s.result.max_rss_kb is not None]
        return max(known) if known else None

    @property
    def rss_exact(self) -> bool:
        return all(s.result.rss_exact for s in self.steps)

    @property
    def timed_out(self) -> bool:
        return any(s.result.timed_out for s in self.steps)

    @property
    def exit_code(self) -> int:
        return next((s.result.exit_code for s in self.steps if s.result.exit_code != 0), 0)

    @property
    def ok(self) -> bool:
        return all(s.result.ok for s in self.steps)


@dataclass
class PhaseResult:
    name: str
    planned: int
    samples: list[Sample] = field(default_factory=list)
    cache_usage: cache.CacheUsage | None = None


@dataclass
class BenchResult:
    target: Target
    settings: RunSettings
    started_at: datetime
    phases: dict[str, PhaseResult] = field(default_factory=dict)
    error: FtbenchError | None = None
    interrupted: bool = False
    probe_backend: str = ""

    @property
    def failed_sample(self) -> Sample | None:
        for phase in self.phases.values():
            for sample in phase.samples:
                if not sample.ok:
                    return sample
        return None


class Progress:
    """Receives progress events; the base class ignores them."""

    def phase(self, name: str, total: int) -> None:
        """A phase (``cold``, ``warmup``, ``warm``) starts with ``total`` runs."""

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        """Run ``index`` (1-based) of the phase finished."""

    def close(self) -> None:
        """The run is over."""


class LogFiles:
    """Log-file housekeeping in one background thread, off the samples' critical path.

    Creating a file costs ~0.3 ms on some file systems, as much as running ``/bin/true``, and
    deleting one ~0.1 ms; truncating an existing one costs a tenth of that. So each log is
    prepared (truncated, or created, with its header) by the thread ahead of its sample,
    reusing the previous run's file of the same name; the previous run's other logs (those
    this run will not write, ``planned`` being all it will) are deleted right after the first
    phase's logs are ready.
    """

    def __init__(self, artifacts: Path, planned: set[Path]) -> None:
        from concurrent.futures import Future, ThreadPoolExecutor

        artifacts.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftbench-logs")
        self._ready: dict[Path, Future[None]] = {}
        with os.scandir(artifacts) as entries:
            self._stale = [Path(e.path) for e in entries if Path(e.path) not in planned]

    def prepare(self, logs: list[tuple[Path, str]]) -> None:
        """Create ``(path, header)`` logs in order in the background; then drop stale ones."""
        for path, header in logs:
            self._ready[path] = self._pool.submit(probe.prepare_log, path, header)
        while self._stale:
            self._pool.submit(_remove, self._stale.pop())

    def wait(self, path: Path) -> None:
        future = self._ready.get(path)
        if future is None:
            raise SetupError(f"no log file was prepared for {path.name}")
        future.result()

    def close(self) -> None:
        """Finish the pending housekeeping (stale logs too, if no phase ran) and stop."""
        while self._stale:
            self._pool.submit(_remove, self._stale.pop())
        self._pool.shutdown(wait=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class Runner:
    def __init__(self, target: Target, settings: RunSettings, repo_root: Path,
                 artifacts_dir: Path, progress: Progress | None = None,
                 protected: tuple[Path, ...] = (),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.target = target
        self.settings = settings
        self.root = repo_root.resolve()
        self.artifacts = artifacts_dir
        self.progress = progress or Progress()
        self.clock = clock
        guarded = (artifacts_dir, *protected)
        self.cache_paths = {
            step.name: cache.resolve_cache_paths(step.cache, self.root, guarded)
            for step in target.steps
        }
        self._shown: dict[str, str] | None = None
        self._envs: dict[tuple[str, str], dict[str, str]] = {}
        self._artifacts_shown: str | None = None
        self.base_env = dict(os.environ)
        self.base_env["PATH"] = target_path(os.environ)
        if settings.max_procs is not None:
            self.base_env["FT_MAX_PROCS"] = str(settings.max_procs)

    def all_cache_paths(self) -> list[Path]:
        seen: dict[Path, None] = {}
        for paths in self.cache_paths.values():
            seen.update(dict.fromkeys(paths))
        return list(seen)

    def run(self) -> BenchResult:
        result = BenchResult(self.target, self.settings, self.clock().replace(microsecond=0),
                             probe_backend=probe.backend())
        self.logs = LogFiles(self.artifacts, self._planned_logs())
        try:
            if not self.settings.skip_cold:
                self._phase(result, "cold", self.settings.cold_runs)
            if not self.settings.skip_warm and not self._stopped(result):
                self._samples(result, "warmup", self.settings.warmup, record=None)
                if not self._stopped(result):
                    self._phase(result, "warm", self.settings.warm_runs)
        except FtbenchError as exc:
            result.error = exc
        except KeyboardInterrupt:
            result.interrupted = True
            result.error = FtbenchError("interrupted", exit_code=130)
        finally:
            self.logs.close()
            self.progress.close()
        return result

    def _stopped(self, result: BenchResult) -> bool:
        return result.error is not None

    def _phase(self, result: BenchResult, name: str, count: int) -> None:
        phase = PhaseResult(name, count)
        result.phases[name] = phase
        self._samples(result, name, count, record=phase)
        phase.cache_usage = cache.usage(self.all_cache_paths())

    def _samples(self, result: BenchResult, name: str, count: int,
                 record: PhaseResult | None) -> None:
        """Run ``count`` samples of phase ``name`` (warm-up runs: ``record=None``)."""
        if count <= 0:
            return
        self.progress.phase(name, count)
        self._prepare_logs(name, count)
        # One step and nothing to do between samples: queue them in the probe (run_many).
        pipelined = name != "cold" and len(self.target.steps) == 1
        samples = self._pipelined(name, count) if pipelined else (
            self._sample(name, index) for index in range(1, count + 1))
        with contextlib.closing(samples):
            self._consume(result, name, count, record, samples)

    def _consume(self, result: BenchResult, name: str, count: int,
                 record: PhaseResult | None, samples: Iterator[Sample]) -> None:
        for index, sample in enumerate(samples, 1):
            if record is not None:
                record.samples.append(sample)
            self.progress.sample(name, index, count, sample.wall_s, sample.ok)
            if not sample.ok and not self.settings.allow_failure:
                failed = sample.steps[-1]
                what = "timed out" if failed.result.timed_out else (
                    f"exited with code {failed.result.exit_code}")
                result.error = FtbenchError(
                    f"step '{failed.name}' {what} in "
                    f"{f'{name} sample' if record is not None else 'warm-up run'} {index} "
                    f"(log: {failed.log})",
                    exit_code=EXIT_COMMAND_FAILED)
                return

    def _clear_caches(self) -> None:
        tier, mode = self.target.tier, self.settings.mode
        for step in self.target.steps:
            cache.clear(self.cache_paths[step.name], self.root)
            clear_argv = step.clear_argv(tier, mode)
            if clear_argv is not None:
                self._run_clear(step, clear_argv)

    def _run_clear(self, step: Step, argv: list[str]) -> None:
        try:
            proc = subprocess.run(argv, cwd=self.root, env=self._env(step, "cold"),
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=600,
                                  check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SetupError(f"step '{step.name}': clear command failed: {exc}") from None
        if proc.returncode != 0:
            raise SetupError(f"step '{step.name}': clear command exited with code "
                             f"{proc.returncode}")

    def _env(self, step: Step, phase: str) -> dict[str, str]:
        key = (step.name, phase)
        env = self._envs.get(key)
        if env is None:
            env = dict(self.base_env)
            env.update(step.env_for(self.target.tier, self.settings.mode))
            env["FT_BENCH_PHASE"] = phase
            self._envs[key] = env
        return env

    def _log_path(self, phase: str, index: int, step: Step) -> Path:
        return self.artifacts / f"{phase}-{index:02d}-{_safe(step.name)}.log"

    def _planned_logs(self) -> set[Path]:
        s = self.settings
        phases = [("cold", 0 if s.skip_cold else s.cold_runs),
                  ("warmup", 0 if s.skip_warm else s.warmup),
                  ("warm", 0 if s.skip_warm else s.warm_runs)]
        return {self._log_path(phase, index, step) for phase, count in phases
                for index in range(1, count + 1) for step in self.target.steps}

    def _prepare_logs(self, phase: str, count: int) -> None:
        shown = self._shown_commands()
        self.logs.prepare([
            (self._log_path(phase, index, step),
             f"# ftbench {phase} sample {index}, step {step.name}: {shown[step.name]}\n")
            for index in range(1, count + 1) for step in self.target.steps])

    def _pipelined(self, phase: str, count: int) -> Generator[Sample, None, None]:
        """The samples of a one-step phase, measured with :func:`probe.run_many`."""
        step = self.target.steps[0]
        argv = step.argv(self.target.tier, self.settings.mode)
        env = self._env(step, phase)
        paths = [self._log_path(phase, index, step) for index in range(1, count + 1)]

        def jobs() -> Iterator[probe.Job]:
            for path in paths:
                self.logs.wait(path)
                yield probe.Job(argv, self.root, env, path, self.settings.timeout_s)

        results = probe.run_many(jobs())
        with contextlib.closing(results):
            for index, (path, measured) in enumerate(zip(paths, results, strict=False), 1):
                log = self._relative(path.name)
                yield Sample(phase, index, (StepSample(step.name, measured, log),))

    def _sample(self, phase: str, index: int) -> Sample:
        if phase == "cold":
            self._clear_caches()
        tier, mode = self.target.tier, self.settings.mode
        steps: list[StepSample] = []
        budget = self.settings.timeout_s
        started = time.monotonic()
        for step in self.target.steps:
            argv = step.argv(tier, mode)
            log_path = self._log_path(phase, index, step)
            remaining = None
            if budget is not None:
                remaining = max(0.001, budget - (time.monotonic() - started))
            try:
                self.logs.wait(log_path)
                measured = probe.run_measured(argv, cwd=self.root, env=self._env(step, phase),
                                              log_path=log_path, timeout_s=remaining,
                                              header=None)
            except OSError as exc:
                raise SetupError(f"step '{step.name}': cannot run: {exc.strerror}") from None
            steps.append(StepSample(step.name, measured, self._relative(log_path.name)))
            if not measured.ok:
                break
        return Sample(phase, index, tuple(steps))

    def _shown_commands(self) -> dict[str, str]:
        """Each step's command as log headers show it: secrets masked (computed once)."""
        if self._shown is None:
            tier, mode = self.target.tier, self.settings.mode
            self._shown = {s.name: scrub(" ".join(s.argv(tier, mode))) for s in self.target.steps}
        return self._shown

    def _relative(self, log_name: str) -> str:
        """A log's path as reports show it: relative to the repository when inside it."""
        if self._artifacts_shown is None:
            try:
                self._artifacts_shown = str(self.artifacts.resolve().relative_to(self.root))
            except ValueError:
                self._artifacts_shown = str(self.artifacts)
        return f"{self._artifacts_shown}/{log_name}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
