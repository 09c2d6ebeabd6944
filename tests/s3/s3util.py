"""Helpers shared by the S3 tests (servers, buckets, environment, reports).

Reports come from ``tests/factory.py`` (``tests/`` is on ``sys.path``: pytest puts the
directory of ``tests/conftest.py`` there), so every one is a report the writer could emit.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Sequence
from typing import Any

import pytest

from factory import make_report as factory_report
from ftbench.report.model import Report
from s3.servers import S3Server

REPO_ID = "0badc0de"

AWS_VARS_TO_CLEAR = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No S3_*/FTBENCH_* settings and no ambient AWS configuration (files, IMDS, profiles)."""
    for name in list(os.environ):
        if name.startswith("S3_") or name.startswith("FTBENCH_"):
            monkeypatch.delenv(name, raising=False)
    for name in AWS_VARS_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def admin_client(server: S3Server) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=server.admin_key,
        aws_secret_access_key=server.admin_secret,
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=32,
            retries={"max_attempts": 2},
        ),
    )


def new_bucket(server: S3Server, name: str | None = None) -> str:
    name = name or f"ftb-{secrets.token_hex(6)}"
    admin_client(server).create_bucket(Bucket=name)
    return name


def s3_env_for(server: S3Server, bucket: str, **extra: str) -> dict[str, str]:
    env = {
        "S3_ACCESS_KEY_ID": server.access_key,
        "S3_SECRET_ACCESS_KEY": server.secret_key,
        "S3_ENDPOINT_URL": server.endpoint,
        "S3_BUCKET_NAME": bucket,
        "S3_MAX_ATTEMPTS": "2",
        "S3_CONNECT_TIMEOUT": "3",
        "S3_READ_TIMEOUT": "10",
    }
    if server.kind == "rclone":
        # rclone mis-answers botocore's newer default checksums on some calls (see
        # docs/archive.md); SeaweedFS runs with the default, so both settings are exercised.
        env["S3_CHECKSUM"] = "when_required"
    env.update(extra)
    return env


def make_report(
    i: int = 0, *, timestamp: str = "2025-11-07T05:24:05Z", warm: Sequence[float] | None = None
) -> Report:
    """A small valid report: run id ``i`` (the same ``i`` gives an equal report), repository
    id ``0badc0de``, warm wall times ``warm`` (default three of ``1 + i/100`` s)."""
    report = factory_report(
        warm=list(warm) if warm is not None else [1.0 + i / 100] * 3,
        timestamp=timestamp,
        run_id=f"{i:032x}",
        repo_id=REPO_ID,
        mode="fast",
    )
    return dataclasses.replace(report, archive=None)  # as a run has it before archiving
