"""S3 configuration: parsing, validation, masking, URLs; lazy boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factory import make_report
from ftbench import redact
from ftbench.archive.manager import S3ArchiveManager
from ftbench.archive.s3 import S3Config, describe_error
from ftbench.archive.s3config import FALSE_WORDS, TRUE_WORDS, endpoint_problem, parse_bool
from ftbench.archive.urls import object_url

SECRET = "fake-secret-for-tests-0000"
TOKEN = "fake-session-token-0000"
KEY = "benchmarks/abcd1234/2025-11-07T05:24:05Z-benchmark-0123456789ab.json"


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def env(**extra: str) -> dict[str, str]:
    base = {
        "S3_ACCESS_KEY_ID": "AKIDFAKE00000000",
        "S3_SECRET_ACCESS_KEY": SECRET,
        "S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "S3_BUCKET_NAME": "bench-bucket",
    }
    base.update(extra)
    return base


@given(
    st.sampled_from(sorted(TRUE_WORDS | FALSE_WORDS)),
    st.sampled_from(["", " ", "\t"]),
    st.booleans(),
)
def test_parse_bool_spellings(word: str, pad: str, upper: bool) -> None:
    text = pad + (word.upper() if upper else word) + pad
    assert parse_bool(text) is (word in TRUE_WORDS)


@given(st.text(max_size=12))
def test_parse_bool_unknown_is_none(text: str) -> None:
    result = parse_bool(text)
    word = text.strip().lower()
    if not word:
        assert result is True
    elif word in TRUE_WORDS | FALSE_WORDS:
        assert result is (word in TRUE_WORDS)
    else:
        assert result is None


def test_defaults_from_env() -> None:
    cfg = S3Config.from_env(env())
    assert (cfg.region, cfg.prefix, cfg.enabled, cfg.checksum) == (
        "auto",
        "benchmarks",
        True,
        "when_supported",
    )
    assert cfg.is_usable and cfg.problems == ()
    assert cfg.endpoint_url == "http://127.0.0.1:9"


def test_extras_from_env() -> None:
    cfg = S3Config.from_env(
        env(
            S3_ADDRESSING_STYLE="Path",
            S3_CHECKSUM="when_required",
            S3_CONNECT_TIMEOUT="1.5",
            S3_READ_TIMEOUT="7",
            S3_MAX_ATTEMPTS="4",
            S3_TOTAL_TIMEOUT="30",
            S3_PUBLIC_URL_BASE="https://pub.example.test/",
            S3_PRESIGN_EXPIRY="900",
            S3_SESSION_TOKEN=TOKEN,
            S3_PREFIX="/prod/bench/",
            S3_REGION="eu-west-1",
        )
    )
    assert cfg.problems == ()
    assert (
        cfg.addressing_style,
        cfg.checksum,
        cfg.connect_timeout,
        cfg.read_timeout,
        cfg.max_attempts,
        cfg.total_timeout,
        cfg.public_url_base,
        cfg.presign_expiry_s,
        cfg.session_token,
        cfg.prefix,
        cfg.region,
    ) == (
        "path",
        "when_required",
        1.5,
        7.0,
        4,
        30.0,
        "https://pub.example.test",
        900,
        TOKEN,
        "prod/bench",
        "eu-west-1",
    )


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"S3_ENABLED": "maybe"}, "S3_ENABLED must be true or false"),
        ({"S3_ENDPOINT_URL": "not a url"}, "S3_ENDPOINT_URL must start with https:// or http://"),
        ({"S3_ENDPOINT_URL": "ftp://host"}, "S3_ENDPOINT_URL must start with"),
        ({"S3_ENDPOINT_URL": "https://"}, "S3_ENDPOINT_URL has no host name"),
        ({"S3_ENDPOINT_URL": "https://host:99999"}, "S3_ENDPOINT_URL is not a valid URL"),
        ({"S3_ENDPOINT_URL": f"https://u:{SECRET}@host"}, "S3_ENDPOINT_URL must not contain"),
        ({"S3_ENDPOINT_URL": "https://host/path"}, "S3_ENDPOINT_URL must be scheme://host"),
        ({"S3_PREFIX": "a/../b"}, "S3_PREFIX must not contain '.' or '..'"),
        ({"S3_PREFIX": ".."}, "S3_PREFIX must not contain '.' or '..'"),
        ({"S3_PREFIX": "a//b"}, "S3_PREFIX must not contain empty path segments"),
        ({"S3_BUCKET_NAME": "x"}, "S3_BUCKET_NAME is not a valid bucket name"),
        ({"S3_SECRET_ACCESS_KEY": ""}, "S3_SECRET_ACCESS_KEY is not set (S3_ACCESS_KEY_ID is)"),
        ({"S3_ADDRESSING_STYLE": "sideways"}, "S3_ADDRESSING_STYLE must be one of"),
        ({"S3_CHECKSUM": "always"}, "S3_CHECKSUM must be one of"),
        ({"S3_CONNECT_TIMEOUT": "soon"}, "S3_CONNECT_TIMEOUT must be a number"),
        ({"S3_READ_TIMEOUT": "-1"}, "S3_READ_TIMEOUT must be a positive number"),
        ({"S3_TOTAL_TIMEOUT": "nan"}, "S3_TOTAL_TIMEOUT must be a finite number"),
        ({"S3_MAX_ATTEMPTS": "0"}, "S3_MAX_ATTEMPTS must be an integer from 1 to 20"),
        ({"S3_PRESIGN_EXPIRY": "99999999"}, "S3_PRESIGN_EXPIRY must be from 0"),
        ({"S3_PUBLIC_URL_BASE": "cdn.example"}, "S3_PUBLIC_URL_BASE must be an http(s) URL"),
    ],
)
def test_invalid_values_give_one_line_and_disable(extra: dict[str, str], problem: str) -> None:
    cfg = S3Config.from_env(env(**extra))
    assert len(cfg.problems) == 1, cfg.problems
    assert cfg.problems[0].startswith(problem)
    assert "\n" not in cfg.problems[0] and SECRET not in cfg.problems[0]
    assert not cfg.is_usable
    assert not S3ArchiveManager(cfg).is_available()


@given(st.text(max_size=60))
def test_endpoint_validation_never_raises_or_echoes(url: str) -> None:
    problem = endpoint_problem(url)
    if problem is not None:
        assert problem.startswith("S3_ENDPOINT_URL")
        assert url.strip() == "" or url.strip() not in problem or len(url.strip()) < 4


def test_not_configured_and_disabled() -> None:
    assert not S3Config.from_env({}).is_configured
    cfg = S3Config.from_env(env(S3_ENABLED="false"))
    assert cfg.is_configured and not cfg.is_usable and cfg.problems == ()
    assert S3ArchiveManager(cfg).unavailable_reason() == "disabled (S3_ENABLED)"


def test_default_chain_and_aws_endpoint() -> None:
    cfg = S3Config.from_env({"S3_BUCKET_NAME": "my-benchmarks"})
    assert cfg.is_usable
    assert cfg.endpoint_url is None and cfg.uses_aws and cfg.signing_region == "us-east-1"
    assert cfg.to_dict()["credentials"] == "AWS default chain"


def test_guide_constructor_and_masking() -> None:
    cfg = S3Config(
        access_key_id="AKIDFAKEEXAMPLE0",
        secret_access_key=SECRET,
        endpoint_url="https://your-endpoint.com",
        bucket_name="my-bucket",
        region="auto",
        prefix="benchmarks/prod",
        session_token=TOKEN,
    )
    texts = [
        repr(cfg),
        str(cfg),
        json.dumps(cfg.to_dict()),
        f"{cfg}",
        repr([cfg]),
        repr(S3ArchiveManager(cfg)),
    ]
    for text in texts:
        assert SECRET not in text and TOKEN not in text and "AKIDFAKEEXAMPLE0" not in text
    d = cfg.to_dict()
    assert d["secret_access_key"] == "****" and d["session_token"] == "****"
    assert d["access_key_id"] == "AKID****"


def client_error(code: str, message: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    # A partial response, as servers send (the stubs' TypedDict wants every header).
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PutObject")


def test_errors_are_scrubbed() -> None:
    cfg = S3Config.from_env(env(S3_SESSION_TOKEN=TOKEN))
    err = describe_error(client_error("WeirdError", f"bad {SECRET} {TOKEN}", 400), cfg)
    assert str(err) == f"WeirdError: bad {redact.MASK} {redact.MASK}"
    denied = client_error("SignatureDoesNotMatch", SECRET, 403)
    assert describe_error(denied, cfg).kind == "access_denied"
    assert SECRET not in str(describe_error(denied, cfg))


@pytest.mark.parametrize(
    ("extra", "url"),
    [
        ({}, "http://127.0.0.1:9/bench-bucket/" + KEY.replace(":", "%3A")),
        (
            {"S3_ADDRESSING_STYLE": "virtual", "S3_ENDPOINT_URL": "https://store.example"},
            "https://bench-bucket.store.example/" + KEY.replace(":", "%3A"),
        ),
        (
            {"S3_ENDPOINT_URL": "https://acct.r2.cloudflarestorage.com"},
            "https://acct.r2.cloudflarestorage.com/bench-bucket/" + KEY.replace(":", "%3A"),
        ),
        (
            {"S3_ENDPOINT_URL": "https://s3.amazonaws.com", "S3_REGION": "us-east-1"},
            "https://bench-bucket.s3.us-east-1.amazonaws.com/" + KEY.replace(":", "%3A"),
        ),
        (
            {"S3_ENDPOINT_URL": "", "S3_REGION": "eu-west-1"},
            "https://bench-bucket.s3.eu-west-1.amazonaws.com/" + KEY.replace(":", "%3A"),
        ),
        (
            {"S3_ENDPOINT_URL": "https://s3.eu-central-1.amazonaws.com"},
            "https://bench-bucket.s3.eu-central-1.amazonaws.com/" + KEY.replace(":", "%3A"),
        ),
        (
            {"S3_ENDPOINT_URL": "", "S3_BUCKET_NAME": "my.dotted.bucket"},
            "https://s3.us-east-1.amazonaws.com/my.dotted.bucket/" + KEY.replace(":", "%3A"),
        ),
        (
            {"S3_PUBLIC_URL_BASE": "https://pub-x.r2.dev/"},
            "https://pub-x.r2.dev/" + KEY.replace(":", "%3A"),
        ),
    ],
)
def test_object_urls(extra: dict[str, str], url: str) -> None:
    assert object_url(S3Config.from_env(env(**extra)), KEY) == url


def test_key_is_url_encoded() -> None:
    cfg = S3Config.from_env(env())
    assert (
        object_url(cfg, "p/a b#c?d.json") == "http://127.0.0.1:9/bench-bucket/p/a%20b%23c%3Fd.json"
    )


def test_presigned_url_is_local_and_needs_no_network() -> None:
    manager = S3ArchiveManager(S3Config.from_env(env(S3_PRESIGN_EXPIRY="60")))
    url = manager.url(KEY)
    assert url.startswith("http://127.0.0.1:9/bench-bucket/benchmarks/")
    assert "X-Amz-Expires=60" in url and SECRET not in url


def test_upload_from_missing_file_and_unavailable(tmp_path: Path) -> None:
    manager = S3ArchiveManager(S3Config.from_env({}))
    assert not manager.is_available()
    assert manager.list_reports(tmp_path) == [] and manager.download_report(KEY) is None
    result = manager.upload_benchmark_report(make_report([1.0]).to_dict(), tmp_path)
    assert not result.success and result.error and "not configured" in result.error
    assert set(result.to_dict()) == {
        "success",
        "url",
        "key",
        "size_bytes",
        "upload_time_ms",
        "error",
    }
    ok = S3ArchiveManager(S3Config.from_env(env()))
    missing = ok.upload_from_file(tmp_path / "nope.json", tmp_path)
    assert not missing.success and missing.error and "cannot read" in missing.error
    (tmp_path / "bad.json").write_text("[1]")
    assert (
        ok.upload_from_file(tmp_path / "bad.json", tmp_path).error
        == f"{tmp_path / 'bad.json'} is not a JSON object"
    )
    (tmp_path / "bad.json").write_text("{")
    assert (
        ok.upload_from_file(tmp_path / "bad.json", tmp_path).error
        == f"{tmp_path / 'bad.json'} is not valid JSON"
    )


def test_invalid_report_is_refused_before_any_request(tmp_path: Path) -> None:
    """The guide's dict is checked through the report model: a partial or wrong report
    gives one line naming the field, and nothing is sent (the endpoint here is closed)."""
    manager = S3ArchiveManager(S3Config.from_env(env()))
    partial = {"schema": 1, "timestamp": "2025-11-07T05:24:05Z"}
    result = manager.upload_benchmark_report(partial, tmp_path)
    assert not result.success and result.key is None and result.error is not None
    assert result.error.startswith("report_data: ") and "\n" not in result.error
    wrong = {**make_report([1.0]).to_dict(), "tier": 3}
    result = manager.upload_benchmark_report(wrong, tmp_path)
    assert result.error is not None and result.error.startswith("report_data: ")
    assert "tier" in result.error
    (tmp_path / "partial.json").write_text(json.dumps(partial))
    result = manager.upload_from_file(tmp_path / "partial.json", tmp_path)
    assert result.error is not None and result.error.startswith(f"{tmp_path / 'partial.json'}: ")
    # A valid report gets as far as the (closed) endpoint.
    result = manager.upload_benchmark_report(make_report([1.0]).to_dict(), tmp_path)
    assert result.error is not None and result.error.startswith("Connection error")


def test_lazy_boto3() -> None:
    code = (
        "import sys, ftbench, ftbench.archive.s3, ftbench.archive.sync, "
        "ftbench.archive.manager, ftbench.cli.archive, tools.ft_bench_s3\n"
        "ftbench.S3ArchiveManager\n"
        "from ftbench.archive.s3 import S3Config\n"
        "S3Config.from_env()\n"
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


def test_without_boto3(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.modules['boto3'] = None\n"
        "from ftbench.archive.manager import S3ArchiveManager, S3Config\n"
        "from ftbench.archive.s3 import boto3_available\n"
        "m = S3ArchiveManager(S3Config.from_env())\n"
        "r = m.upload_benchmark_report({'schema': 1}, '.')\n"
        "print(boto3_available(), m.is_available(), r.error)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **env()},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False False boto3 not installed"
