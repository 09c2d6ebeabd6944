"""Measure a target: cold samples (caches cleared before each), warm-up, warm samples.

The runner never raises in the middle of a run: an error stops the run and is recorded in
:attr:`BenchResult.error`, so whatever was measured before it still reaches the reports.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ftbench import paths
from ftbench.errors import EXIT_COMMAND_FAILED, FtbenchError, SetupError
from ftbench.measure import cache, probe, tools
from ftbench.measure.config import Step, Target
from ftbench.measure.executor import Executor, Job, ProcessResult
from ftbench.measure.load import REFERENCE_EVERY_S, REFERENCE_READINGS, LoadMeter, reference_ms
from ftbench.measure.logs import BATCH, RunLogs, discard_logs, mask_logs
from ftbench.measure.results import BenchResult as BenchResult
from ftbench.measure.results import PhaseResult as PhaseResult
from ftbench.measure.results import Progress as Progress
from ftbench.measure.results import RunSettings as RunSettings
from ftbench.measure.results import Sample as Sample
from ftbench.measure.results import StepSample as StepSample
from ftbench.measure.tree import TreeChanged, TreeGuard
from ftbench.redact import log_secrets, scrub, target_environ
from ftbench.signals import interrupted_error


def prepare_log(path: Path, header: str) -> None:
    """Create a log file holding ``header``; the command's output is appended to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, header.encode(errors="replace"))
    finally:
        os.close(fd)


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
        within: Path | None = None,
    ) -> None:
        """``within``: where the walk to ``artifacts_dir`` starts, no link allowed below it
        (:func:`ftbench.paths.anchor` of the report directory; default: the anchor of
        ``artifacts_dir`` itself)."""
        self.target = target
        self.settings = settings
        self.root = repo_root.resolve()
        self.artifacts = artifacts_dir  # this run's own folder in it once it starts
        self._within = within or paths.anchor(artifacts_dir, self.root)
        self._logs = RunLogs(artifacts_dir, self._within)
        self.progress = progress or Progress()
        self.clock = clock
        self._guarded = (artifacts_dir, *protected)
        self.cache_paths = self._resolve_caches()  # checked before any sample
        self.executor = executor if executor is not None else probe.default_executor()
        self.tree = TreeGuard(self.root, target.writes)  # checked after every sample
        self._restoring = target.writes == "restore"
        self._tree_error: FtbenchError | None = None  # a change seen after a step
        #: where the reference loop's readings of the current phase go (measure/load.py)
        self._refs: list[float] = []
        self._last_ref = 0.0  # time.monotonic() of the last reading between samples
        tier, mode = target.tier, settings.mode
        self._argv = {step.name: step.argv(tier, mode) for step in target.steps}
        # each step's command as log headers show it: secrets masked
        self._shown = {name: scrub(" ".join(argv)) for name, argv in self._argv.items()}
        self._envs: dict[tuple[str, str], dict[str, str]] = {}
        try:  # logs as reports show them: relative to the repository when inside it
            self._artifacts_shown = str(artifacts_dir.resolve().relative_to(self.root))
        except ValueError:
            self._artifacts_shown = str(artifacts_dir)
        self.base_env = target_environ(os.environ)  # no credentials (redact.py)
        #: masked in the logs once their commands ran (a pass_env'd one too)
        self._secrets = log_secrets(os.environ)
        if target.path:  # the user's environment (measure.interpreter)
            self.base_env["PATH"] = target.path
        if settings.max_procs is not None:
            self.base_env["FT_MAX_PROCS"] = str(settings.max_procs)
        else:  # `-n $FT_MAX_PROCS` always gets a value: the CPUs this process may use
            self.base_env.setdefault("FT_MAX_PROCS", str(_cpus()))

    def _resolve_caches(self) -> dict[str, list[Path]]:
        """Each step's cache paths; globs are expanded again before every cold sample."""
        return {
            step.name: cache.resolve_cache_paths(step.cache, self.root, self._guarded)
            for step in self.target.steps
        }

    def all_cache_paths(self) -> list[Path]:
        self.cache_paths = self._resolve_caches()
        seen: dict[Path, None] = {}
        for found in self.cache_paths.values():
            seen.update(dict.fromkeys(found))
        return list(seen)

    def begin(self) -> BenchResult:
        """A new, empty result; the previous run's logs are gone from here."""
        self._remove_stale_logs()
        self.tree.start()
        return BenchResult(
            self.target,
            self.settings,
            self.clock().replace(microsecond=0),
            probe_backend=self.executor.name,
            tree=self.tree.stats,
        )

    def run(self) -> BenchResult:
        result = BenchResult(
            self.target,
            self.settings,
            self.clock().replace(microsecond=0),
            probe_backend=self.executor.name,
        )
        meter = LoadMeter()
        try:
            result = self.begin()
            if not self.settings.skip_cold:
                self._phase(result, "cold", self.settings.cold_runs)
            if not self.settings.skip_warm and result.error is None:
                self._samples(result, "warmup", self.settings.warmup, record=None)
                if result.error is None:
                    self._phase(result, "warm", self.settings.warm_runs)
        except FtbenchError as exc:
            result.error = exc
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (ftbench.signals)
            result.error = interrupted_error(exc)
        finally:
            self.executor.close()
            self._logs.close()
            self.progress.close()
            result.load = meter.reading()
        return result

    def _phase(self, result: BenchResult, name: str, count: int) -> None:
        phase = PhaseResult(name, count)
        result.phases[name] = phase
        self._refs = phase.speed_refs
        self._refs += [reference_ms() for _ in range(REFERENCE_READINGS)]
        meter = LoadMeter()
        self._samples(result, name, count, record=phase)
        phase.pressure_pct = meter.reading().cpu_pressure_pct
        self._refs += [reference_ms() for _ in range(REFERENCE_READINGS)]
        self.end_phase(phase)

    def end_phase(self, phase: PhaseResult) -> None:
        """Record what the phase left in the caches."""
        phase.cache_usage = cache.usage(self.all_cache_paths())

    def _samples(
        self, result: BenchResult, name: str, count: int, record: PhaseResult | None
    ) -> None:
        """Run ``count`` samples of phase ``name`` (warm-up runs: ``record=None``)."""
        if count <= 0:
            return
        self.progress.phase(name, count)
        # One step and nothing to do between samples: the executor runs them back to back.
        batched = len(self.target.steps) == 1 and name != "cold" and not self._restoring
        samples = (
            self._batch(name, count)
            if batched
            else (self.sample(name, index) for index in range(1, count + 1))
        )
        with contextlib.closing(samples):
            self._record(result, name, count, record, samples, batched=batched)
        if batched and result.error is not None and not isinstance(result.error, TreeChanged):
            # a failure ended the batch before its check: a changed tree is what the run
            # stops on (the user's files come first)
            what = f"step '{self.target.steps[0].name}' in {_where(name)}"
            result.error = self.tree.check(what) or result.error

    def _record(
        self,
        result: BenchResult,
        name: str,
        count: int,
        record: PhaseResult | None,
        samples: Iterator[Sample],
        *,
        batched: bool = False,
    ) -> None:
        """``batched``: the tree is checked after each batch (``_batch``), never mid-batch."""
        for index, sample in enumerate(samples, 1):
            if record is not None:
                record.samples.append(sample)
            self.progress.sample(name, index, count, sample.wall_s, sample.ok)
            warmup = record is None
            failed = self.failure(sample, name, index, warmup=warmup)
            changed = None if batched else self.after_sample(sample, warmup=warmup)
            result.error = changed or failed  # a changed tree first: the user's files
            if result.error is not None:
                return

    def after_sample(self, sample: Sample, *, warmup: bool = False) -> FtbenchError | None:
        """The error that stops the run when a command changed the tracked files."""
        error, self._tree_error = self._tree_error, None
        if error is None and (len(self.target.steps) == 1 or self._restoring):
            error = self.tree.check(_what(sample, warmup))
        return error

    def failure(
        self, sample: Sample, name: str, index: int, *, warmup: bool = False
    ) -> FtbenchError | None:
        """The error that stops the run at ``sample``, or None when the run goes on."""
        failed = next((s for s in sample.steps if s.result.exit_code != 0), sample.steps[-1])
        asked = None if failed.result.ok else tools.input_hint(self.root / failed.log)
        if asked is None and (sample.ok or self.settings.allow_failure):
            return None
        timed_out = failed.result.timed_out
        what = "timed out" if timed_out else f"exited with code {failed.result.exit_code}"
        hint = "" if asked or timed_out else tools.findings_hint(failed.result.exit_code)
        return FtbenchError(
            f"step '{failed.name}' {what} in "
            f"{'warm-up run' if warmup else f'{name} sample'} {index}"
            f"{f': {asked}' if asked else ''} (log: {failed.log}){hint}",
            exit_code=EXIT_COMMAND_FAILED,
        )

    def _clear_caches(self) -> None:
        tier, mode = self.target.tier, self.settings.mode
        self.cache_paths = self._resolve_caches()  # what the previous sample wrote
        paths.remove(self._pycache("cold"), self._within, ignore_errors=True)
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

    def _pycache(self, phase: str) -> Path:
        """``PYTHONPYCACHEPREFIX`` of a ``pycache`` step: emptied before every cold sample,
        kept through the warm-up and warm samples."""
        return self.artifacts / "pycache" / ("cold" if phase == "cold" else "warm")

    def _log_path(self, phase: str, index: int, step: Step) -> Path:
        return self.artifacts / f"{phase}-{index:02d}-{_safe(step.name)}.log"

    def _remove_stale_logs(self) -> None:
        """This run's own log folder (measure/logs.py): finished runs' logs are removed, those
        of runs in progress kept; every log of this run is a new file. Creating one costs
        ~0.1 ms on ext4; truncating one that holds data and writing it again makes ext4 flush
        it to disk on close (auto_da_alloc), up to ~1 ms a sample (benchmarks/overhead.py)."""
        self.artifacts = self._logs.start()
        self._artifacts_shown = self._logs.shown(self.root)

    def _job(
        self,
        step: Step,
        phase: str,
        index: int,
        timeout_s: float | None,
        *,
        shared: Path | None = None,
    ) -> Job:
        """One step of one sample: its own log, created with a header naming it, or a line
        naming it in the ``shared`` log of its batch."""
        env = self._env(step, phase)
        if step.pycache:
            env = {**env, "PYTHONPYCACHEPREFIX": str(self._pycache(phase).resolve())}
        if shared is not None:
            header = f"# ftbench {phase} sample {index}\n".encode()
            return Job(self._argv[step.name], self.root, env, shared, timeout_s, header)
        log = self._log_path(phase, index, step)
        header_text = f"# ftbench {phase} sample {index}, step {step.name}: "
        with _cannot_run(step):
            prepare_log(log, header_text + self._shown[step.name] + "\n")
        return Job(self._argv[step.name], self.root, env, log, timeout_s)

    def _step_sample(self, step: Step, job: Job, measured: ProcessResult) -> StepSample:
        accepted = None
        if not measured.timed_out and (self.settings.ignore_failure or step.ok_exit_codes != (0,)):
            accepted = self.settings.ignore_failure or step.accepts(measured.exit_code)
        shown = f"{self._artifacts_shown}/{job.log_path.name}"
        return StepSample(step.name, measured, shown, accepted)

    def _stop_on_failure(self) -> bool:
        """Whether the executor may stop a batch at a non-zero exit (the runner decides
        otherwise: accepted exit codes, --allow-failure, --ignore-failure)."""
        custom = any(s.ok_exit_codes != (0,) for s in self.target.steps)
        return not (self.settings.allow_failure or self.settings.ignore_failure or custom)

    def _batch(self, phase: str, count: int) -> Generator[Sample, None, None]:
        """The samples of a one-step phase, run back to back by the executor in batches of
        ``logs.BATCH``. The samples of a batch share one log (``{phase}-{first}-{last}-
        {step}.log``, each sample's output after its header line): creating a file per
        sample cost 0.02-0.5 ms on ext4 here, most of ftbench's own cost per sample against
        ``hyperfine -N`` (``benchmarks/overhead.py``)."""
        step = self.target.steps[0]
        for first in range(1, count + 1, BATCH):
            numbers = range(first, min(first + BATCH, count + 1))
            log = self.artifacts / f"{phase}-{first:02d}-{numbers[-1]:02d}-{_safe(step.name)}.log"
            header = f"# ftbench {phase} samples {first}-{numbers[-1]}, step {step.name}: "
            with _cannot_run(step):
                prepare_log(log, header + self._shown[step.name] + "\n")
            jobs = [self._job(step, phase, i, self.settings.timeout_s, shared=log) for i in numbers]
            results = self.executor.run(jobs, stop_on_failure=self._stop_on_failure())
            ran = 0
            try:
                with contextlib.closing(results), _cannot_run(step):
                    for index, job, measured in zip(numbers, jobs, results, strict=False):
                        ran += 1
                        yield Sample(phase, index, (self._step_sample(step, job, measured),))
            finally:
                if ran:
                    mask_logs([log], self._secrets)
                else:
                    discard_logs([log])
            error = self.tree.check(f"step '{step.name}' in {_where(phase)} {first}-{numbers[-1]}")
            if error is not None:
                raise error  # the batch's samples are recorded: the run stops here
            if ran < len(jobs):
                return

    def sample(self, phase: str, index: int) -> Sample:
        """One sample of ``phase`` (``cold``: the caches are cleared first)."""
        if phase == "cold":
            self._clear_caches()
            now = time.monotonic()
            if now - self._last_ref >= REFERENCE_EVERY_S:  # between samples, never during one
                self._refs.append(reference_ms())
                self._last_ref = now
        steps: list[StepSample] = []
        logs: list[Path] = []
        budget = self.settings.timeout_s
        started = time.monotonic()
        try:
            for step in self.target.steps:
                remaining = None
                if budget is not None:
                    remaining = max(0.001, budget - (time.monotonic() - started))
                job = self._job(step, phase, index, remaining)
                logs.append(job.log_path)
                self.progress.step(phase, index, step.name)
                with _cannot_run(step):
                    (measured,) = self.executor.run([job], stop_on_failure=True)
                steps.append(self._step_sample(step, job, measured))
                if len(self.target.steps) > 1 and not self._restoring and not self._tree_error:
                    # a change is blamed on the step that made it (restore: on the sample)
                    what = f"step '{step.name}' in {_where(phase, index)}"
                    self._tree_error = self.tree.check(what)
                if not steps[-1].ok:
                    break
        finally:
            mask_logs(logs, self._secrets)  # between samples: never inside a timing
        return Sample(phase, index, tuple(steps))


@contextlib.contextmanager
def _cannot_run(step: Step) -> Iterator[None]:
    """An OSError starting a step (its log, the fork server) is a setup error."""
    try:
        yield
    except OSError as exc:
        raise SetupError(f"step '{step.name}': cannot run: {exc.strerror or exc}") from None


def _where(phase: str, index: int | None = None) -> str:
    """``warm sample 3``, ``warm-up run 1``; without ``index``: ``warm samples``."""
    name = "warm-up run" if phase == "warmup" else f"{phase} sample"
    return f"{name}s" if index is None else f"{name} {index}"


def _what(sample: Sample, warmup: bool) -> str:
    """``step 'x' in warm sample 3`` (one step), ``warm-up run 1`` (several)."""
    where = _where("warmup" if warmup else sample.phase, sample.index)
    return f"step '{sample.steps[0].name}' in {where}" if len(sample.steps) == 1 else where


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
