"""Whether two reports may be judged against each other."""

from __future__ import annotations

from ftbench.report.model import MachineClass, Report


def differences(current: Report, other: Report, *, same_target: bool = True) -> list[str]:
    """What makes ``other`` (a baseline) not comparable with ``current``.

    The target (tier, mode, configuration hash; only with ``same_target``), the machine class
    (:class:`~ftbench.measure.machine.MachineClass`), the measuring backend and the tool versions
    (where both sides know them).
    Each entry reads ``field: baseline-value -> current``.
    """
    pairs: list[tuple[str, object, object]] = (
        [
            ("tier", other.tier, current.tier),
            ("mode", other.mode, current.mode),
            ("target.config_hash", other.target.config_hash, current.target.config_hash),
        ]
        if same_target
        else []
    )
    cur, base = current.environment, other.environment
    pairs += [
        *MachineClass.of(cur).differences(MachineClass.of(base)),
        ("measurement.probe", other.measurement.probe, current.measurement.probe),
    ]
    for step in sorted(set(cur.tool_versions) | set(base.tool_versions)):
        old, new = base.tool_versions.get(step), cur.tool_versions.get(step)
        # a version that is not known on one side is no difference: since 0.3 ftbench asks
        # only known tools (or a step's `version` command), so older reports may hold one
        if old is not None and new is not None:
            pairs.append((f"tool_versions.{step}", old, new))
    return [f"{name}: {_show(old)} -> {_show(new)}" for name, old, new in pairs if old != new]


def _show(value: object) -> str:
    return "(none)" if value is None else str(value)
