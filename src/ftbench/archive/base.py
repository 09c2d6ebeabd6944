"""The storage interface and the key layout shared by every archive backend.

Key: ``{prefix}/{repo_id}/{timestamp}-{run_type}-{digest}.json``

* ``timestamp`` is the report's own ``timestamp`` (ISO 8601 UTC to the second, ``Z``), so keys
  sort by time;
* ``digest`` is the first 12 hex characters of SHA-256 of the canonical report bytes, so the
  same report always gets the same key (retries are idempotent) and two different reports
  never share one, even in the same second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

DIGEST_LEN = 12
# Fields added to the local report after archiving; excluded from the archived bytes.
ARCHIVE_ONLY_FIELDS = ("archive",)


def canonical_report_bytes(report: Mapping[str, Any]) -> bytes:
    """The bytes that are archived for ``report``: sorted keys, compact, UTF-8.

    Compact on purpose: json's C encoder only runs without ``indent``, and a 300-sample report
    encodes ~10x faster that way (``ft-bench archive show`` pretty-prints).
    """
    body = {k: v for k, v in report.items() if k not in ARCHIVE_ONLY_FIELDS}
    return (json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            + "\n").encode()


def report_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_LEN]


@dataclass(frozen=True)
class StoredReport:
    """One archived report: its key and (when read) its parsed content."""

    key: str
    report: dict[str, Any]


class ArchiveStore(Protocol):
    """What every archive backend offers. Keys are full keys (prefix included)."""

    name: str

    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> bool:
        """Write ``data`` under ``key`` once. Returns False when the key already held it."""

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
        """Keys of ``repo_id``'s reports, newest first, at most ``limit``."""

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when there is no such key."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""


def load_report(store: ArchiveStore, key: str) -> dict[str, Any] | None:
    """Read and parse one report; None when missing or not a JSON object."""
    data = store.get(key)
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def report_key(prefix: str, repo_id: str, report_bytes: bytes, timestamp: str,
               run_type: str = "benchmark") -> str:
    """The archive key of one report (see the module docstring)."""
    parts = [p for p in (prefix.strip("/"), repo_id) if p]
    name = f"{timestamp}-{run_type}-{report_digest(report_bytes)}.json"
    return "/".join([*parts, name])
