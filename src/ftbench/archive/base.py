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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ftbench.errors import one_line

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


def key_name(key: str) -> str:
    """The file-name part of a key: ``{timestamp}-{run_type}-{digest}.json``, sorts by time."""
    return key.rsplit("/", 1)[-1]


def report_succeeded(report: Mapping[str, Any]) -> bool:
    """At least one phase was measured and every measured phase is ok."""
    runs = report.get("runs")
    if not isinstance(runs, Mapping):
        return False
    phases = [runs.get(p) for p in ("cold", "warm") if p in runs]
    return bool(phases) and all(isinstance(p, Mapping) and p.get("ok") is True for p in phases)


def newest_reports(stores: Sequence[ArchiveStore], repo_id: str, notes: list[str], *,
                   scan_limit: int | None = None) -> Iterator[StoredReport]:
    """``repo_id``'s reports from every store, newest first, each key and run id once.

    Lazy: a report is read only when the caller asks for the next one, so a caller that stops
    early saves the reads (one request each on S3). A store that cannot be listed and a key
    that cannot be read become ``notes``, never an exception.
    """
    holders: dict[str, list[ArchiveStore]] = {}
    for store in stores:
        try:
            keys = store.list_keys(repo_id, limit=scan_limit)
        except Exception as exc:  # one unreachable store must not hide the others
            notes.append(f"archive {getattr(store, 'name', '?')} unavailable: {one_line(exc)}")
            continue
        for key in keys:
            if isinstance(key, str):
                holders.setdefault(key, []).append(store)
    run_ids: set[str] = set()
    for key in sorted(holders, key=lambda k: (key_name(k), k), reverse=True):
        report = _read_first(holders[key], key, notes)
        if report is None:
            continue
        run_id = report.get("run_id")
        if isinstance(run_id, str):
            if run_id in run_ids:
                continue
            run_ids.add(run_id)
        yield StoredReport(key, report)


def _read_first(stores: Sequence[ArchiveStore], key: str,
                notes: list[str]) -> dict[str, Any] | None:
    for store in stores:
        try:
            report = load_report(store, key)
        except Exception as exc:
            notes.append(f"could not read {key} from {getattr(store, 'name', '?')}: "
                         f"{one_line(exc)}")
            continue
        if report is not None:
            return report
    return None


def report_key(prefix: str, repo_id: str, report_bytes: bytes, timestamp: str,
               run_type: str = "benchmark") -> str:
    """The archive key of one report (see the module docstring)."""
    parts = [p for p in (prefix.strip("/"), repo_id) if p]
    name = f"{timestamp}-{run_type}-{report_digest(report_bytes)}.json"
    return "/".join([*parts, name])
