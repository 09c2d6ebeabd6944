"""A/B when the tier's definition differs between REF and HEAD (``[tool.ftbench]`` changed).

The default (``--base-definition own``) is what a reviewer expects: each side runs its own
tree's definition of the tier, so a changed command of a step (``pytest -n 2`` -> ``-n 0``) is
part of what the commit changes and is judged with it; a step only one side has (added or
removed) is measured and reported apart, and never judged as a slowdown (the judge compares the
steps both sides have, :func:`ftbench.judge.ab.judge_against`). ``--base-definition current``
runs HEAD's definition on both sides (ftbench 0.3's behaviour): the commit's code alone, its
configuration left out. Either way the report's ``against`` block and the verdict say that the
definitions differ and what each side ran.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ftbench.errors import FtbenchError
from ftbench.measure import tools
from ftbench.measure.config import Step, Target, load_config, parse_tiers
from ftbench.redact import scrub


@dataclass(frozen=True)
class Definitions:
    """What the base side runs, and how REF's definition differs from HEAD's."""

    target: Target
    #: ``own`` or ``current``; None when both trees define the tier alike
    ran: str | None = None
    changes: tuple[str, ...] = ()
    #: steps only one side runs (``'x' added``): measured, not judged
    apart: tuple[str, ...] = ()
    #: the steps the judge compares; None: all
    judged: frozenset[str] | None = None


def _shown(step: Step, target: Target) -> str:
    argv = step.argv(target.tier, "{mode}")
    return scrub(argv[2] if step.shell else " ".join(argv))


def base_definition(current: Target, tree: Path, choice: str = "own") -> Definitions:
    """The tier as REF's tree ``tree`` defines it, bound to the user's environment, and how it
    differs from ``current`` (HEAD's). A ``--cmd`` target, or a tier REF does not define, runs
    the same on both sides."""
    if current.kind != "tier":
        return Definitions(current)
    try:
        loaded = load_config(tree)
        configured = parse_tiers(*loaded) if loaded is not None else {}
    except FtbenchError as exc:  # REF's configuration cannot be read: say so, run HEAD's
        return Definitions(current, "current", (f"REF's configuration is unusable: {exc}",))
    theirs = configured.get(current.tier)
    if theirs is None:
        interp, path = current.interp, current.path
        if interp is not None:
            theirs = tools.builtin_tiers(tree, interp, path).tiers.get(current.tier)
    if theirs is None:
        return Definitions(current, "current", (f"REF has no tier '{current.tier}'",))
    theirs = (
        tools.bind(theirs, current.interp, current.path) if current.interp is not None else theirs
    )
    changes, apart = _differences(theirs, current)
    if not changes and not apart:
        return Definitions(current)
    if choice == "current":
        return Definitions(current, "current", tuple(changes + apart))
    judged = frozenset(s.name for s in current.steps) & {s.name for s in theirs.steps}
    return Definitions(theirs, "own", tuple(changes), tuple(apart), judged)


def _differences(base: Target, head: Target) -> tuple[list[str], list[str]]:
    """``step 'x': A -> B`` per changed step; ``'y' added`` / ``'z' removed`` per step only
    one side has; the tier's own keys."""
    mine = {s.name: s for s in head.steps}
    theirs = {s.name: s for s in base.steps}
    changes = [
        f"step '{name}': {_shown(theirs[name], base)} -> {_shown(step, head)}"
        if _shown(theirs[name], base) != _shown(step, head)
        else f"step '{name}': its settings changed (cache, env, exit codes, ...)"
        for name, step in mine.items()
        if name in theirs and replace(theirs[name], python="") != replace(step, python="")
    ]
    for key in ("setup", "writes"):
        if getattr(base, key) != getattr(head, key):
            changes.append(f"{key}: {getattr(base, key)} -> {getattr(head, key)}")
    apart = [f"'{name}' added" for name in mine if name not in theirs]
    apart += [f"'{name}' removed" for name in theirs if name not in mine]
    return changes, apart
