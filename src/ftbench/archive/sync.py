"""Local-first archiving: write every report locally, replicate to S3 on demand, never lose one.

* :func:`archive_report` is called once per run: it writes the report to the local archive and,
  with ``--upload-s3``, uploads it (then whatever is still pending), printing the guide's lines.
  A failed upload leaves a pending marker; it never changes the run's exit code.
* :func:`sync_pending` (``ft-bench archive sync``) uploads the pending reports concurrently.
* :func:`open_stores` gives the judge every store to read baselines from.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ftbench.archive.base import ArchiveStore, canonical_report_bytes, report_key
from ftbench.archive.local import DEFAULT_PREFIX, LocalArchive, default_archive_dir
from ftbench.archive.repo_id import check_repo_id, repo_id
from ftbench.archive.s3 import (
    S3ArchiveManager,
    S3Config,
    S3Error,
    S3Store,
    boto3_available,
    check_run_type,
    key_timestamp,
    report_metadata,
)
from ftbench.archive.s3config import prefix_problem
from ftbench.errors import FtbenchError, one_line

SKIP_BOTO3 = "[SKIP] S3 upload skipped (boto3 not installed)"
SKIP_UNCONFIGURED = "[SKIP] S3 upload skipped (not configured or unavailable)"
UPLOADED = "✓ Benchmark report uploaded to S3"
WARN_FAILED = "[WARN] S3 upload failed: {reason}"
DEFAULT_WORKERS = 16
# Errors after which further requests are pointless (stop instead of waiting on each).
FATAL_KINDS = frozenset({"connection", "timeout", "access_denied", "no_bucket", "credentials",
                         "boto3"})

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
    return KeyParts(m.group("prefix") or "", m.group("repo_id"), m.group("timestamp"),
                    m.group("run_type"), m.group("digest"))


@dataclass
class ArchiveOutcome:
    """What happened to one report."""

    local_key: str
    s3_key: str | None = None
    s3_url: str | None = None
    uploaded: bool = False
    pending: bool = False
    message: str = ""
    local_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``report["archive"]`` entry."""
        return {"local_key": self.local_key, "s3_key": self.s3_key, "s3_url": self.s3_url}


@dataclass
class SyncResult:
    """What ``archive sync`` did."""

    uploaded: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_attempted: list[str] = field(default_factory=list)
    workers: int = DEFAULT_WORKERS
    elapsed_s: float = 0.0
    error: str | None = None

    @property
    def remaining(self) -> int:
        return len(self.failed) + len(self.not_attempted)

    @property
    def ok(self) -> bool:
        return self.remaining == 0 and self.error is None


def local_prefix(config: S3Config) -> str:
    """Local keys use the S3 prefix so both sides hold the same keys (``benchmarks`` when the
    configured prefix is unusable)."""
    if prefix_problem(config.prefix):
        return DEFAULT_PREFIX
    return config.prefix


def open_local(repo_root: Path, archive_dir: Path | None = None,
               config: S3Config | None = None) -> LocalArchive:
    config = config if config is not None else S3Config.from_env()
    return LocalArchive(default_archive_dir(repo_root, archive_dir), local_prefix(config))


def open_stores(repo_root: Path, archive_dir: Path | None = None) -> list[ArchiveStore]:
    """The local archive, then the S3 archive when configured, enabled and boto3 is present.
    Reads on the S3 store raise :class:`~ftbench.archive.s3.S3Error` on failure."""
    config = S3Config.from_env()
    stores: list[ArchiveStore] = [open_local(repo_root, archive_dir, config)]
    if config.is_usable and boto3_available():
        stores.append(S3Store(config))
    return stores


def open_stores_safely(repo_root: Path, archive_dir: Path | None = None
                       ) -> tuple[list[ArchiveStore], list[str]]:
    """:func:`open_stores` for readers (judge, compare, trend): when S3 cannot be set up, the
    local archive alone, and a note saying why."""
    try:
        return open_stores(repo_root, archive_dir), []
    except Exception as exc:  # reading history must never break a run
        local = open_local(repo_root, archive_dir)
        return [local], [f"S3 archive unavailable: {one_line(exc)}"]


def _resolve_repo_id(report: Mapping[str, Any], repo_root: Path, override: str | None) -> str:
    if override:
        return check_repo_id(override)
    own = report.get("repo_id")
    if isinstance(own, str) and own:
        try:
            return check_repo_id(own, "report repo_id")
        except FtbenchError:
            pass
    return repo_id(repo_root)


def _metadata_for(key: str, data: bytes) -> dict[str, str]:
    parts = parse_key(key)
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = {}
    report = parsed if isinstance(parsed, dict) else {}
    return report_metadata(report, data, repo_id=parts.repo_id if parts else "",
                           run_type=parts.run_type if parts else "benchmark")


def _print(out: TextIO | None, line: str) -> None:
    if out is not None:
        print(line, file=out, flush=True)


def archive_report(report: dict[str, Any], repo_root: Path, *, upload_s3: bool = False,
                   archive_dir: Path | None = None, repo_id_override: str | None = None,
                   run_type: str = "benchmark", out: TextIO | None = None,
                   config: S3Config | None = None) -> ArchiveOutcome:
    """Archive ``report`` locally, then (``upload_s3``) to S3 with the guide's messages.

    Sets ``report["archive"]`` (not part of the archived bytes). Raises only for local
    problems (:class:`~ftbench.errors.FtbenchError`: bad repo id, unwritable archive); S3
    problems are printed and leave the report pending.
    """
    out = sys.stdout if out is None else out
    config = config if config is not None else S3Config.from_env()
    check_run_type(run_type)
    rid = _resolve_repo_id(report, Path(repo_root), repo_id_override)
    local = open_local(Path(repo_root), archive_dir, config)
    data = canonical_report_bytes(report)
    key = report_key(local.prefix, rid, data, key_timestamp(report), run_type)
    try:
        local.put(key, data, {})
    except OSError as exc:
        raise FtbenchError(f"cannot write the local archive {local.root}: "
                           f"{exc.strerror or exc}") from None
    outcome = ArchiveOutcome(local_key=key, local_path=local.path_of(key),
                             message=f"archived locally: {local.path_of(key)}")
    report["archive"] = outcome.to_dict()
    if not upload_s3:
        return outcome

    if not config.is_usable:
        for problem in config.problems:
            _print(out, f"[WARN] {problem}")
        _print(out, SKIP_UNCONFIGURED)
        outcome.message = "S3 upload skipped (not configured or unavailable)"
        return outcome
    if not boto3_available():
        _print(out, SKIP_BOTO3)
        outcome.message = "S3 upload skipped (boto3 not installed)"
        return outcome

    if config.prefix != local.prefix:  # pragma: no cover - local_prefix() keeps them equal
        key = report_key(config.prefix, rid, data, key_timestamp(report), run_type)
    manager = S3ArchiveManager(config)
    result = manager.upload_bytes(key, data, report_metadata(report, data, repo_id=rid,
                                                              run_type=run_type))
    if not result.success:
        local.mark_pending(key)
        outcome.pending = True
        outcome.message = f"S3 upload failed: {result.error}"
        _print(out, WARN_FAILED.format(reason=result.error))
        return outcome

    local.clear_pending(key)
    outcome.uploaded = True
    outcome.s3_key = key
    outcome.s3_url = result.url
    outcome.message = "uploaded to S3"
    report["archive"] = outcome.to_dict()
    _print(out, UPLOADED)
    _print(out, f"  Key: {key}")
    _print(out, f"  Size: {result.size_bytes} bytes")
    _print(out, f"  URL: {result.url}")
    if local.pending_keys():
        synced = sync_pending(Path(repo_root), archive_dir=archive_dir, config=config,
                              store=manager.store, local=local)
        done = len(synced.uploaded) + len(synced.already)
        if done:
            _print(out, f"  Also uploaded {done} pending report(s)")
        if synced.remaining:
            _print(out, WARN_FAILED.format(
                reason=f"{synced.remaining} pending report(s) still pending: "
                       f"{synced.error or 'see ft-bench archive sync'}"))
    return outcome


def sync_pending(repo_root: Path, *, archive_dir: Path | None = None,
                 config: S3Config | None = None, workers: int = DEFAULT_WORKERS,
                 include_all: bool = False, store: S3Store | None = None,
                 local: LocalArchive | None = None) -> SyncResult:
    """Upload the pending reports (``include_all``: every local report missing from the
    bucket) with ``workers`` threads; each key is uploaded once, then its marker cleared.

    Raises :class:`~ftbench.archive.s3.S3Error` (kind ``boto3`` or ``config``) when S3 cannot
    be used at all; per-report failures are in the result.
    """
    start = time.monotonic()
    config = config if config is not None else S3Config.from_env()
    if not config.is_usable:
        problems = "; ".join(config.problems) or "S3_BUCKET_NAME is not set"
        if not config.enabled and not config.problems:
            problems = "S3_ENABLED is false"
        raise S3Error(f"S3 not configured or unavailable ({problems})", kind="config")
    if not boto3_available():
        raise S3Error("boto3 not installed (pip install 'ftbench[s3]')", kind="boto3")
    local = local if local is not None else open_local(Path(repo_root), archive_dir, config)
    workers = max(1, min(int(workers), 64))
    store = store if store is not None else S3Store(config, max_pool_connections=workers)
    result = SyncResult(workers=workers)

    pending = set(local.pending_keys())
    keys = sorted(pending | set(local.all_keys())) if include_all else sorted(pending)
    if not keys:
        result.elapsed_s = time.monotonic() - start
        return result

    # One listing per directory tells which keys are already there (needs ListBucket; without
    # it every put asks HEAD first instead).
    existing: set[str] = set()
    check_each = False
    for directory in sorted({k.rsplit("/", 1)[0] for k in keys}):
        try:
            existing.update(store.list_prefix(directory + "/"))
        except S3Error as exc:
            if exc.kind == "access_denied":
                check_each = True
                continue
            result.error = str(exc)
            result.not_attempted = list(keys)
            result.elapsed_s = time.monotonic() - start
            return result

    deadline = start + float(config.total_timeout)
    stop = threading.Event()
    lock = threading.Lock()

    def upload(key: str) -> None:
        if stop.is_set() or time.monotonic() > deadline:
            with lock:
                result.not_attempted.append(key)
            return
        try:
            if key in existing:
                with lock:
                    result.already.append(key)
                local.clear_pending(key)
                return
            data = local.get(key)
            if data is None:  # the local report was removed: nothing left to upload
                local.clear_pending(key)
                return
            created = store.put(key, data, _metadata_for(key, data), check_exists=check_each)
        except S3Error as exc:
            if exc.kind in FATAL_KINDS:
                stop.set()
                result.error = str(exc)
            with lock:
                result.failed[key] = str(exc)
            if include_all:
                local.mark_pending(key)
            return
        local.clear_pending(key)
        with lock:
            (result.uploaded if created else result.already).append(key)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ftbench-sync") as pool:
        list(pool.map(upload, keys))
    if time.monotonic() > deadline and result.not_attempted and result.error is None:
        result.error = f"stopped after S3_TOTAL_TIMEOUT={config.total_timeout:g}s"
    result.elapsed_s = time.monotonic() - start
    return result
