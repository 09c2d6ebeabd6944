"""Credentials stay out of the benchmarked command's environment, and their values out of its
logs (issue 16, item 5): the name rule, the log masking, and real ``ft-bench run``s."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftbench.measure import logs
from ftbench.redact import (
    is_credential_name,
    kept_from_commands,
    log_secrets,
    target_environ,
)
from procs import PY
from procs import committed_repo as make_repo

QUICK = ("--runs", "2", "--cold-runs", "1", "--warmup", "0", "--baseline", "none")

REMOVED = [
    "GITHUB_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "CI_JOB_TOKEN",
    "CI_JOB_JWT_V2",
    "CI_REGISTRY_PASSWORD",
    "DOCKER_AUTH_CONFIG",
    "FOO_PASSWORD",
    "PGPASSWORD",
    "DB_PASSWD",
    "MY_SECRET",
    "SECRET_KEY_BASE",
    "NPM_TOKEN",
    "npm_config__authToken",
    "HOMEBREW_GITHUB_API_TOKEN",
    "OPENAI_API_KEY",
    "STRIPE_KEY",
    "GITHUB_PAT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "SSH_PRIVATE_KEY",
    "BASIC_AUTH",
    "S3_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
]
KEPT = [
    "SSH_AUTH_SOCK",
    "XAUTHORITY",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "TOKENIZERS_PARALLELISM",
    "KEYBOARD_LAYOUT",
    "KEYTIMEOUT",
    "PYTHONHASHSEED",
    "XDG_SESSION_ID",
    "DBUS_SESSION_BUS_ADDRESS",
    "PIP_KEYRING_PROVIDER",
    "PATH",
    "PWD",
    "HOME",
    "FIRSTTRY_LICENSE_KEY",  # a licence key: what the measured tool needs (masked in logs)
]


@pytest.mark.parametrize("name", REMOVED)
def test_credential_names_are_kept_from_commands(name: str) -> None:
    assert kept_from_commands(name, "value")
    assert name not in target_environ({name: "value", "PATH": "/bin"})


@pytest.mark.parametrize("name", KEPT)
def test_tool_settings_reach_commands(name: str) -> None:
    assert not kept_from_commands(name, "value")
    assert target_environ({name: "value"}) == {name: "value"}


def test_log_secrets_are_credential_values_and_url_passwords() -> None:
    env = {
        "GITHUB_TOKEN": "ghp_value_1",
        "FIRSTTRY_LICENSE_KEY": "licence-2",
        "PIP_INDEX_URL": "https://user:pw-in-url-3@pypi.example/simple",
        "FOO_PASSWORD": "short",  # too short to mask in free text
        "TOKENIZERS_PARALLELISM": "false-but-long",
        "HOME": "/home/someone",
    }
    assert set(log_secrets(env)) == {b"ghp_value_1", b"licence-2", b"user:pw-in-url-3"}
    assert is_credential_name("FIRSTTRY_LICENSE_KEY")  # masked, though passed to commands


def test_masking_rewrites_only_logs_holding_a_secret(tmp_path: Path) -> None:
    clean, dirty = tmp_path / "clean.log", tmp_path / "dirty.log"
    clean.write_bytes(b"nothing here\n")
    dirty.write_bytes(b"# header\nGITHUB_TOKEN=ghp_abcdef and ghp_abcdef_longer\n")
    before = clean.stat().st_mtime_ns, clean.stat().st_ino
    count = logs.mask_logs(
        [clean, dirty, tmp_path / "gone.log"], (b"ghp_abcdef_longer", b"ghp_abcdef")
    )
    assert count == 1
    assert dirty.read_bytes() == b"# header\nGITHUB_TOKEN=*** and ***\n"
    assert (clean.stat().st_mtime_ns, clean.stat().st_ino) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.log", "dirty.log"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"x", b"sec", b"secret", b"secretive", b"\n", b"ab" * 7]), max_size=60
    ),
    st.integers(min_value=1, max_value=16),
)
def test_masking_in_chunks_equals_masking_whole(
    tmp_path_factory: pytest.TempPathFactory, parts: list[bytes], chunk: int
) -> None:
    """A secret across a chunk boundary is masked; the longest secret wins where they
    overlap, as one replacement over the whole file would do it."""
    values = (b"secretive", b"secret", b"abab")
    data = b"".join(parts)
    log = tmp_path_factory.mktemp("mask") / "a.log"
    log.write_bytes(data)
    saved = logs.MASK_CHUNK
    logs.MASK_CHUNK = chunk
    try:
        logs.mask_logs([log], values)
    finally:
        logs.MASK_CHUNK = saved
    whole = re.compile(b"secretive|secret|abab").sub(b"***", data)
    assert log.read_bytes() == whole


# --- real runs --------------------------------------------------------------------------------


def run(repo: Path, *args: str, **secrets: str) -> tuple[str, list[str]]:
    """``ft-bench run`` in ``repo`` with ``secrets`` in its environment: its terminal output
    and the text of every file it wrote."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "AWS_", "FTBENCH_"))}
    env.update(secrets)
    done = subprocess.run(
        [PY, "-m", "ftbench", "run", *args, *QUICK],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = [p for p in (repo / ".firsttry").rglob("*") if p.is_file()]
    return done.stdout + done.stderr, [p.read_text(errors="replace") for p in written]


SECRETS = {
    "GITHUB_TOKEN": "ghp_canary_github_token_1",
    "FOO_PASSWORD": "canary-foo-password-2",
    "ACTIONS_RUNTIME_TOKEN": "canary-runtime-token-3",
    "CI_JOB_TOKEN": "canary-ci-job-token-4",
    "NPM_TOKEN": "canary-npm-token-5",
}


def test_a_command_printing_its_environment_sees_no_credential(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    terminal, files = run(repo, "--cmd", "env", **SECRETS, TOKENIZERS_PARALLELISM="false")
    for text in (terminal, *files):
        assert "canary" not in text
    logged = [t for t in files if t.startswith("# ftbench")]
    assert len(logged) == 2  # the cold sample's log, the warm batch's (two samples)
    assert sum(t.count("TOKENIZERS_PARALLELISM=false") for t in logged) == 3
    for text in logged:
        assert "TOKENIZERS_PARALLELISM=false" in text  # a tool setting still gets through
        for name in SECRETS:
            assert f"{name}=" not in text


def test_pass_env_gives_the_value_to_the_command_and_the_log_masks_it(tmp_path: Path) -> None:
    show = "import hashlib, os; v = os.environ.get('FOO_PASSWORD', ''); print('value', v); "
    show += "print('sha', hashlib.sha256(v.encode()).hexdigest()); "
    show += "print('token', 'GITHUB_TOKEN' in os.environ)"
    config = (
        "[tiers.lite]\nsteps = [\n"
        f'  {{ name = "show", cmd = ["{PY}", "-c", "{show}"], pass_env = ["FOO_PASSWORD"] }},\n]\n'
    )
    repo = make_repo(tmp_path / "repo", config)
    terminal, files = run(repo, "--tier", "lite", **SECRETS)
    for text in (terminal, *files):
        assert "canary" not in text
    (log,) = (repo / ".firsttry" / "bench_artifacts").glob("run-*/warm-01-02-show.log")
    expected = hashlib.sha256(SECRETS["FOO_PASSWORD"].encode()).hexdigest()
    shown = ["value ***", f"sha {expected}", "token False"]
    assert log.read_text().splitlines()[1:] == [
        "# ftbench warm sample 1",
        *shown,
        "# ftbench warm sample 2",
        *shown,
    ]
