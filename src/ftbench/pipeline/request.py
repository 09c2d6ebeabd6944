"""What ``ft-bench run`` was asked to do and how it ended; the runner of a tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ftbench import paths
from ftbench.archive.local import default_archive_dir
from ftbench.archive.repo_id import repo_id
from ftbench.archive.sync import open_local
from ftbench.errors import FtbenchError
from ftbench.judge.options import JudgeOptions
from ftbench.measure import machine
from ftbench.measure.config import Target
from ftbench.measure.executor import Executor
from ftbench.measure.machine import Machine
from ftbench.measure.runner import Progress, Runner, RunSettings
from ftbench.report.files import REPORT_NAMES
from ftbench.report.model import Report


@dataclass(frozen=True)
class RunRequest:
    """Everything ``ft-bench run`` was asked to do."""

    root: Path
    target: Target
    settings: RunSettings
    judge: JudgeOptions
    out_dir: Path
    archive_dir: Path | None = None
    repo_id: str | None = None
    upload_s3: bool = False
    progress: Progress | None = None
    #: ``--against REF``: measure REF's tree too, interleaved, and judge A/B
    against: str | None = None
    #: ``--confirm-budget-s``: the most time a confirming A/B run may take (None: a multiple
    #: of the plain run's own measuring time, ``pipeline/ab.py``)
    confirm_budget_s: float | None = None
    #: the A/B base side's own environment (``pipeline/sides.py``): variables set for its
    #: commands, and its target when it runs in an isolated environment
    base_env: Mapping[str, str] = field(default_factory=dict)
    base_target: Target | None = None
    #: ``--base-definition``: the base side runs REF's definition of the tier (``own``) or
    #: HEAD's (``current``) when they differ (``pipeline/definitions.py``)
    base_definition: str = "own"
    #: ``--bisect``: on an A/B regression, the commit in ``REF..HEAD`` it came with, found
    #: within this many seconds (None: no bisection)
    bisect_budget_s: float | None = None
    #: what starts the commands (``measure/executor.py``); None: the platform's real one.
    #: A scripted one makes a whole run, A/B included, without processes (the tests')
    executor: Executor | None = None
    #: the machine and this tree, read once before the first sample (``measure/machine.py``);
    #: None: not read yet (``pipeline.run`` and ``calibrate`` read it)
    machine: Machine | None = None


@dataclass(frozen=True)
class RunOutcome:
    """The final report, its Markdown, what archiving printed, and how the run ends."""

    report: Report
    markdown: str
    archive_output: str
    #: what stopped the run or its judge (raised by the CLI after printing), or None
    error: FtbenchError | None
    exit_code: int


def prepared(request: RunRequest) -> tuple[RunRequest, Machine, str]:
    """The request with what every later stage reads resolved once, and those values: the
    repository id, then (once :func:`check_places` let the run go on) the machine
    (:func:`ftbench.measure.machine.read`)."""
    rid = repo_id(request.root, request.repo_id)
    request = replace(request, repo_id=rid)
    check_places(request)
    found = request.machine or machine.read(request.root, request.target, request.settings.mode)
    return replace(request, machine=found), found, rid


def out_anchor(request: RunRequest) -> Path:
    """Where the no-link walk to the reports and logs starts (:mod:`ftbench.paths`)."""
    return paths.anchor(request.out_dir, request.root)


def calibration_dir(request: RunRequest) -> Path:
    """Where ``ft-bench calibrate`` stores, and runs find, this repository's calibrations."""
    archive = default_archive_dir(request.root, request.archive_dir)
    return archive / ".calibration" / repo_id(request.root, request.repo_id)


def check_places(request: RunRequest) -> None:
    """Refuse, before anything runs, a symbolic link on the way to a place the run writes:
    the reports, logs (the A/B base side's too), the archive's folder of this repository,
    its pending markers and calibrations (:mod:`ftbench.paths`; every write checks again)."""
    root = request.root
    paths.check(request.out_dir / "bench_artifacts" / "base", out_anchor(request))
    local = open_local(root, request.archive_dir)
    folder = local.root.joinpath(*local.prefix.split("/"), repo_id(root, request.repo_id))
    for place in (folder, local.pending_dir, calibration_dir(request)):
        paths.check(place, local.anchor)


def make_runner(request: RunRequest, tree: Path, artifacts: Path) -> Runner:
    """A Runner of the request's target in ``tree``, its logs under ``artifacts`` (another
    tree than the request's: the A/B base side, in its own environment)."""
    base = tree != request.root
    runner = Runner(
        request.base_target or request.target if base else request.target,
        request.settings,
        tree,
        artifacts,
        request.progress,
        protected=(
            *(request.out_dir / n for n in REPORT_NAMES),
            default_archive_dir(request.root, request.archive_dir),
        ),
        within=out_anchor(request),
        executor=request.executor,
    )
    if base:
        runner.base_env.update(request.base_env)
    return runner


def artifacts(request: RunRequest) -> Path:
    """Where the run's logs go."""
    return request.out_dir / "bench_artifacts"
