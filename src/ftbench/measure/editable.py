"""The A/B base side imports its own tree's code, whatever the project's editable install.

A project installed editable (``pip install -e .``, ``uv pip install -e .``, ``pdm install``)
is imported from the repository's working tree by every process of its environment: the
base worktree of ``--against`` included, so it would measure the current code twice. The
interpreter the commands use is asked (:func:`probe`) where the project's code comes from:

* a directory on ``sys.path`` inside the repository (a ``.pth`` path line: setuptools for a
  ``src`` layout, hatchling, flit, PDM, uv, ``setup.py develop``, or ``PYTHONPATH``);
* an import hook mapping top-level names into the repository (setuptools' finder,
  ``__editable___*_finder.py``, for flat layouts; the ``editables`` redirector of hatchling's
  ``dev-mode-exact`` and PDM's ``editables`` mode).

:func:`base_imports` maps each into the base tree: a directory becomes the same directory of
the tree, first on the base side's ``PYTHONPATH``; a mapped name becomes a link of that name,
in a folder of ftbench's own temporary directory put first on ``PYTHONPATH``, to the tree's
copy. ``PYTHONPATH`` precedes both ``.pth`` directories and those hooks (appended to
``sys.meta_path``), so the base side imports its own code; a second probe in the base side's
environment checks it. When a place has no counterpart in the base tree (the layout changed,
setuptools' ``strict`` link tree under ``build/``) or the check fails, the base side gets an
isolated environment instead (:mod:`ftbench.measure.isolated`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: run in the commands' interpreter: where its ``sys.path`` and editable import hooks point,
#: the editable distributions (PEP 610 ``direct_url.json``), and (``argv[1:]``) the origin of
#: the named modules. Nothing of the project is imported.
_PROBE = r"""
import importlib.metadata as md, importlib.util as iu, json, os, site, sys
skip = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, *site.getsitepackages())}
cwd = os.path.realpath(os.getcwd())
paths = [os.path.realpath(p) for p in sys.path if p and os.path.realpath(p) != cwd]
hooks = {}
for finder in sys.meta_path:
    module = sys.modules.get(getattr(finder, "__module__", "") or "")
    mapping = getattr(module, "MAPPING", None)
    if isinstance(mapping, dict):
        hooks.update({k: v for k, v in mapping.items() if isinstance(v, str)})
    redirected = getattr(finder, "_redirections", None)
    if isinstance(redirected, dict):
        for k, v in redirected.items():
            if isinstance(v, str):
                hooks[k] = os.path.dirname(v) if os.path.basename(v) == "__init__.py" else v
editable = []
for dist in md.distributions():
    try:
        info = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        continue
    url = info.get("url", "") if isinstance(info, dict) else ""
    if (info.get("dir_info") or {}).get("editable") and url.startswith("file://"):
        editable.append([dist.metadata["Name"] or "?", url[len("file://"):]])
origins = {}
for name in sys.argv[1:]:
    try:
        spec = iu.find_spec(name)
    except Exception:
        spec = None
    origin = spec and (spec.origin or next(iter(spec.submodule_search_locations or []), None))
    origins[name] = os.path.realpath(origin) if origin else None
print(json.dumps({"skip": sorted(skip), "paths": paths, "hooks": hooks,
                  "editable": editable, "origins": origins}))
"""
PROBE_TIMEOUT_S = 60.0
#: the most top-level names of a mapped directory checked in the base side's environment
CHECK_NAMES = 20


@dataclass(frozen=True)
class Probe:
    """What the commands' interpreter imports from where."""

    skip: tuple[str, ...] = ()  # its own prefix and site-packages (a .venv in the repo)
    paths: tuple[str, ...] = ()
    hooks: Mapping[str, str] = field(default_factory=dict)
    editable: tuple[tuple[str, str], ...] = ()  # (distribution, project directory)
    origins: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class BaseImports:
    """How the base side's commands import the base tree's code."""

    #: variables set for the base side's commands (``PYTHONPATH``)
    env: Mapping[str, str] = field(default_factory=dict)
    #: for the report: what was found and done (paths relative to the repository)
    note: str | None = None
    #: why mapping failed (the base side needs an isolated environment), else None
    unmapped: str | None = None
    #: the names checked in the base side's environment
    checked: tuple[str, ...] = ()


def probe(
    python: str, env: Mapping[str, str], cwd: Path, names: tuple[str, ...] = ()
) -> Probe | None:
    """Ask ``python`` (run in ``cwd``, away from the repository) where its code comes from;
    None when it cannot be run or answers nonsense."""
    try:
        proc = subprocess.run(
            [python, "-c", _PROBE, *names],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return Probe(
        skip=tuple(str(p) for p in data.get("skip", [])),
        paths=tuple(str(p) for p in data.get("paths", [])),
        hooks={str(k): str(v) for k, v in (data.get("hooks") or {}).items()},
        editable=tuple((str(n), str(u)) for n, u in data.get("editable", [])),
        origins={str(k): (None if v is None else str(v)) for k, v in data["origins"].items()},
    )


def _inside(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` when inside it (``.`` for root itself), else None."""
    if path == root:
        return "."
    return path[len(root) + 1 :] if path.startswith(root + os.sep) else None


def project_path(path: str, root: str, skip: tuple[str, ...]) -> str | None:
    """``path`` relative to ``root`` when it is the project's code: inside the repository,
    not in the interpreter's own prefix or site-packages (a ``.venv`` in the repository)."""
    if any(path == s or path.startswith(s + os.sep) for s in skip):
        return None
    return _inside(path, root)


def _top_names(folder: Path) -> list[str]:
    """Importable top-level names of a directory (packages and modules), a few at most."""
    names = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        stem = entry.name[:-3] if entry.name.endswith(".py") else entry.name
        if not stem.isidentifier() or stem in ("setup", "conftest", "noxfile", "tests", "test"):
            continue
        if (entry.is_dir() and (entry / "__init__.py").is_file()) or entry.suffix == ".py":
            names.append(stem)
    return names[:CHECK_NAMES]


def base_imports(
    found: Probe | None, root: Path, tree: Path, overlay: Path, environ: Mapping[str, str]
) -> BaseImports:
    """The base side's ``PYTHONPATH`` mapping ``found``'s places inside ``root`` into
    ``tree`` (links for mapped names are made in ``overlay``, a folder of ftbench's own)."""
    if found is None:
        return BaseImports()
    real_root, real_tree = os.path.realpath(root), os.path.realpath(tree)
    entries: list[str] = []
    shown: list[str] = []
    missing: list[str] = []
    checked: list[str] = []
    for place in found.paths:
        rel = project_path(place, real_root, found.skip)
        if rel is None:
            continue
        mapped = os.path.normpath(os.path.join(real_tree, rel))
        if not os.path.isdir(mapped):
            missing.append(f"{rel}/")
            continue
        if mapped not in entries:
            entries.append(mapped)
            shown.append(f"{rel}/")
            checked += _top_names(Path(mapped))
    links = []
    for name, place in sorted(found.hooks.items()):
        rel = project_path(os.path.realpath(place), real_root, found.skip)
        if rel is None:
            continue
        mapped = os.path.join(real_tree, rel)
        if "." in name or not os.path.exists(mapped):
            missing.append(f"{name} ({rel})")
            continue
        links.append((name + (".py" if mapped.endswith(".py") else ""), mapped))
        shown.append(f"{name} → {rel}")
        checked.append(name)
    mapped_dists = [n for n, url in found.editable if _inside(os.path.realpath(url), real_root)]
    if not (entries or links or missing):
        if mapped_dists:  # installed editable from here, but through nothing ftbench can read
            return BaseImports(
                note=f"editable install of {', '.join(mapped_dists)}",
                unmapped="its import hook is not one ftbench can map",
            )
        return BaseImports()
    if links:
        overlay.mkdir(parents=True, exist_ok=True)
        for name, target in links:
            os.symlink(target, overlay / name)
        entries.insert(0, str(overlay))
    kept = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and not _moved(p, root)]
    what = f"editable install of {', '.join(mapped_dists)}" if mapped_dists else "sys.path"
    if missing:
        return BaseImports(note=what, unmapped=f"not in the base tree: {', '.join(missing)}")
    note = f"{what}: the base side imports its own tree's {', '.join(shown)}"
    return BaseImports(
        env={"PYTHONPATH": os.pathsep.join([*entries, *kept])},
        note=note + " (PYTHONPATH)",
        checked=tuple(dict.fromkeys(checked)),
    )


def _moved(entry: str, root: Path) -> bool:
    """Whether a ``PYTHONPATH`` entry points into the repository (mapped, so dropped)."""
    if not os.path.isabs(entry):
        return False  # relative: found from the commands' directory, the tree itself
    return _inside(os.path.realpath(entry), os.path.realpath(root)) is not None


def verify(imports: BaseImports, found: Probe | None, tree: Path) -> str | None:
    """Why the base side would still import code from outside its tree (``found``: the probe
    run in the base side's environment, asked the checked names), else None."""
    if not imports.checked:
        return None
    if found is None:
        return "the interpreter could not be asked in the base side's environment"
    real_tree = os.path.realpath(tree)
    wrong = [
        name
        for name in imports.checked
        if (origin := found.origins.get(name)) is None or _inside(origin, real_tree) is None
    ]
    return f"{', '.join(wrong)} still imported from elsewhere" if wrong else None
