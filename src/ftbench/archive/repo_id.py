"""The repository id used in archive keys: 8 hex characters of SHA-256 of a stable identity.

Rule (documented in ``docs/archive.md``):

1. an explicit override (``--repo-id``, else the ``S3_REPO_ID`` environment variable) is used
   as given, after checking that it is one safe key segment;
2. else the ``origin`` git remote URL, normalised by :func:`normalise_remote` (scheme,
   credentials, port, trailing ``/`` and ``.git`` suffix removed, host lower-cased), so every
   clone of one repository (HTTPS with a token, SSH, scp-like ``git@host:owner/repo``) gets
   the same id on every CI runner;
3. else the absolute, resolved path of the repository root.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

from ftbench.archive import REPO_ID_ENV
from ftbench.errors import UsageError

REPO_ID_LEN = 8
GIT_TIMEOUT_S = 5.0

_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
# scp-like syntax: [user@]host:path, where host has no '/' and path does not start with '//'.
_SCP = re.compile(r"^(?:(?P<user>[^@/]*)@)?(?P<host>[^:/]+):(?!//)(?P<path>.*)$", re.DOTALL)


def _strip_path(path: str) -> str:
    path = path.strip().strip("/")
    while path.endswith("/"):
        path = path.rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path.strip("/")


def _host(netloc: str) -> str:
    """``user:secret@Host:port`` -> ``host`` (credentials and port dropped)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        return hostport[: end + 1].lower() if end != -1 else hostport.lower()
    return hostport.partition(":")[0].lower()


def normalise_remote(url: str) -> str:
    """A git remote URL reduced to ``host/path`` (or a plain path for local remotes).

    >>> normalise_remote("https://x-access-token:abc@GitHub.com/o/r.git")
    'github.com/o/r'
    >>> normalise_remote("git@github.com:o/r")
    'github.com/o/r'
    """
    text = url.strip()
    m = _URL.match(text)
    if m:
        rest = m.group("rest")
        netloc, slash, path = rest.partition("/")
        if m.group("scheme").lower() == "file" or not netloc:
            return "/" + _strip_path(unquote(path)) if slash else _strip_path(unquote(rest))
        host = _host(netloc)
        path = _strip_path(unquote(path.partition("?")[0].partition("#")[0]))
        return f"{host}/{path}" if path else host
    if not text.startswith(("/", ".")) and not re.match(r"^[A-Za-z]:[\\/]", text):
        s = _SCP.match(text)
        if s:
            path = _strip_path(s.group("path"))
            host = s.group("host").lower()
            return f"{host}/{path}" if path else host
    # A local path used as a remote.
    return _strip_path(text) if not text.startswith("/") else "/" + _strip_path(text)


def git_remote_url(repo_root: Path) -> str | None:
    """``remote.origin.url`` of the repository at ``repo_root``; None when there is none or
    git is missing, slow or fails."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo_root), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if proc.returncode != 0:
        return None
    url = proc.stdout.strip()
    return url or None


def check_repo_id(value: str, source: str = "--repo-id") -> str:
    """Validate an explicit repository id (one key segment); raises :class:`UsageError`."""
    value = value.strip()
    if not _SAFE_SEGMENT.match(value) or ".." in value:
        raise UsageError(
            f"{source} must be 1-64 characters of letters, digits, '.', '_' or '-' "
            "(not starting with '.' or '-', no '..')"
        )
    return value


def hash_identity(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:REPO_ID_LEN]


def repo_identity(repo_root: Path) -> str:
    """The string that is hashed: the normalised remote, else the absolute path."""
    remote = git_remote_url(repo_root)
    if remote:
        normalised = normalise_remote(remote)
        if normalised:
            return normalised
    return str(Path(repo_root).expanduser().resolve())


def repo_id(repo_root: Path, override: str | None = None) -> str:
    """The repository id of ``repo_root`` (see the module docstring for the rule)."""
    if override:
        return check_repo_id(override, "--repo-id")
    env = os.environ.get(REPO_ID_ENV, "").strip()
    if env:
        return check_repo_id(env, REPO_ID_ENV)
    return hash_identity(repo_identity(Path(repo_root)))
