"""Build the report (:class:`~ftbench.report.model.Report`) from what the runner measured."""

from __future__ import annotations

import statistics
import uuid

from ftbench import __version__
from ftbench.measure import runner as measured
from ftbench.measure.config import Step
from ftbench.measure.load import LoadReading
from ftbench.measure.machine import Machine
from ftbench.measure.worktree import BaseRef
from ftbench.redact import scrub, scrub_argv
from ftbench.report.model import (
    SCHEMA_VERSION,
    BaseSide,
    CacheSize,
    MachineLoad,
    Measurement,
    Phase,
    Report,
    Runs,
    Sample,
    Settings,
    StepSample,
    TargetInfo,
    TargetStep,
    Tool,
    TreeCheck,
)
from ftbench.report.summary import summarize


def _round(value: float, digits: int = 6) -> float:
    return round(value, digits)


def _sample(sample: measured.Sample) -> Sample:
    return Sample(
        index=sample.index,
        wall_s=_round(sample.wall_s),
        user_s=_round(sample.user_s),
        sys_s=_round(sample.sys_s),
        max_rss_kb=sample.max_rss_kb,
        rss_exact=sample.rss_exact,
        exit_code=sample.exit_code,
        timed_out=sample.timed_out,
        ok=sample.ok,
        steps=tuple(
            StepSample(
                name=s.name,
                wall_s=_round(s.result.wall_s),
                user_s=_round(s.result.user_s),
                sys_s=_round(s.result.sys_s),
                max_rss_kb=s.result.max_rss_kb,
                rss_exact=s.result.rss_exact,
                rss_floor_kb=s.result.rss_floor_kb or None,
                exit_code=s.result.exit_code,
                timed_out=s.result.timed_out,
                log=s.log,
            )
            for s in sample.steps
        ),
    )


def _median(values: list[float]) -> float | None:
    median = summarize(values).median
    return None if median is None else _round(median)


def _phase(phase: measured.PhaseResult) -> Phase:
    ok_samples = [s for s in phase.samples if s.ok]
    wall = summarize([s.wall_s for s in ok_samples])
    step_names = list(dict.fromkeys(st.name for s in phase.samples for st in s.steps))
    rss = [s.max_rss_kb for s in ok_samples if s.max_rss_kb is not None]
    first_bad = next((s for s in phase.samples if not s.ok), None)
    usage = phase.cache_usage
    refs = phase.speed_refs
    return Phase(
        elapsed_s=None if wall.median is None else _round(wall.median),
        ok=bool(phase.samples) and first_bad is None and len(phase.samples) == phase.planned,
        exit_code=first_bad.exit_code if first_bad else 0,
        planned=phase.planned,
        failed_samples=sum(1 for s in phase.samples if not s.ok),
        timed_out_samples=sum(1 for s in phase.samples if s.timed_out),
        stats=wall,
        user_s_median=_median([s.user_s for s in ok_samples]),
        sys_s_median=_median([s.sys_s for s in ok_samples]),
        max_rss_kb=max(rss) if rss else None,
        rss_exact=all(s.rss_exact for s in ok_samples) if ok_samples else False,
        steps={
            name: summarize(
                [st.result.wall_s for s in ok_samples for st in s.steps if st.name == name]
            )
            for name in step_names
        },
        cache=CacheSize(bytes=usage.bytes, files=usage.files) if usage else None,
        samples=tuple(_sample(s) for s in phase.samples),
        speed_ref_ms=_round(statistics.median(refs), 4) if refs else None,
        cpu_pressure_pct=None if phase.pressure_pct is None else round(phase.pressure_pct, 1),
    )


def _target_step(step: Step) -> TargetStep:
    """A configured step as the report shows it: templates, secrets masked."""

    def shown(cmd: str | tuple[str, ...]) -> str | tuple[str, ...]:
        return scrub(cmd) if isinstance(cmd, str) else scrub_argv(cmd)

    return TargetStep(
        name=step.name,
        cmd=shown(step.cmd),
        shell=step.shell,
        cache=tuple(step.cache),
        clear=None if step.clear is None else shown(step.clear),
        env={k: scrub(f"{k}={v}").split("=", 1)[1] for k, v in step.env.items()},
    )


def build_runs(result: measured.BenchResult) -> Runs:
    """The ``runs`` block of a measured result."""
    phases = {name: _phase(phase) for name, phase in result.phases.items()}
    return Runs(cold=phases.get("cold"), warm=phases.get("warm"))


def _load(reading: LoadReading | None, runs: Runs) -> MachineLoad | None:
    if reading is None:
        return None
    phase = runs.warm or runs.cold
    ratio = None
    if phase is not None and phase.stats.median and phase.user_s_median is not None:
        cpu = phase.user_s_median + (phase.sys_s_median or 0.0)
        ratio = round(phase.stats.median / cpu, 2) if cpu > 0 else None
    return MachineLoad(
        cpus=reading.cpus,
        load1=reading.load1,
        cpu_pressure_pct=reading.cpu_pressure_pct,
        steal_pct=reading.steal_pct,
        wall_cpu_ratio=ratio,
    )


def base_side(
    base: measured.BenchResult,
    *,
    ref: BaseRef,
    order: str,
    setup: str | None,
    stopped: dict[str, str],
    tool_versions: dict[str, str | None],
    imports: str | None = None,
) -> BaseSide:
    """The ``against`` block of an A/B report: the base tree's samples and how they ran."""
    return BaseSide(
        ref=ref.ref,
        commit=ref.commit,
        how=ref.how,
        order=order,
        setup=None if setup is None else scrub(setup),
        stopped=dict(stopped),
        tool_versions=dict(tool_versions),
        runs=build_runs(base),
        imports=None if imports is None else scrub(imports),
    )


def _tree(result: measured.BenchResult) -> TreeCheck | None:
    stats = result.tree
    if stats is None:
        return None
    return TreeCheck(
        checked=stats.checked,
        writes="restore" if result.target.writes == "restore" else "refuse",
        checks=stats.checks,
        check_s=_round(stats.seconds, 4),
        restores=stats.restores,
        changed=tuple(scrub(p) for p in stats.changed),
    )


def build_report(result: measured.BenchResult, machine: Machine, *, repo_id: str) -> Report:
    """The report of one run, not yet judged nor archived: a mapping of what was measured
    and read (``machine``, :func:`ftbench.measure.machine.read`); nothing runs here."""
    target = result.target
    settings = result.settings
    runs = build_runs(result)
    phases = dict(runs.items())
    cold = runs.cold.elapsed_s if runs.cold else None
    warm = runs.warm.elapsed_s if runs.warm else None
    error = result.error
    return Report(
        schema=SCHEMA_VERSION,
        run_id=uuid.uuid4().hex,
        timestamp=result.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        tool=Tool(name="ftbench", version=__version__),
        tier=target.tier,
        mode=settings.mode,  # type: ignore[arg-type]  # checked by the CLI's choices
        repo_id=repo_id,
        target=TargetInfo(
            kind=target.kind,  # type: ignore[arg-type]  # "tier" or "cmd"
            source=target.source,
            config_hash=target.config_hash(),
            steps=tuple(_target_step(s) for s in target.steps),
        ),
        settings=Settings(
            cold_runs=settings.cold_runs,
            warm_runs=settings.warm_runs,
            warmup=settings.warmup,
            skip_cold=settings.skip_cold,
            skip_warm=settings.skip_warm,
            timeout_s=settings.timeout_s,
            max_procs=settings.max_procs,
            allow_failure=settings.allow_failure,
            ignore_failure=settings.ignore_failure or None,
        ),
        measurement=Measurement(
            probe=result.probe_backend,
            clock="CLOCK_MONOTONIC",
            rss_unit="KiB",
            rss_scope=result.rss_scope,
        ),
        load=_load(result.load, runs),
        tree=_tree(result),
        runs=runs,
        speedup=round(cold / warm, 3) if cold and warm else None,
        ok=error is None and all(p.ok for p in phases.values()),
        error=scrub(str(error)) if error else None,
        environment=machine.environment,
        git=machine.git,
        repository=machine.repository,
        regression=None,
    )
