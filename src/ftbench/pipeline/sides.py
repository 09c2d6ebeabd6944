"""The base side's environment of an A/B run: its own tree's code, under an editable install.

:func:`base_environment` asks the commands' interpreter where the project's code comes from
(``measure/editable.py``), maps it into the base tree through the base side's ``PYTHONPATH``,
and checks the result in the base side's environment; when mapping is impossible, the base
side gets an isolated environment of its own (``measure/isolated.py``). The report's
``against.imports`` says which, and a verdict note says when neither worked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from ftbench.errors import SetupError
from ftbench.measure import editable, isolated
from ftbench.pipeline.request import RunRequest
from ftbench.redact import target_environ
from ftbench.report.model import Report

#: how ``against.imports`` starts when the base side may not have measured its own code
MAY_IMPORT_CURRENT = "the base side may import the current tree's code"


@dataclass(frozen=True)
class BaseEnvironment:
    #: the request whose base side runs in the base tree's own code
    request: RunRequest
    #: for the report's ``against.imports``
    imports: str | None = None


def import_notes(report: Report) -> tuple[str, ...]:
    """The verdict's note when the base side may not have measured its own code."""
    against = report.against
    if against is None or not (against.imports or "").startswith(MAY_IMPORT_CURRENT):
        return ()
    return (f"{against.imports}",)


def commands_env(request: RunRequest) -> dict[str, str]:
    """The environment the benchmarked commands get (no ftbench credentials)."""
    env = target_environ(os.environ)
    if request.target.path:
        env["PATH"] = request.target.path
    return env


def base_environment(request: RunRequest, tree: Path) -> BaseEnvironment:
    """``request`` with its base side's environment set for ``tree`` (a worktree in a
    temporary folder of ftbench's own, where the links and an isolated environment go)."""
    interp = request.target.interp
    python = interp.python if interp is not None else None
    if python is None:
        return BaseEnvironment(request)
    env = commands_env(request)
    place = tree.parent
    found = editable.probe(python, env, place)
    imports = editable.base_imports(found, request.root, tree, place / "imports", env)
    why = imports.unmapped
    if why is None and imports.env:
        check = editable.probe(python, {**env, **imports.env}, place, imports.checked)
        why = editable.verify(imports, check, tree)
        if why is None:
            return BaseEnvironment(replace(request, base_env=dict(imports.env)), imports.note)
    if why is None:
        return BaseEnvironment(request)
    try:
        made = isolated.environment(request.target, found, request.root, tree, place / "venv", env)
    except SetupError as exc:
        warning = (
            f"{MAY_IMPORT_CURRENT} ({imports.note}: {why}; no isolated environment either: "
            f"{exc}); set PYTHONPATH in the steps' env (docs/configuration.md)"
        )
        return BaseEnvironment(request, warning)
    shown = f"{imports.note} ({why}): the base side ran in an isolated environment: {made.how}"
    return BaseEnvironment(
        replace(request, base_env=dict(made.env), base_target=made.target), shown
    )
