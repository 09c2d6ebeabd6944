"""Repository ids: remote normalisation, git fallbacks, overrides."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftbench.archive import repo_id as rid_mod
from ftbench.archive.repo_id import hash_identity, normalise_remote, repo_id
from ftbench.errors import UsageError

SAME_REPO = [
    "https://github.com/o/r",
    "https://github.com/o/r.git",
    "https://x@github.com/o/r.git",
    "https://x-access-token:ghs_fake0123@github.com/o/r.git",
    "https://user:pass@GitHub.com:443/o/r/",
    "http://github.com/o/r.git/",
    "git@github.com:o/r",
    "git@github.com:o/r.git",
    "ssh://git@github.com/o/r.git",
    "ssh://git@github.com:22/o/r",
    "git://github.com/o/r.git",
]


@pytest.mark.parametrize("url", SAME_REPO)
def test_remote_forms_normalise_to_one_identity(url: str) -> None:
    assert normalise_remote(url) == "github.com/o/r"


def test_different_repositories_differ() -> None:
    assert normalise_remote("git@github.com:o/r2") != normalise_remote("git@github.com:o/r")
    assert normalise_remote("git@gitlab.com:o/r") != normalise_remote("git@github.com:o/r")


def test_local_remotes() -> None:
    assert normalise_remote("file:///srv/git/r.git") == "/srv/git/r"
    assert normalise_remote("/srv/git/r.git/") == "/srv/git/r"


_host = st.from_regex(r"[a-z][a-z0-9-]{0,15}(\.[a-z]{2,6}){1,2}", fullmatch=True)
_seg = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", fullmatch=True).filter(
    lambda s: not s.endswith(".git") and s not in (".", "..")
)
_cred = st.from_regex(r"[A-Za-z0-9_-]{1,20}(:[A-Za-z0-9_-]{1,30})?", fullmatch=True)


@given(
    host=_host,
    path=st.lists(_seg, min_size=1, max_size=3),
    cred=st.none() | _cred,
    port=st.none() | st.integers(1, 65535),
    git=st.booleans(),
    slash=st.booleans(),
    scheme=st.sampled_from(["https", "http", "ssh", "git"]),
)
def test_url_forms_agree_with_scp_form(
    host: str,
    path: list[str],
    cred: str | None,
    port: int | None,
    git: bool,
    slash: bool,
    scheme: str,
) -> None:
    p = "/".join(path)
    netloc = (f"{cred}@" if cred else "") + host + (f":{port}" if port else "")
    url = f"{scheme}://{netloc}/{p}{'.git' if git else ''}{'/' if slash else ''}"
    scp = f"git@{host}:{p}{'.git' if git else ''}"
    assert normalise_remote(url) == normalise_remote(scp) == f"{host}/{p}"


@given(
    secret=st.from_regex(r"[A-Za-z0-9]{12,30}", fullmatch=True),
    host=_host,
    path=st.lists(_seg, min_size=1, max_size=3),
)
def test_credentials_never_survive(secret: str, host: str, path: list[str]) -> None:
    p = "/".join(path)
    out = normalise_remote(f"https://token:{secret}@{host}/{p}.git")
    assert out == f"{host}/{p}"
    assert f"{secret}@" not in out and "token:" not in out


@given(st.text(max_size=200))
def test_normalise_never_raises(text: str) -> None:
    assert isinstance(normalise_remote(text), str)


def git_init(path: Path, remote: str | None) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    if remote:
        subprocess.run(["git", "-C", str(path), "remote", "add", "origin", remote], check=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_same_remote_same_id_on_different_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("S3_REPO_ID", raising=False)
    a, b = tmp_path / "runner1" / "r", tmp_path / "runner2" / "checkout"
    git_init(a, "https://x-access-token:tok@github.com/o/r.git")
    git_init(b, "git@github.com:o/r")
    assert repo_id(a) == repo_id(b) == hash_identity("github.com/o/r")
    assert re.fullmatch(r"[0-9a-f]{8}", repo_id(a))


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_no_remote_uses_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3_REPO_ID", raising=False)
    git_init(tmp_path / "r", None)
    assert repo_id(tmp_path / "r") == hash_identity(str((tmp_path / "r").resolve()))
    monkeypatch.chdir(tmp_path)
    assert repo_id(Path("r")) == repo_id(tmp_path / "r")


def test_not_a_repo_and_git_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3_REPO_ID", raising=False)
    expected = hash_identity(str(tmp_path.resolve()))
    assert repo_id(tmp_path) == expected
    assert repo_id(tmp_path / "does-not-exist") == hash_identity(
        str((tmp_path / "does-not-exist").resolve())
    )
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no git at all
    assert rid_mod.git_remote_url(tmp_path) is None
    assert repo_id(tmp_path) == expected


def test_git_timeout_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: object, **kwargs: object) -> object:
        raise subprocess.TimeoutExpired("git", 5)

    monkeypatch.setattr("ftbench.archive.repo_id.subprocess.run", slow)
    assert rid_mod.git_remote_url(tmp_path) is None


def test_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3_REPO_ID", "from-env")
    assert repo_id(tmp_path) == "from-env"
    assert repo_id(tmp_path, "cli-id") == "cli-id"
    for bad in ("../x", "a/b", ".hidden", "a..b", "x" * 65, "sp ace"):
        with pytest.raises(UsageError):
            repo_id(tmp_path, bad)
    monkeypatch.setenv("S3_REPO_ID", "../../etc")
    with pytest.raises(UsageError, match="S3_REPO_ID"):
        repo_id(tmp_path)
