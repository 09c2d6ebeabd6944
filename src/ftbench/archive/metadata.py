"""What an archived object carries besides its bytes: the parts of its key and the object
metadata written with it on S3.

Metadata: ``repository``, ``repo-id``, ``tier``, ``mode``, ``commit``, ``branch``, ``timestamp``,
``run-type``, ``schema`` (read from the report model) and ``sha256`` of the archived bytes
(checked on every read by :class:`~ftbench.archive.s3.S3Store`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote

from ftbench.errors import SetupError
from ftbench.report.codec import ModelError
from ftbench.report.model import Report

_RUN_TYPE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?(?P<repo_id>[^/]+)/"
    r"(?P<timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)-(?P<run_type>[A-Za-z0-9_-]+)-"
    r"(?P<digest>[0-9a-f]{12})\.json$"
)


@dataclass(frozen=True)
class KeyParts:
    prefix: str
    repo_id: str
    timestamp: str
    run_type: str
    digest: str


def parse_key(key: str) -> KeyParts | None:
    """The parts of an archive key made by :func:`ftbench.archive.base.report_key`."""
    m = _KEY.match(key)
    if not m:
        return None
    return KeyParts(
        m.group("prefix") or "",
        m.group("repo_id"),
        m.group("timestamp"),
        m.group("run_type"),
        m.group("digest"),
    )


def check_run_type(run_type: str) -> str:
    if not _RUN_TYPE.match(run_type):
        raise SetupError("run_type must be 1-32 letters, digits, '_' or '-'")
    return run_type


def _meta_value(value: object) -> str:
    # User metadata travels in HTTP headers: keep it printable ASCII.
    return quote(str(value), safe=" !#$&'()*+,-./:;=?@[]^_`{|}~")[:256]


def _finish(fields: dict[str, object], data: bytes) -> dict[str, str]:
    meta = {k: _meta_value(v) for k, v in fields.items() if v not in (None, "")}
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    return meta


def report_metadata(report: Report, data: bytes, *, repo_id: str, run_type: str) -> dict[str, str]:
    """Object metadata of ``report`` archived as ``data`` under ``repo_id``/``run_type``."""
    return _finish(
        {
            "repository": report.repository.name,
            "repo-id": repo_id,
            "tier": report.tier,
            "mode": report.mode,
            "commit": report.git.commit,
            "branch": report.git.branch,
            "timestamp": report.timestamp,
            "run-type": run_type,
            "schema": report.schema,
        },
        data,
    )


def metadata_for_key(key: str, data: bytes) -> dict[str, str]:
    """Object metadata of stored bytes (``archive sync``): from the report when ``data`` is
    one, else from the key alone (repository id, timestamp and run type)."""
    parts = parse_key(key)
    repo_id = parts.repo_id if parts else ""
    run_type = parts.run_type if parts else "benchmark"
    try:
        report = Report.from_json(data, key)
    except ModelError:
        return _finish(
            {
                "repo-id": repo_id,
                "timestamp": parts.timestamp if parts else None,
                "run-type": run_type,
            },
            data,
        )
    return report_metadata(report, data, repo_id=repo_id or report.repo_id, run_type=run_type)
