"""Real S3-compatible servers for the archive tests (one of each per session).

``s3_server`` is parametrised over the servers named in ``FTBENCH_S3_SERVERS`` (comma-separated:
``seaweedfs``, ``rclone``, or ``all``; default ``seaweedfs``): every test that uses it runs on
each of them. ``.ci/run`` runs the suite with the default, then ``-m s3`` again with
``FTBENCH_S3_SERVERS=rclone``. All traffic stays on 127.0.0.1; credentials are fake and new per
session; ambient AWS configuration is neutralised for every test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from s3.s3util import clean_env, new_bucket, s3_env_for
from s3.servers import S3Server, fake_credentials

SERVER_KINDS = ("seaweedfs", "rclone")
SERVERS_ENV = "FTBENCH_S3_SERVERS"


def selected_servers() -> list[str]:
    """The server kinds named by ``FTBENCH_S3_SERVERS`` (default: SeaweedFS only)."""
    raw = os.environ.get(SERVERS_ENV, "").strip() or "seaweedfs"
    if raw == "all":
        return list(SERVER_KINDS)
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in SERVER_KINDS]
    if unknown or not kinds:
        raise pytest.UsageError(
            f"{SERVERS_ENV}={raw!r}: expected a comma-separated list of "
            f"{', '.join(SERVER_KINDS)}, or 'all'"
        )
    return list(dict.fromkeys(kinds))


SELECTED = selected_servers()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)


@pytest.fixture(scope="session")
def _server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pool: dict[str, Any] = {
        "servers": {},
        "creds": fake_credentials(),
        "base": tmp_path_factory.mktemp("s3servers"),
    }
    yield pool
    for server in pool["servers"].values():
        server.stop()


def _get_server(pool: dict[str, Any], kind: str) -> S3Server:
    servers: dict[str, S3Server] = pool["servers"]
    if kind not in servers:
        key, secret = pool["creds"]
        server = S3Server(kind, pool["base"] / kind, key, secret)
        server.start()
        servers[kind] = server
    return servers[kind]


@pytest.fixture(scope="session", params=SELECTED)
def s3_server(request: pytest.FixtureRequest, _server_pool: dict[str, Any]) -> S3Server:
    """A running server (shared by the session); tests use their own bucket."""
    return _get_server(_server_pool, request.param)


@pytest.fixture(scope="session")
def seaweed(_server_pool: dict[str, Any]) -> S3Server:
    """SeaweedFS itself, for the tests about its behaviour (skipped when not selected)."""
    if "seaweedfs" not in SELECTED:
        pytest.skip(f"SeaweedFS not selected ({SERVERS_ENV}={','.join(SELECTED)})")
    return _get_server(_server_pool, "seaweedfs")


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return new_bucket(s3_server)


@pytest.fixture
def s3_env(s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The S3_* variables for ``s3_server``/``bucket``, also set in ``os.environ``."""
    env = s3_env_for(s3_server, bucket)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env
