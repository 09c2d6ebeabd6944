"""Local-first archiving: write every report locally, replicate to S3 on demand, never lose one.

* :func:`archive_report` is called once per run: it writes the report to the local archive and,
  with ``--upload-s3``, uploads it (then whatever is still pending), printing the guide's lines.
  The report is marked pending before the upload and the marker cleared after it succeeds,
  so a failed, killed or interrupted upload is sent by the next ``archive sync``; a failed
  upload never changes the run's exit code. It does not
  touch the report: its :class:`ArchiveOutcome` gives the keys and URL
  (:attr:`ArchiveOutcome.ref` is the report's ``archive`` block).
* :func:`sync_pending` (``ft-bench archive sync``) uploads the pending reports concurrently.
* :func:`open_archives` gives the judge, ``compare`` and ``trend`` every archive to read.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ftbench import paths
from ftbench.archive import DEFAULT_WORKERS
from ftbench.archive.base import SCAN_LIMIT, Archives, ArchiveStore, report_key
from ftbench.archive.index import index_report, index_stored
from ftbench.archive.local import DEFAULT_PREFIX, LocalArchive, default_archive_dir
from ftbench.archive.manager import S3ArchiveManager
from ftbench.archive.metadata import (
    KeyParts,
    check_run_type,
    metadata_for_key,
    parse_key,
    report_metadata,
)
from ftbench.archive.repo_id import check_repo_id, repo_id
from ftbench.archive.s3 import S3Config, S3Error, S3Store, unusable
from ftbench.archive.s3config import prefix_problem
from ftbench.errors import FtbenchError
from ftbench.report.model import ArchiveRef, Report
from ftbench.signals import critical

SKIP_BOTO3 = "[SKIP] S3 upload skipped (boto3 not installed)"
SKIP_UNCONFIGURED = "[SKIP] S3 upload skipped (not configured or unavailable)"
UPLOADED = "✓ Benchmark report uploaded to S3"
WARN_FAILED = "[WARN] S3 upload failed: {reason}"
QUEUED = "[SKIP] S3 upload queued (interrupted): run 'ft-bench archive sync' to send it"
MAX_WORKERS = 64
# Errors after which further requests are pointless (stop instead of waiting on each).
FATAL_KINDS = frozenset(
    {"connection", "timeout", "access_denied", "no_bucket", "credentials", "boto3"}
)

__all__ = [
    "ArchiveOutcome",
    "KeyParts",
    "SyncResult",
    "archive_report",
    "open_archives",
    "open_local",
    "parse_key",
    "sync_pending",
]


@dataclass(frozen=True)
class ArchiveOutcome:
    """What happened to one report: where it is archived, and a one-line ``message``."""

    local_key: str
    local_path: Path
    s3_key: str | None = None
    s3_url: str | None = None
    uploaded: bool = False
    pending: bool = False
    message: str = ""

    @property
    def ref(self) -> ArchiveRef:
        """The report's ``archive`` block:
        ``dataclasses.replace(report, archive=outcome.ref)``."""
        return ArchiveRef(local_key=self.local_key, s3_key=self.s3_key, s3_url=self.s3_url)


@dataclass
class SyncResult:
    """What ``archive sync`` did."""

    uploaded: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    #: stored objects that failed their integrity check, uploaded again (``--all``)
    repaired: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_attempted: list[str] = field(default_factory=list)
    #: problems indexing what was sent (the index is derived data: readers add what is missing)
    notes: list[str] = field(default_factory=list)
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


def open_local(
    repo_root: Path,
    archive_dir: Path | str | None = None,
    config: S3Config | None = None,
    *,
    check: bool = False,
) -> LocalArchive:
    """The local archive; ``check``: a :class:`~ftbench.errors.SetupError` (exit 5) when
    it cannot be read (what every command that reads the archive wants)."""
    config = config if config is not None else S3Config.from_env()
    root = default_archive_dir(repo_root, archive_dir)
    local = LocalArchive(root, local_prefix(config), anchor=paths.anchor(root, repo_root))
    if check:
        local.check_readable()
    return local


def open_archives(
    repo_root: Path,
    archive_dir: Path | str | None = None,
    *,
    scan_limit: int | None = SCAN_LIMIT,
    check: bool = False,
) -> tuple[Archives, list[str]]:
    """The archives to read history from: the local archive, then the S3 bucket when it is
    configured, enabled and boto3 is present. When S3 is wanted but cannot be set up (a bad
    ``S3_*`` value, boto3 missing) the local archive alone, and a note saying why. Opening
    makes no request; a bucket that cannot be read becomes a note of
    :meth:`Archives.newest`. ``check``: an unreadable local archive is a
    :class:`~ftbench.errors.SetupError` (the commands that read history; the judge of a run
    goes on without it)."""
    config = S3Config.from_env()  # never raises: bad values are config.problems
    stores: list[ArchiveStore] = [open_local(repo_root, archive_dir, config, check=check)]
    notes: list[str] = []
    if config.enabled and (config.bucket_name or config.problems):
        why = unusable(config)
        if why is None:
            stores.append(S3Store(config))
        else:
            notes.append(f"S3 archive not read: {why}")
    return Archives(stores, scan_limit=scan_limit), notes


def _resolve_repo_id(report: Report, repo_root: Path, override: str | None) -> str:
    if override:
        return check_repo_id(override)
    try:
        return check_repo_id(report.repo_id, "report repo_id")
    except FtbenchError:
        return repo_id(repo_root)


def _print(out: TextIO | None, line: str) -> None:
    if out is not None:
        print(line, file=out, flush=True)


def archive_report(
    report: Report,
    repo_root: Path,
    *,
    upload_s3: bool = False,
    archive_dir: Path | str | None = None,
    repo_id_override: str | None = None,
    run_type: str = "benchmark",
    out: TextIO | None = None,
    config: S3Config | None = None,
    queue_only: bool = False,
) -> ArchiveOutcome:
    """Archive ``report`` locally, then (``upload_s3``) to S3 with the guide's messages.

    The archived bytes are :meth:`Report.archive_bytes`; the report is not changed (attach
    :attr:`ArchiveOutcome.ref` to it). Raises only for local problems
    (:class:`~ftbench.errors.FtbenchError`: bad repo id or run type, unwritable archive); S3
    problems are printed and leave the report pending.
    """
    out = sys.stdout if out is None else out
    config = config if config is not None else S3Config.from_env()
    check_run_type(run_type)
    rid = _resolve_repo_id(report, Path(repo_root), repo_id_override)
    local = open_local(Path(repo_root), archive_dir, config)
    data = report.archive_bytes()
    key = report_key(local.prefix, rid, data, report.timestamp, run_type)
    with critical():  # a signal waits until the report is archived (and queued)
        local.put(key, data, {})  # SetupError when the archive cannot be written
        if upload_s3 and unusable(config) is None:
            # queued before the attempt: an upload cut short (signal, kill) is sent by sync
            local.mark_pending(key)
    path = local.path_of(key)
    index_report(local, rid, key, data, report)  # derived data: readers add what is missing
    if not upload_s3:
        return ArchiveOutcome(key, path, message=f"archived locally: {path}")
    why = unusable(config)
    if queue_only and why is None:
        _print(out, QUEUED)
        return ArchiveOutcome(key, path, pending=True, message="S3 upload queued (interrupted)")

    if why is not None:  # the guide's [SKIP] lines
        for problem in config.problems:
            _print(out, f"[WARN] {problem}")
        skipped = SKIP_UNCONFIGURED if why.kind == "config" else SKIP_BOTO3
        _print(out, skipped)
        return ArchiveOutcome(key, path, message=skipped.removeprefix("[SKIP] "))

    manager = S3ArchiveManager(config)
    # local_prefix() makes the S3 key the local one whenever the S3 prefix is usable.
    result = manager.upload_bytes(
        key, data, report_metadata(report, data, repo_id=rid, run_type=run_type)
    )
    if not result.success:
        _print(out, WARN_FAILED.format(reason=result.error))
        return ArchiveOutcome(key, path, pending=True, message=f"S3 upload failed: {result.error}")

    # indexed before the marker goes: a run killed in between is indexed by the next sync
    index_report(manager.store, rid, key, data, report)
    local.clear_pending(key)
    _print(out, UPLOADED)
    _print(out, f"  Key: {key}")
    _print(out, f"  Size: {result.size_bytes} bytes")
    _print(out, f"  URL: {result.url}")
    if local.pending_keys():
        synced = sync_pending(
            Path(repo_root),
            archive_dir=archive_dir,
            config=config,
            store=manager.store,
            local=local,
        )
        done = len(synced.uploaded) + len(synced.already)
        if done:
            _print(out, f"  Also uploaded {done} pending report(s)")
        if synced.remaining:
            _print(
                out,
                WARN_FAILED.format(
                    reason=f"{synced.remaining} pending report(s) still pending: "
                    f"{synced.error or 'see ft-bench archive sync'}"
                ),
            )
    return ArchiveOutcome(
        key, path, s3_key=key, s3_url=result.url, uploaded=True, message="uploaded to S3"
    )


def intact(store: S3Store, key: str, data: bytes) -> bool:
    """Whether the object under ``key`` holds ``data``: its ``sha256`` metadata, its ETag
    (the MD5 of a single-part upload) and its size agree with ``data``; when the store kept
    no checksum to compare (rclone forgets metadata on restart), the bytes themselves."""
    meta = store.head(key)
    if meta is None:
        return False
    sha = meta.get("sha256")
    etag = meta.get("etag", "")
    compared = False
    if sha:
        if sha != hashlib.sha256(data).hexdigest():
            return False
        compared = True
    if len(etag) == 32 and "-" not in etag:
        if etag != hashlib.md5(data, usedforsecurity=False).hexdigest():
            return False
        compared = True
    if meta.get("content-length") not in (None, "", str(len(data))):
        return False
    if compared:
        return True
    try:
        return store.get(key) == data
    except S3Error as exc:
        if exc.kind == "integrity":
            return False
        raise


def sync_pending(
    repo_root: Path,
    *,
    archive_dir: Path | str | None = None,
    config: S3Config | None = None,
    workers: int = DEFAULT_WORKERS,
    include_all: bool = False,
    store: S3Store | None = None,
    local: LocalArchive | None = None,
) -> SyncResult:
    """Upload the pending reports (``include_all``: every local report, each stored copy
    checked by :func:`intact` and uploaded again when it fails) with ``workers`` threads;
    each key is uploaded once, then its marker cleared.

    Raises :class:`~ftbench.archive.s3.S3Error` (kind ``boto3`` or ``config``) when S3 cannot
    be used at all; per-report failures are in the result.
    """
    start = time.monotonic()
    config = config if config is not None else S3Config.from_env()
    why = unusable(config)
    if why is not None:
        raise why
    local = local if local is not None else open_local(Path(repo_root), archive_dir, config)
    workers = max(1, min(int(workers), MAX_WORKERS))
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
    sent: list[tuple[str, bytes]] = []  # to index: uploaded, repaired, or pending (maybe not)

    def upload(key: str) -> None:
        if stop.is_set() or time.monotonic() > deadline:
            with lock:
                result.not_attempted.append(key)
            return
        try:
            data = local.get(key)
            if data is None:  # the local report was removed: nothing left to upload
                local.clear_pending(key)
                return
            if key in existing and not include_all:
                with lock:
                    result.already.append(key)
                    sent.append((key, data))  # pending: its run may have stopped before indexing
                return
            if key in existing or (include_all and check_each):  # --all checks each copy
                if intact(store, key, data):
                    with lock:
                        result.already.append(key)
                        if key in pending:
                            sent.append((key, data))
                    return
                if key in existing or store.exists(key):  # stored, but not these bytes
                    store.put(key, data, metadata_for_key(key, data), overwrite=True)
                    with lock:
                        result.repaired.append(key)
                        sent.append((key, data))
                    return
            created = store.put(key, data, metadata_for_key(key, data), check_exists=check_each)
        except S3Error as exc:
            if exc.kind in FATAL_KINDS:
                stop.set()
                result.error = str(exc)
            with lock:
                result.failed[key] = str(exc)
            if include_all:
                local.mark_pending(key)
            return
        with lock:
            (result.uploaded if created else result.already).append(key)
            if created or key in pending:
                sent.append((key, data))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ftbench-sync") as pool:
        list(pool.map(upload, keys))
    # indexed as an upload during a run is, then the markers cleared (a sync cut short, or
    # an index that could not be written, leaves them: the next sync indexes them)
    indexed, notes = index_stored(store, sorted(sent))
    result.notes.extend(notes)
    sent_keys = {k for k, _ in sent}
    for key in [*result.uploaded, *result.already, *result.repaired]:
        if key in indexed or key not in sent_keys:
            local.clear_pending(key)
    if time.monotonic() > deadline and result.not_attempted and result.error is None:
        result.error = f"stopped after S3_TOTAL_TIMEOUT={config.total_timeout:g}s"
    result.elapsed_s = time.monotonic() - start
    return result
