"""The report model: the one definition of ``bench_proof.json``.

Every stage after measuring works on these frozen dataclasses; JSON is made only by
:meth:`Report.to_json` / :meth:`Report.archive_bytes` and read only by
:meth:`Report.from_json`, which checks every field and loads every schema version ftbench has
written (schema 1). The JSON Schema file ``schema/bench_proof.schema.json`` is generated from
these classes (``python tests/schema_gen.py``; a test keeps the two equal). Field order here is
the key order of the JSON. Times are seconds, memory KiB, timestamps ISO 8601 UTC to the second.
``docs/report-schema.md`` explains every field.

Format history (schema 1 throughout: every change adds optional fields, so every earlier
report still loads; a reader ignores fields it does not know):

* 0.1: the report as first written (``tests/fixtures/reports/v1/``).
* 0.2: ``measurement.rss_scope``; probe backends ``forkserver`` and ``direct``.
* 0.3: ``settings.ignore_failure``; ``load``; ``against`` (A/B runs); ``runs.*.speed_ref_ms``
  and ``speed_ref_spread_pct``; the regression block's per-metric verdicts
  (``phases.*.metrics``), ``noise_floor_pct``, ``steps`` and ``threshold_source``; ``metric``
  names ``cpu``/``wall``/``rss``, not ``wall_s``.
* 0.4: ``runs.*.cpu_pressure_pct`` (``speed_ref_spread_pct`` no longer written); the
  regression block's ``gates``, ``accepted``, ``confirmation``, ``baseline.window`` and
  ``baseline.commit``, the phases' ``gates`` and ``machine``, and the verdict ``accepted``
  (a reader of 0.3 cannot load a report whose verdict is ``accepted``).
  Also ``tree`` (the tracked files checked between samples), ``raw_pct_change`` (phase and
  metric verdicts), ``against.definition``, ``definition_changes``, ``unjudged_steps``,
  ``against.imports`` and ``regression.bisect``.

One stored report per released version loads, round-trips and renders in the tests:
``tests/fixtures/reports/v1/`` (0.1's by name, ``v0.2.0-*``, ``v0.3.0-*``, ``v0.4.0-*``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ftbench.errors import one_line
from ftbench.measure.machine import Environment as Environment
from ftbench.measure.machine import GitInfo as GitInfo
from ftbench.measure.machine import MachineClass as MachineClass
from ftbench.measure.machine import Repository as Repository
from ftbench.report.bisect import Bisection as Bisection
from ftbench.report.bisect import BisectStep as BisectStep
from ftbench.report.codec import OMIT_NONE, ModelError, from_value, minimum, pattern, to_value
from ftbench.report.runs import PHASE_NAMES as PHASE_NAMES
from ftbench.report.runs import CacheSize as CacheSize
from ftbench.report.runs import Phase as Phase
from ftbench.report.runs import Runs as Runs
from ftbench.report.runs import Sample as Sample
from ftbench.report.runs import Stats as Stats
from ftbench.report.runs import StepSample as StepSample
from ftbench.report.verdict import Acceptance as Acceptance
from ftbench.report.verdict import BaselineInfo as BaselineInfo
from ftbench.report.verdict import Confirmation as Confirmation
from ftbench.report.verdict import MetricVerdict as MetricVerdict
from ftbench.report.verdict import PhaseVerdict as PhaseVerdict
from ftbench.report.verdict import SideStats as SideStats
from ftbench.report.verdict import Verdict as Verdict
from ftbench.report.verdict import VerdictName as VerdictName

#: The schema version this ftbench writes.
SCHEMA_VERSION: Literal[1] = 1
#: Every schema version :meth:`Report.from_json` loads.
SUPPORTED_SCHEMAS = (1,)


class NewerSchema(ModelError):
    """A report of a schema above every one this ftbench reads: written by a newer ftbench.
    Not a corrupt report: upgrading ftbench reads it."""

    def __init__(self, source: str, schema: int) -> None:
        self.schema = schema
        #: what to tell the user, without the source
        self.reason = f"written by a newer ftbench (schema {schema}): upgrade ftbench"
        super().__init__(f"{source}: {self.reason}")


def read_problem(exc: BaseException) -> str:
    """Why a report could not be read, for a note: a newer schema said as such (never
    "corrupt"), anything else as its type and first line."""
    return exc.reason if isinstance(exc, NewerSchema) else one_line(exc)


Mode = Literal["fast", "normal", "full", "custom"]


@dataclass(frozen=True, kw_only=True)
class Tool:
    name: Literal["ftbench"]
    version: str


@dataclass(frozen=True, kw_only=True)
class TargetStep:
    """One step as configured (templates, secrets masked)."""

    name: str
    cmd: str | tuple[str, ...]
    shell: bool
    cache: tuple[str, ...]
    clear: str | tuple[str, ...] | None
    env: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class TargetInfo:
    kind: Literal["tier", "cmd"]
    source: str
    config_hash: str = field(metadata=pattern(r"[0-9a-f]{16}"))
    steps: tuple[TargetStep, ...]


@dataclass(frozen=True, kw_only=True)
class Settings:
    cold_runs: int
    warm_runs: int
    warmup: int
    skip_cold: bool
    skip_warm: bool
    timeout_s: float | None
    max_procs: int | None
    allow_failure: bool
    #: ``--ignore-failure``: every sample counted whatever its exit code (exit codes are kept
    #: in the samples); absent when not given
    ignore_failure: bool | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """How samples were measured. Reports of different ``probe`` backends are not compared."""

    probe: str
    clock: str
    rss_unit: str
    #: What ``max_rss_kb`` covers: ``largest process`` of the command's tree (absent in
    #: reports of ftbench 0.1).
    rss_scope: str | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, kw_only=True)
class MachineLoad:
    """How busy the machine was while the samples ran (``measure/load.py``)."""

    cpus: int | None
    #: 1-minute load average at the end of the run
    load1: float | None
    #: share of the run's wall time in which some runnable task waited for a CPU (Linux PSI)
    cpu_pressure_pct: float | None
    #: share of CPU time taken by the hypervisor for other guests
    steal_pct: float | None
    #: median wall time / median CPU time of the warm samples (or cold)
    wall_cpu_ratio: float | None


@dataclass(frozen=True, kw_only=True)
class TreeCheck:
    """The tracked files, checked after every sample (``measure/tree.py``): a benchmark never
    changes what it measures."""

    #: False: not a git work tree, nothing was checked
    checked: bool
    #: the tier's ``writes``: ``refuse`` (a change stops the run) or ``restore`` (files put back)
    writes: Literal["refuse", "restore"]
    checks: int = field(metadata=minimum(0))
    #: time spent checking, outside every sample's timing
    check_s: float = field(metadata=minimum(0))
    #: samples after which the changed files were put back (``writes = "restore"``)
    restores: int = field(metadata=minimum(0))
    #: what a command changed, when that stopped the run
    changed: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class BaseSide:
    """``ft-bench run --against REF``: the base side, measured interleaved with this run."""

    ref: str
    commit: str
    how: str
    #: ``ABBA``: pair i runs base then current when i is odd, current then base when even
    order: str
    #: untimed command run in each tree before measuring (the tier's ``setup``)
    setup: str | None
    #: per phase: why sampling stopped (``clear after 10 pairs``, ``cap of 30 pairs reached``)
    stopped: dict[str, str]
    tool_versions: dict[str, str | None]
    runs: Runs
    #: how the base side imports its own tree's code under an editable install of the
    #: project (``measure/editable.py``), else absent
    imports: str | None = field(default=None, metadata=OMIT_NONE)
    #: when the tier's definition differs between REF and HEAD: which one the base side ran,
    #: ``own`` (REF's: a changed command is part of what the commit changes) or ``current``
    #: (HEAD's on both sides, ``--base-definition current``); absent when they are alike
    definition: Literal["own", "current"] | None = field(default=None, metadata=OMIT_NONE)
    #: how REF's definition differs from HEAD's, one line each (``step 'x': A -> B``)
    definition_changes: tuple[str, ...] | None = field(default=None, metadata=OMIT_NONE)
    #: steps only one side ran (``'lint' added``): measured and shown, never judged
    unjudged_steps: tuple[str, ...] | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, kw_only=True)
class ArchiveRef:
    """Where the report was archived. Added after archiving: not part of the archived bytes."""

    local_key: str | None
    s3_key: str | None
    s3_url: str | None


@dataclass(frozen=True, kw_only=True)
class Report:
    """One benchmark run: ``bench_proof.json``."""

    schema: Literal[1]
    run_id: str = field(metadata=pattern(r"[0-9a-f]{32}"))
    timestamp: str = field(metadata=pattern(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"))
    tool: Tool
    tier: str
    mode: Mode
    repo_id: str = field(metadata=pattern(r"[0-9a-zA-Z._-]{1,64}"))
    target: TargetInfo
    settings: Settings
    measurement: Measurement
    #: the machine's load during the run (absent in reports of ftbench 0.2 and older)
    load: MachineLoad | None = field(default=None, metadata=OMIT_NONE)
    #: the tracked files checked between samples (absent before 0.4)
    tree: TreeCheck | None = field(default=None, metadata=OMIT_NONE)
    runs: Runs
    #: the base side of an A/B run (``--against``), else absent
    against: BaseSide | None = field(default=None, metadata=OMIT_NONE)
    speedup: float | None
    ok: bool
    error: str | None
    environment: Environment
    git: GitInfo
    repository: Repository
    regression: Verdict | None
    archive: ArchiveRef | None = field(default=None, metadata=OMIT_NONE)

    # --- reading -----------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: bytes | str, source: str = "report") -> Report:
        """Parse and check a report of any supported schema version.

        Raises :class:`ModelError` with one line naming ``source`` and the first bad field
        (:class:`NewerSchema` for a report written by a newer ftbench).
        """
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            raise ModelError(f"{source}: not valid JSON") from None
        return cls.from_dict(parsed, source)

    @classmethod
    def from_dict(cls, value: object, source: str = "report") -> Report:
        if not isinstance(value, dict):
            raise ModelError(f"{source}: not a report (expected a JSON object)")
        schema = value.get("schema")
        if type(schema) is int and schema > max(SUPPORTED_SCHEMAS):
            raise NewerSchema(source, schema)
        if schema not in SUPPORTED_SCHEMAS:
            raise ModelError(
                f"{source}: not an ftbench report of schema "
                f"{', '.join(map(str, SUPPORTED_SCHEMAS))} "
                f"(schema: {value.get('schema')!r})"
            )
        try:
            return from_value(cls, value, "report")
        except ModelError as exc:
            # one line, whatever a key holds (a name with a line break)
            raise ModelError(" ".join(f"{source}: {exc}".splitlines())) from None

    # --- writing -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON value (a fresh copy: change it at will)."""
        value: dict[str, Any] = json.loads(self.to_json(pretty=False))
        return value

    def to_json(self, *, pretty: bool = True) -> str:
        """JSON text: for people (nested objects and every sample on one line each), or
        compact (``pretty=False``)."""
        if pretty:
            return _pretty(to_value(self), "") + "\n"
        return json.dumps(to_value(self), separators=(",", ":"), ensure_ascii=False) + "\n"

    def archive_bytes(self) -> bytes:
        """The bytes archived for this report: no ``archive`` block, sorted keys, compact."""
        body = {k: v for k, v in to_value(self).items() if k != "archive"}
        return (
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        ).encode()

    # --- derived -----------------------------------------------------------------------

    @property
    def succeeded(self) -> bool:
        """At least one phase was measured and every measured phase is ok."""
        phases = self.runs.items()
        return bool(phases) and all(p.ok for _, p in phases)

    @property
    def config_hash(self) -> str:
        return self.target.config_hash


def _pretty(value: Any, indent: str) -> str:
    """Indented JSON down to the fields of a phase, then one line per object (a sample, a
    summary). json's C encoder only runs without ``indent``: this keeps a 300-sample report
    to a few milliseconds (``benchmarks/overhead.py``)."""
    depth = len(indent) // 2
    if (
        not isinstance(value, dict | list)
        or not value
        or depth >= (3 if isinstance(value, dict) else 4)
    ):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    inner = indent + "  "
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, inner)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return "[\n" + ",\n".join(inner + _pretty(v, inner) for v in value) + f"\n{indent}]"


@dataclass(frozen=True)
class KeyedReport:
    """A report and where it was read from: an archive key or a file path."""

    key: str
    report: Report
