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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ftbench.errors import EXIT_COMMAND_FAILED, FtbenchError, SetupError
from ftbench.measure import cache, probe
from ftbench.measure.config import MODES, Step, Target, target_path
from ftbench.measure.executor import RSS_SCOPE, Executor, Job, ProcessResult
from ftbench.redact import scrub


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
    result: ProcessResult
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
    probe_backend: str = ""
    rss_scope: str = RSS_SCOPE  # what max_rss_kb covers (see executor.RSS_SCOPE)


class Progress:
    """Receives progress events; the base class ignores them."""

    def phase(self, name: str, total: int) -> None:
        """A phase (``cold``, ``warmup``, ``warm``) starts with ``total`` runs."""

    def sample(self, name: str, index: int, total: int, wall_s: float, ok: bool) -> None:
        """Run ``index`` (1-based) of the phase finished."""

    def close(self) -> None:
        """The run is over."""


def prepare_log(path: Path, header: str) -> None:
    """Create (or truncate) a log file holding ``header``; the command's output follows."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, header.encode(errors="replace"))
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class Runner:
    def __init__(
        self,
        target: Target,
        settings: RunSettings,
        repo_root: Path,
        artifacts_dir: Path,
        progress: Progress | None = None,
        protected: tuple[Path, ...] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        executor: Executor | None = None,
    ) -> None:
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
        self.executor = executor if executor is not None else probe.default_executor()
        tier, mode = target.tier, settings.mode
        self._argv = {step.name: step.argv(tier, mode) for step in target.steps}
        # each step's command as log headers show it: secrets masked
        self._shown = {name: scrub(" ".join(argv)) for name, argv in self._argv.items()}
        self._envs: dict[tuple[str, str], dict[str, str]] = {}
        try:  # logs as reports show them: relative to the repository when inside it
            self._artifacts_shown = str(artifacts_dir.resolve().relative_to(self.root))
        except ValueError:
            self._artifacts_shown = str(artifacts_dir)
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
        result = BenchResult(
            self.target,
            self.settings,
            self.clock().replace(microsecond=0),
            probe_backend=self.executor.name,
        )
        try:
            self._remove_stale_logs()
            if not self.settings.skip_cold:
                self._phase(result, "cold", self.settings.cold_runs)
            if not self.settings.skip_warm and result.error is None:
                self._samples(result, "warmup", self.settings.warmup, record=None)
                if result.error is None:
                    self._phase(result, "warm", self.settings.warm_runs)
        except FtbenchError as exc:
            result.error = exc
        except KeyboardInterrupt:
            result.error = FtbenchError("interrupted", exit_code=130)
        finally:
            self.executor.close()
            self.progress.close()
        return result

    def _phase(self, result: BenchResult, name: str, count: int) -> None:
        phase = PhaseResult(name, count)
        result.phases[name] = phase
        self._samples(result, name, count, record=phase)
        phase.cache_usage = cache.usage(self.all_cache_paths())

    def _samples(
        self, result: BenchResult, name: str, count: int, record: PhaseResult | None
    ) -> None:
        """Run ``count`` samples of phase ``name`` (warm-up runs: ``record=None``)."""
        if count <= 0:
            return
        self.progress.phase(name, count)
        for index in range(1, count + 1):
            sample = self._sample(name, index)
            if record is not None:
                record.samples.append(sample)
            self.progress.sample(name, index, count, sample.wall_s, sample.ok)
            if not sample.ok and not self.settings.allow_failure:
                failed = sample.steps[-1]
                what = (
                    "timed out"
                    if failed.result.timed_out
                    else (f"exited with code {failed.result.exit_code}")
                )
                result.error = FtbenchError(
                    f"step '{failed.name}' {what} in "
                    f"{f'{name} sample' if record is not None else 'warm-up run'} {index} "
                    f"(log: {failed.log})",
                    exit_code=EXIT_COMMAND_FAILED,
                )
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
            proc = subprocess.run(
                argv,
                cwd=self.root,
                env=self._env(step, "cold"),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SetupError(f"step '{step.name}': clear command failed: {exc}") from None
        if proc.returncode != 0:
            raise SetupError(
                f"step '{step.name}': clear command exited with code {proc.returncode}"
            )

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
        phases = [
            ("cold", 0 if s.skip_cold else s.cold_runs),
            ("warmup", 0 if s.skip_warm else s.warmup),
            ("warm", 0 if s.skip_warm else s.warm_runs),
        ]
        return {
            self._log_path(phase, index, step)
            for phase, count in phases
            for index in range(1, count + 1)
            for step in self.target.steps
        }

    def _remove_stale_logs(self) -> None:
        """Delete what a previous run left in the artifacts directory, except the logs this
        run will write again (truncating a file is cheaper than creating one)."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        planned = self._planned_logs()
        with os.scandir(self.artifacts) as entries:
            stale = [Path(e.path) for e in entries if Path(e.path) not in planned]
        for path in stale:
            _remove(path)

    def _sample(self, phase: str, index: int) -> Sample:
        if phase == "cold":
            self._clear_caches()
        steps: list[StepSample] = []
        budget = self.settings.timeout_s
        started = time.monotonic()
        for step in self.target.steps:
            log_path = self._log_path(phase, index, step)
            remaining = None
            if budget is not None:
                remaining = max(0.001, budget - (time.monotonic() - started))
            try:
                prepare_log(
                    log_path,
                    f"# ftbench {phase} sample {index}, step {step.name}: "
                    f"{self._shown[step.name]}\n",
                )
                measured = self.executor.run(
                    Job(
                        self._argv[step.name],
                        self.root,
                        self._env(step, phase),
                        log_path,
                        remaining,
                    )
                )
            except OSError as exc:
                raise SetupError(f"step '{step.name}': cannot run: {exc.strerror}") from None
            steps.append(
                StepSample(step.name, measured, f"{self._artifacts_shown}/{log_path.name}")
            )
            if not measured.ok:
                break
        return Sample(phase, index, tuple(steps))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
