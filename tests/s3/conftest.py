"""Real S3-compatible servers for the archive tests (one of each per session).

``s3_server`` is parametrised over SeaweedFS (``weed mini``) and rclone ``serve s3``: every test
that uses it runs on both. All traffic stays on 127.0.0.1; credentials are fake and new per
session; ambient AWS configuration is neutralised for every test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from s3util import clean_env, new_bucket, s3_env_for
from servers import S3Server, fake_credentials


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)


@pytest.fixture(scope="session")
def _server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pool: dict[str, Any] = {"servers": {}, "creds": fake_credentials(),
                            "base": tmp_path_factory.mktemp("s3servers")}
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


@pytest.fixture(scope="session", params=["seaweedfs", "rclone"])
def s3_server(request: pytest.FixtureRequest, _server_pool: dict[str, Any]) -> S3Server:
    """A running server (shared by the session); tests use their own bucket."""
    return _get_server(_server_pool, request.param)


@pytest.fixture(scope="session")
def seaweed(_server_pool: dict[str, Any]) -> S3Server:
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
