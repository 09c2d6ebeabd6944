"""Measure a target: cold samples (caches cleared before each), warm-up, warm samples.

The runner never raises in the middle of a run: an error stops the run and is recorded in
:attr:`BenchResult.error`, so whatever was measured before it still reaches the reports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ftbench import cache, probe
from ftbench.config import MODES, Step, Target
from ftbench.errors import EXIT_COMMAND_FAILED, FtbenchError, SetupError
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


class Runner:
    def __init__(self, target: Target, settings: RunSettings, repo_root: Path,
                 artifacts_dir: Path, progress: Progress | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.target = target
        self.settings = settings
        self.root = repo_root.resolve()
        self.artifacts = artifacts_dir
        self.progress = progress or Progress()
        self.clock = clock
        self.cache_paths = {
            step.name: cache.resolve_cache_paths(step.cache, self.root) for step in target.steps
        }
        self.base_env = dict(os.environ)
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
        self._reset_artifacts()
        try:
            if not self.settings.skip_cold:
                self._phase(result, "cold", self.settings.cold_runs)
            if not self.settings.skip_warm and not self._stopped(result):
                self._warmup(result)
                if not self._stopped(result):
                    self._phase(result, "warm", self.settings.warm_runs)
        except FtbenchError as exc:
            result.error = exc
        except KeyboardInterrupt:
            result.interrupted = True
            result.error = FtbenchError("interrupted", exit_code=130)
        finally:
            self.progress.close()
        return result

    def _stopped(self, result: BenchResult) -> bool:
        return result.error is not None or (
            not self.settings.allow_failure and result.failed_sample is not None)

    def _reset_artifacts(self) -> None:
        if self.artifacts.exists():
            shutil.rmtree(self.artifacts)
        self.artifacts.mkdir(parents=True, exist_ok=True)

    def _phase(self, result: BenchResult, name: str, count: int) -> None:
        phase = PhaseResult(name, count)
        result.phases[name] = phase
        self.progress.phase(name, count)
        for index in range(1, count + 1):
            if name == "cold":
                self._clear_caches()
            sample = self._sample(name, index)
            phase.samples.append(sample)
            self.progress.sample(name, index, count, sample.wall_s, sample.ok)
            if not sample.ok and not self.settings.allow_failure:
                failed = sample.steps[-1]
                what = "timed out" if failed.result.timed_out else (
                    f"exited with code {failed.result.exit_code}")
                result.error = FtbenchError(
                    f"step '{failed.name}' {what} in {name} sample {index} (log: {failed.log})",
                    exit_code=EXIT_COMMAND_FAILED)
                break
        phase.cache_usage = cache.usage(self.all_cache_paths())

    def _warmup(self, result: BenchResult) -> None:
        count = self.settings.warmup
        if count <= 0:
            return
        self.progress.phase("warmup", count)
        for index in range(1, count + 1):
            sample = self._sample("warmup", index)
            self.progress.sample("warmup", index, count, sample.wall_s, sample.ok)
            if not sample.ok and not self.settings.allow_failure:
                failed = sample.steps[-1]
                result.error = FtbenchError(
                    f"step '{failed.name}' failed during warm-up (log: {failed.log})",
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
        env = dict(self.base_env)
        env.update(step.env_for(self.target.tier, self.settings.mode))
        env["FT_BENCH_PHASE"] = phase
        return env

    def _sample(self, phase: str, index: int) -> Sample:
        tier, mode = self.target.tier, self.settings.mode
        steps: list[StepSample] = []
        budget = self.settings.timeout_s
        started = time.monotonic()
        for step in self.target.steps:
            argv = step.argv(tier, mode)
            log_path = self.artifacts / f"{phase}-{index:02d}-{_safe(step.name)}.log"
            remaining = None
            if budget is not None:
                remaining = max(0.001, budget - (time.monotonic() - started))
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            try:
                header = (f"# ftbench {phase} sample {index}, step {step.name}: "
                          f"{scrub(' '.join(argv))}\n")
                os.write(fd, header.encode())
                measured = probe.run_measured(argv, cwd=self.root, env=self._env(step, phase),
                                              log_fd=fd, timeout_s=remaining)
            except OSError as exc:
                raise SetupError(f"step '{step.name}': cannot run: {exc.strerror}") from None
            finally:
                os.close(fd)
            steps.append(StepSample(step.name, measured, self._relative(log_path)))
            if not measured.ok:
                break
        return Sample(phase, index, tuple(steps))

    def _relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
