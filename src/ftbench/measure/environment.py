"""Snapshot of the machine, the CI context and git: what a reader needs to trust a figure.

Only allowlisted environment variables are recorded (see :mod:`ftbench.redact`).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftbench.redact import allowed_env, scrub, strip_url_credentials

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


def tool_version(argv0: str, timeout: float = 10.0) -> str | None:
    """First line of ``argv0 --version``; the interpreter's own version for Python."""
    if argv0 == sys.executable:  # another interpreter (the user's) is asked below
        return f"Python {platform.python_version()}"
    if argv0 in ("/bin/sh", "sh", "bash", "/bin/bash"):
        return None
    if shutil.which(argv0) is None:
        return None
    try:
        proc = subprocess.run(
            [argv0, "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return scrub(lines[0])[:200] if lines and proc.returncode == 0 else None


def snapshot(repo_root: Path, step_programs: Mapping[str, str]) -> dict[str, Any]:
    """The ``environment`` block of a report."""
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
        "tool_versions": {step: tool_version(prog) for step, prog in step_programs.items()},
        "ci": ci_provider(),
        "env": allowed_env(),
    }


def _has_os_release() -> bool:
    try:
        platform.freedesktop_os_release()
    except OSError:
        return False
    return True
