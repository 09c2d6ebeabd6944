"""The one copy of what tests need to run ftbench as a real process and to make a throwaway
repository (issue 19: five subprocess helpers, only one with the SIGHUP fix, and three
``make_repo`` had drifted apart).

Tests import it by name (``tests/`` is on ``sys.path``), as ``factory`` is imported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

PY = sys.executable
#: variables a test's ftbench must not inherit from the job running the suite
FOREIGN = ("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_")


def clean_environ(**extra: str) -> dict[str, str]:
    """This environment without S3, AWS, ftbench and CI variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env.update(extra)
    return env


def _default_hangup() -> None:
    # SIGHUP as a CI job has it: a suite started under nohup would pass on an ignored SIGHUP,
    # and ftbench rightly keeps ignoring it
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def ftbench(
    cwd: Path, *args: str, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """``python -m ftbench ARGS`` started in ``cwd`` (output piped unless given), in a clean
    environment unless ``env`` is given."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    proc: subprocess.Popen[str] = subprocess.Popen(
        [PY, "-m", "ftbench", *args],
        cwd=cwd,
        env=env if env is not None else clean_environ(),
        text=True,
        preexec_fn=_default_hangup,
        **popen,
    )
    return proc


def ftbench_run(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m ftbench ARGS`` in ``cwd``, run to its end: exit code and output."""
    return subprocess.run(
        [PY, "-m", "ftbench", *args],
        cwd=cwd,
        env=env if env is not None else clean_environ(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=_default_hangup,
    )


def committed_repo(path: Path, config: str | None = None) -> Path:
    """A git repository of one commit (``a.txt``, and ``ftbench.toml`` when ``config``):
    targets come from ``--cmd`` or the configuration. (``conftest.make_repo`` makes the
    richer repository of the CLI tests, with a default configuration and branch ``main``.)"""
    path.mkdir(parents=True)
    (path / "a.txt").write_text("a\n")
    if config is not None:
        (path / "ftbench.toml").write_text(config)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(path)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return path


def modules_loaded(code: str, *prefixes: str) -> list[str]:
    """The modules named by or starting with ``prefixes`` that a fresh interpreter has
    loaded after running ``code`` (what a command's start-up imports)."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([PY, "-c", probe], capture_output=True, text=True, check=True).stdout
    return [m for m in out.split() if m.startswith(prefixes)]
