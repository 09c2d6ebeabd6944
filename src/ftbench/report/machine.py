"""The machine class: what must match for two runs' timings to be comparable.

The one definition (as pyperf keeps one list of checked metadata): the judge's comparability
check (``judge/comparable.py``), the calibration file's key (``judge/calibration.py``), the
index's ``machine`` column (``archive/index_rows.py``) and the pipeline's calibration lookup
all read :class:`MachineClass`, so they cannot drift apart. Adding a field here changes all
four; the key of a stored calibration changes with it (it is stale then, as it should be).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from ftbench.report.model import Environment


@dataclass(frozen=True)
class MachineClass:
    """CPU model, physical core count, operating system and architecture."""

    cpu_model: str | None
    cpu_count: int | None
    os: str | None
    arch: str | None

    @classmethod
    def of(cls, environment: Environment | Mapping[str, Any]) -> MachineClass:
        """The class of a report's environment, or of ``environment.snapshot()``'s dict."""
        if isinstance(environment, Mapping):
            return cls(**{f.name: environment.get(f.name) for f in fields(cls)})
        return cls(**{f.name: getattr(environment, f.name) for f in fields(cls)})

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
