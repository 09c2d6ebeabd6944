"""Stand-ins for actions/cache and actions/upload-artifact under act (which cannot fetch
remote actions here): the same inputs, kept in a directory ($FTBENCH_STUB_STORE) instead of
GitHub's services. Used by tests/ci/test_github_action.py through act --local-repository."""

import os
import shutil
import sys
from pathlib import Path

store = Path(os.environ["FTBENCH_STUB_STORE"])
entries = store / "cache"


def restore() -> None:
    path, key = Path(os.environ["P"]), os.environ["K"]
    prefixes = [line.strip() for line in os.environ.get("R", "").splitlines() if line.strip()]
    found = entries / key if (entries / key).is_dir() else None
    for prefix in prefixes if found is None else []:
        matches = sorted(
            (e for e in entries.glob("*") if e.name.startswith(prefix)),
            key=lambda e: e.stat().st_mtime_ns,
        )
        if matches:
            found = matches[-1]
            break
    print(f"cache stub: restore {key} <- {found.name if found else 'nothing'}")
    if found is not None:
        shutil.copytree(found, path, dirs_exist_ok=True)


def save() -> None:
    path, key = Path(os.environ["P"]), os.environ["K"]
    if (entries / key).exists():
        print(f"cache stub: {key} exists, not saved (cache keys are written once)")
        return
    shutil.copytree(path, entries / key)
    print(f"cache stub: saved {path} as {key}")


def upload() -> None:
    name = os.environ["N"]
    for line in os.environ["P"].splitlines():
        src = Path(line.strip())
        if line.strip() and src.exists():
            dest = store / "artifacts" / name / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dest)
    print(f"upload-artifact stub: {name}")


{"restore": restore, "save": save, "upload": upload}[sys.argv[1]]()
