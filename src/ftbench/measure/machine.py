"""The machine and the repository around a run, read once, typed.

:func:`read` is the only reader: the pipeline calls it once per tree before the first sample
(the calibration lookup needs the machine class before anything is measured) and every later
stage reads the value: the report's ``environment``, ``git`` and ``repository`` blocks, the
calibration key, the judge's comparability check and the index's ``machine`` column.

:class:`MachineClass` is the one definition of what must match for two runs' timings to be
comparable (as pyperf keeps one list of checked metadata). Adding a field changes all four
readers; the key of a stored calibration changes with it (it is stale then, as it should be).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # the report model imports the types: every report reader, kept light
    from ftbench.measure.config import Target


@dataclass(frozen=True, kw_only=True)
class Environment:
    os: str
    os_release: str | None
    kernel: str
    arch: str
    cpu_model: str
    cpu_count: int | None
    cpu_count_logical: int | None
    cpu_affinity: int | None
    memory_bytes: int | None
    disk_free_bytes: int | None
    python: str
    python_implementation: str | None
    tool_versions: dict[str, str | None]
    ci: str | None
    env: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class GitInfo:
    commit: str | None
    branch: str | None
    tag: str | None
    dirty: bool | None
    remote: str | None


@dataclass(frozen=True, kw_only=True)
class Repository:
    name: str
    files: int
    bytes: int
    top_extensions: tuple[tuple[str, int], ...]
    fingerprint: str
    fingerprint_method: Literal["git-tree", "git-tree+changes", "content-sha256"]


@dataclass(frozen=True)
class MachineClass:
    """CPU model, physical core count, operating system and architecture."""

    cpu_model: str | None
    cpu_count: int | None
    os: str | None
    arch: str | None

    @classmethod
    def of(cls, env: Environment) -> MachineClass:
        """The class of an environment (this run's, or a stored report's)."""
        return cls(**{f.name: getattr(env, f.name) for f in fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def key(self) -> str:
        """A short stable digest (calibration file names)."""
        raw = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:12]

    @property
    def label(self) -> str:
        """``os/arch/cpu model/cores`` (the index's ``machine`` column)."""
        return f"{self.os}/{self.arch}/{self.cpu_model}/{self.cpu_count}"

    def differences(self, baseline: MachineClass) -> list[tuple[str, object, object]]:
        """``(field, baseline's, this one's)`` for every field that differs."""
        return [
            (f.name, getattr(baseline, f.name), getattr(self, f.name))
            for f in fields(self)
            if getattr(baseline, f.name) != getattr(self, f.name)
        ]


@dataclass(frozen=True)
class Machine:
    """What a run records of its machine and its tree, read before the first sample."""

    environment: Environment
    git: GitInfo
    repository: Repository

    @property
    def klass(self) -> MachineClass:
        return MachineClass.of(self.environment)


def step_programs(target: Target, mode: str) -> dict[str, str]:
    """Each step's program, found as the commands find it (the user's environment), for its
    tool version; a shell is not a tool."""
    programs = {s.name: s.argv(target.tier, mode)[0] for s in target.steps}
    programs = {n: shutil.which(p, path=target.path or None) or p for n, p in programs.items()}
    if target.kind == "cmd" or any(s.shell for s in target.steps):
        programs = {name: prog for name, prog in programs.items() if "/sh" not in prog}
    return programs


def read(tree: Path, target: Target, mode: str) -> Machine:
    """The machine, the target's tool versions, and ``tree``'s git facts and fingerprint."""
    from ftbench.measure import environment, fingerprint  # the readers: only a run needs them

    env = environment.snapshot(tree, step_programs(target, mode), target, mode)
    repo = fingerprint.snapshot(tree)
    return Machine(
        environment=Environment(**env),
        git=GitInfo(**environment.git_info(tree)),
        repository=Repository(
            **{**repo, "top_extensions": tuple((e, n) for e, n in repo["top_extensions"])}
        ),
    )
