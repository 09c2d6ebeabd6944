"""ftbench.redact: no credential survives scrubbing; only allowlisted variables are recorded."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from ftbench import redact
from ftbench.redact import MASK, allowed_env, is_secret_name, scrub, strip_url_credentials

NO_ENV: dict[str, str] = {}


def test_url_credentials_are_masked() -> None:
    text = "remote https://user:tok3n@example.com/o/r.git and ftp://me@host/x"
    out = scrub(text, NO_ENV)
    assert "tok3n" not in out
    assert "user:" not in out
    assert f"https://{MASK}@example.com/o/r.git" in out
    assert f"ftp://{MASK}@host/x" in out


def test_strip_url_credentials() -> None:
    assert (
        strip_url_credentials("https://user:tok3n@example.com/o/r.git")
        == "https://example.com/o/r.git"
    )
    assert (
        strip_url_credentials("https://x-access-token:ghp_abc@github.com/o/r")
        == "https://github.com/o/r"
    )
    assert strip_url_credentials("git@github.com:o/r.git") == "git@github.com:o/r.git"
    assert strip_url_credentials("https://example.com/o/r.git") == "https://example.com/o/r.git"


def test_secret_arguments_are_masked() -> None:
    for text, secret in [
        ("tool --password=hunter2xyz run", "hunter2xyz"),
        ("tool -api-key:abc123def", "abc123def"),
        ("deploy --aws-secret-access-key=AKIAxyzSECRET", "AKIAxyzSECRET"),
        ("TOKEN=zzz999yyy make", "zzz999yyy"),
        ("curl 'https://h/p?X-Amz-Signature=deadbeef00&X-Amz-Credential=AKIA1/2'", "deadbeef00"),
        ("https://h/p?a=1&token=sekrit123", "sekrit123"),
    ]:
        out = scrub(text, NO_ENV)
        assert secret not in out, (text, out)
        assert MASK in out


def test_plain_text_is_untouched() -> None:
    text = "ruff check src --fix; pytest -q -k 'not slow' tests/  # 3 passed"
    assert scrub(text, NO_ENV) == text


def test_secret_env_values_are_masked_wherever_they_appear() -> None:
    env = {
        "GITHUB_TOKEN": "ghp_abcdef123456",
        "S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "HOME": "/home/someone",
        "SHORT_TOKEN": "abc",
    }
    text = "echo ghp_abcdef123456 x wJalrXUtnFEMI/K7MDENG in /home/someone abc"
    out = scrub(text, env)
    assert "ghp_abcdef123456" not in out
    assert "wJalrXUtnFEMI/K7MDENG" not in out
    assert "/home/someone" in out  # HOME is not secret-looking
    assert out.endswith(" abc")  # values shorter than 6 characters are not hunted for


def test_extra_secrets() -> None:
    assert "s3kr1tvalue" not in scrub("a s3kr1tvalue b", NO_ENV, extra_secrets=["s3kr1tvalue"])
    assert scrub("abc", NO_ENV, extra_secrets=[""]) == "abc"


def test_secret_names() -> None:
    for name in (
        "GITHUB_TOKEN",
        "S3_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "DB_PASSWORD",
        "OPENAI_API_KEY",
        "NPM_AUTH",
        "MY_PRIVATE_KEY",
        "AWS_ACCESS_KEY_ID",
    ):
        assert is_secret_name(name), name
    for name in ("HOME", "PATH", "CI", "GITHUB_SHA", "LANG"):
        assert not is_secret_name(name), name


def test_allowed_env_is_an_allowlist() -> None:
    env = {
        "CI": "true",
        "GITHUB_RUN_ID": "42",
        "GITHUB_TOKEN": "ghp_secretvalue",
        "HOME": "/root",
        "PATH": "/usr/bin",
        "S3_SECRET_ACCESS_KEY": "xyzxyzxyz",
        "GITHUB_REF": "refs/heads/ghp_secretvalue",
    }
    recorded = allowed_env(env)
    assert set(recorded) == {"CI", "GITHUB_RUN_ID", "GITHUB_REF"}
    assert "ghp_secretvalue" not in str(recorded)  # a secret value leaking into an allowed var
    assert not any(is_secret_name(name) for name in redact.ENV_ALLOWLIST)


# --- property tests -------------------------------------------------------------------------

# RFC 3986 userinfo characters (the rest would be percent-encoded in a real URL)
_USERINFO = string.ascii_letters + string.digits + "-._~!$&'()*+,;=%"
# Surrounding text never contains upper-case letters, so a password starting with one cannot
# appear in it by accident.
_TEXT = st.text(alphabet=string.ascii_lowercase + string.digits + " /:.@-_\n\t\"'=?&", max_size=40)


@settings(max_examples=500, deadline=None)
@given(
    prefix=_TEXT,
    suffix=_TEXT,
    scheme=st.sampled_from(["https", "http", "git+https", "s3", "ftp", "redis"]),
    user=st.text(alphabet=_USERINFO.replace("%", ""), max_size=10),
    password=st.tuples(
        st.sampled_from(string.ascii_uppercase),
        st.text(alphabet=_USERINFO, min_size=3, max_size=20),
    ).map("".join),
    host=st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{2,5})?(:[0-9]{2,5})?", fullmatch=True),
    path=st.from_regex(r"(/[a-zA-Z0-9._~-]{0,8}){0,3}", fullmatch=True),
)
def test_scrub_never_leaves_a_url_password(
    prefix: str, suffix: str, scheme: str, user: str, password: str, host: str, path: str
) -> None:
    url = f"{scheme}://{user}:{password}@{host}{path}"
    text = f"{prefix} {url} {suffix}"
    out = scrub(text, NO_ENV)
    assert password not in out
    assert f"{user}:{password}" not in out
    assert password not in strip_url_credentials(url)
    assert strip_url_credentials(url) == f"{scheme}://{host}{path}"


_SECRET_VALUE = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="*"),
    min_size=6,
    max_size=30,
)


@settings(max_examples=500, deadline=None)
@given(
    name=st.sampled_from(
        [
            "GITHUB_TOKEN",
            "S3_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "DB_PASSWORD",
            "MY_API_KEY",
            "CI_JOB_TOKEN",
        ]
    ),
    value=_SECRET_VALUE,
    prefix=st.text(max_size=30),
    suffix=st.text(max_size=30),
    others=st.dictionaries(
        st.sampled_from(["HOME", "PATH", "X_TOKEN", "USER"]), st.text(max_size=12), max_size=3
    ),
)
def test_scrub_never_leaves_a_secret_env_value(
    name: str, value: str, prefix: str, suffix: str, others: dict[str, str]
) -> None:
    env = {**others, name: value}
    out = scrub(prefix + value + suffix, env)
    assert value not in out


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(
        [
            "--password",
            "--token",
            "-api-key",
            "--aws-secret-access-key",
            "PASSWORD",
            "github_token",
            "--db-passwd",
        ]
    ),
    sep=st.sampled_from(["=", ":"]),
    secret=st.tuples(
        st.sampled_from(string.ascii_uppercase),
        st.text(alphabet=string.ascii_letters + string.digits + "/+_.-", min_size=5, max_size=20),
    ).map("".join),
    prefix=st.text(alphabet=string.ascii_lowercase + " ", max_size=20),
    suffix=st.text(alphabet=string.ascii_lowercase + " ", max_size=20),
)
def test_scrub_masks_secret_arguments(
    key: str, sep: str, secret: str, prefix: str, suffix: str
) -> None:
    out = scrub(f"{prefix} {key}{sep}{secret} {suffix}", NO_ENV)
    assert secret not in out


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_scrub_is_idempotent_and_total(text: str) -> None:
    once = scrub(text, NO_ENV)
    assert scrub(once, NO_ENV) == once
