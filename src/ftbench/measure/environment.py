"""Snapshot of the machine, the CI context and git: what a reader needs to trust a figure.

Only allowlisted environment variables are recorded (see :mod:`ftbench.redact`).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ftbench.redact import allowed_env, scrub, strip_url_credentials, target_environ

_CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "github-actions"),
    ("GITLAB_CI", "gitlab-ci"),
    ("BUILDKITE", "buildkite"),
    ("CIRCLECI", "circleci"),
    ("JENKINS_URL", "jenkins"),
    ("TF_BUILD", "azure-pipelines"),
    ("CI", "generic-ci"),
)


def git(repo_root: Path, *args: str, timeout: float = 10.0) -> str | None:
    """Output of a git command in ``repo_root`` (stripped), or None when it fails."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo_root), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def ci_provider(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    for var, name in _CI_PROVIDERS:
        if env.get(var, "").lower() not in ("", "false", "0"):
            return name
    return None


def git_info(repo_root: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Commit, branch, tag, dirty state and credential-free remote of the checkout."""
    env = os.environ if environ is None else environ
    commit = git(repo_root, "rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "branch": None, "tag": None, "dirty": None, "remote": None}
    branch = git(repo_root, "rev-parse", "--abbrev-ref", "HEAD")
    if branch in (None, "HEAD"):  # detached HEAD, as in most CI checkouts
        branch = (
            env.get("GITHUB_HEAD_REF")
            or env.get("GITHUB_REF_NAME")
            or env.get("CI_COMMIT_REF_NAME")
            or None
        )
    status = git(repo_root, "status", "--porcelain", "--untracked-files=no")
    remote = git(repo_root, "config", "--get", "remote.origin.url")
    return {
        "commit": commit,
        "branch": branch,
        "tag": git(repo_root, "describe", "--tags", "--exact-match") or None,
        "dirty": bool(status) if status is not None else None,
        "remote": strip_url_credentials(remote) if remote else None,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _physical_cores() -> int | None:
    try:
        pairs = set()
        current: dict[str, str] = {}
        for line in [*Path("/proc/cpuinfo").read_text().splitlines(), ""]:
            if not line.strip():
                if "core id" in current:
                    pairs.add((current.get("physical id"), current["core id"]))
                current = {}
            elif ":" in line:
                key, value = line.split(":", 1)
                current[key.strip()] = value.strip()
        return len(pairs) or None
    except OSError:
        return None


#: Programs whose version ftbench asks with ``NAME --version`` (the executable the step runs).
#: Never any other: an unknown command run once more could do anything (issue 9: a script
#: with side effects ran once more than sampled). Others get a step's ``version`` command.
KNOWN_TOOLS = frozenset(
    {
        *("ruff", "mypy", "pytest", "firsttry", "black", "flake8", "pylint", "isort"),
        *("pyright", "coverage", "tox", "nox", "pre-commit", "uv", "pip", "git"),
        *("node", "npm", "pnpm", "yarn", "deno", "bun", "tsc", "eslint", "prettier"),
        *("jest", "vitest", "go", "cargo", "rustc", "make", "cmake", "ninja", "gcc"),
        *("clang", "javac", "java", "mvn", "gradle", "dotnet", "bazel"),
    }
)
_PYTHON = re.compile(r"^python[0-9.]*$")
#: At most this much of a version command's output is read (the rest is discarded).
VERSION_OUTPUT_LIMIT = 64 * 1024


def read_version(
    argv: Sequence[str], cwd: Path | None = None, path: str | None = None, timeout: float = 10.0
) -> str | None:
    """The first line of what ``argv`` prints, or None: on any failure, a non-zero exit, no
    output, or no answer within ``timeout`` (its process group is then killed). Never raises;
    reads at most :data:`VERSION_OUTPUT_LIMIT` bytes; undecodable bytes are replaced. Runs
    with the benchmarked commands' environment (ftbench's credentials removed)."""
    env = target_environ()
    if path:
        env["PATH"] = path
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    assert proc.stdout is not None
    output, deadline = b"", time.monotonic() + timeout
    try:
        fd = proc.stdout.fileno()
        while len(output) < VERSION_OUTPUT_LIMIT:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, VERSION_OUTPUT_LIMIT - len(output))
            if not chunk:
                break
            output += chunk
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)  # done reading: nothing of it lingers
        code = proc.wait()
    except Exception:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None
    finally:
        proc.stdout.close()
    text = output.decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    ok = code == 0 or code == -signal.SIGKILL  # killed by us after it answered
    return scrub(lines[0])[:200] if lines and ok else None


def tool_version(argv0: str, path: str | None = None) -> str | None:
    """The version of a step's program: ftbench's own Python's (nothing run), else
    ``argv0 --version`` for another Python interpreter or a :data:`KNOWN_TOOLS` program, else
    None."""
    name = Path(argv0).name
    if argv0 == sys.executable:
        return f"Python {platform.python_version()}"
    if name not in KNOWN_TOOLS and not _PYTHON.match(name):  # the user's interpreter: asked
        return None
    program = argv0 if "/" in argv0 else shutil.which(argv0, path=path)
    if not program:
        return None
    return read_version([program, "--version"], path=path) or script_version(program, path)


#: asks an interpreter which installed distribution provides the console script ``argv[1]``
_SCRIPT_OWNER = (
    "import sys, importlib.metadata as m\n"
    "for d in m.distributions():\n"
    "    if any(e.group == 'console_scripts' and e.name == sys.argv[1] for e in d.entry_points):\n"
    "        print(d.metadata['Name'], d.version); break\n"
)


def script_version(program: str, path: str | None = None) -> str | None:
    """The version of the distribution that installed ``program``, a Python console script
    (its first line names its interpreter), for tools without ``--version`` (FirstTry 0.1.9
    has none); None for anything else. Reads the installed metadata: nothing of the tool
    runs."""
    try:
        with open(program, "rb") as fh:
            first = fh.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    interpreter = first[2:].decode(errors="replace").strip().split(" ")[0]
    if not _PYTHON.match(Path(interpreter).name) or not os.access(interpreter, os.X_OK):
        return None
    return read_version([interpreter, "-c", _SCRIPT_OWNER, Path(program).name], path=path)


def module_version(python: str, module: str, path: str | None = None) -> str | None:
    """``python -m module --version`` for a :data:`KNOWN_TOOLS` module (``{python} -m pytest``:
    pytest's version, never the interpreter's); None for any other module."""
    if module not in KNOWN_TOOLS:
        return None
    program = python if "/" in python else shutil.which(python, path=path)
    return read_version([program, "-m", module, "--version"], path=path) if program else None


def tool_versions(
    repo_root: Path, step_programs: Mapping[str, str], target: Any, mode: str
) -> dict[str, str | None]:
    """Each step's tool version: its ``version`` command, else :func:`tool_version`."""
    path = getattr(target, "path", "") or None
    steps = {s.name: s for s in getattr(target, "steps", ())}
    versions: dict[str, str | None] = {}
    for name, program in step_programs.items():
        step = steps.get(name)
        reader = getattr(step, "version_argv", None)  # steps with a ``version`` command
        command = reader(target.tier, mode) if reader is not None else None
        argv = step.argv(target.tier, mode) if step is not None and not step.shell else []
        try:
            if command:
                versions[name] = read_version(command, cwd=repo_root, path=path)
            elif len(argv) > 2 and argv[1] == "-m" and _PYTHON.match(Path(argv[0]).name):
                versions[name] = module_version(program, argv[2], path)  # python -m pytest
            else:
                versions[name] = tool_version(program, path)
        except Exception:  # a version is never worth a measured run
            versions[name] = None
    return versions


def snapshot(
    repo_root: Path, step_programs: Mapping[str, str], target: Any = None, mode: str = ""
) -> dict[str, Any]:
    """The ``environment`` block of a report (``target``: its steps' ``version`` commands
    and PATH)."""
    uname = platform.uname()
    try:
        disk_free: int | None = shutil.disk_usage(repo_root).free
    except OSError:
        disk_free = None
    return {
        "os": platform.system(),
        "os_release": platform.freedesktop_os_release().get("PRETTY_NAME")
        if hasattr(platform, "freedesktop_os_release") and _has_os_release()
        else None,
        "kernel": uname.release,
        "arch": uname.machine,
        "cpu_model": _cpu_model(),
        "cpu_count": _physical_cores() or os.cpu_count(),
        "cpu_count_logical": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": _memory_bytes(),
        "disk_free_bytes": disk_free,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "tool_versions": tool_versions(repo_root, step_programs, target, mode),
        "ci": ci_provider(),
        "env": allowed_env(),
    }


def _has_os_release() -> bool:
    try:
        platform.freedesktop_os_release()
    except OSError:
        return False
    return True
