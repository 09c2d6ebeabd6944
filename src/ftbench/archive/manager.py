"""The user guide's Python API: :class:`S3ArchiveManager` and :class:`UploadResult`.

``from tools.ft_bench_s3 import S3ArchiveManager, S3Config`` (from the repository root) and
``from ftbench import S3ArchiveManager, S3Config`` both give these. Reports are dicts at this
boundary, as in the guide; every one is checked through the report model before anything is
uploaded, and archived as :meth:`Report.archive_bytes` under the same key ``ft-bench run``
gives it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftbench.archive.base import load_report, report_key
from ftbench.archive.metadata import check_run_type, report_metadata
from ftbench.archive.repo_id import repo_id
from ftbench.archive.s3 import S3Store, boto3_available
from ftbench.archive.s3config import S3Config
from ftbench.errors import FtbenchError
from ftbench.report.codec import ModelError
from ftbench.report.model import Report

log = logging.getLogger("ftbench.archive")


@dataclass
class UploadResult:
    """The guide's "Upload Result Fields". ``created`` is False when the object was already
    there (an idempotent re-upload); it is not part of :meth:`to_dict`."""

    success: bool
    url: str | None = None
    key: str | None = None
    size_bytes: int = 0
    upload_time_ms: float = 0.0
    error: str | None = None
    created: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "url": self.url,
            "key": self.key,
            "size_bytes": self.size_bytes,
            "upload_time_ms": self.upload_time_ms,
            "error": self.error,
        }


class S3ArchiveManager:
    """Upload, list and download benchmark reports (the user guide's Python API)."""

    def __init__(self, config: S3Config | None = None, *, store: S3Store | None = None) -> None:
        self.config = config if config is not None else S3Config.from_env()
        self._store = store

    def __repr__(self) -> str:
        return f"S3ArchiveManager({self.config!r})"

    @property
    def store(self) -> S3Store:
        if self._store is None:
            self._store = S3Store(self.config)
        return self._store

    def unavailable_reason(self) -> str | None:
        """Why uploads cannot happen (no network call), or None when they can."""
        if not self.config.enabled:
            return "disabled (S3_ENABLED)"
        if self.config.problems:
            return "; ".join(self.config.problems)
        if not self.config.bucket_name:
            return "not configured (S3_BUCKET_NAME is not set)"
        if not boto3_available():
            return "boto3 not installed"
        return None

    def is_available(self) -> bool:
        """boto3 present, configuration complete and enabled. No request is made (so it
        needs no ListBucket permission)."""
        return self.unavailable_reason() is None

    def upload_bytes(
        self,
        key: str,
        data: bytes,
        metadata: Mapping[str, str] | None = None,
        *,
        check_exists: bool = True,
    ) -> UploadResult:
        """Upload prepared bytes under ``key`` (idempotent)."""
        start = time.perf_counter()
        reason = self.unavailable_reason()
        if reason is not None:
            return UploadResult(success=False, key=key, size_bytes=len(data), error=reason)
        try:
            created = self.store.put(key, data, metadata or {}, check_exists=check_exists)
            url = self.store.url(key)
        except FtbenchError as exc:
            return UploadResult(
                success=False,
                key=key,
                size_bytes=len(data),
                error=str(exc),
                upload_time_ms=round((time.perf_counter() - start) * 1000, 1),
            )
        return UploadResult(
            success=True,
            url=url,
            key=key,
            size_bytes=len(data),
            upload_time_ms=round((time.perf_counter() - start) * 1000, 1),
            created=created,
        )

    def prepare(
        self,
        report: Report,
        repo_root: str | os.PathLike[str],
        run_type: str = "benchmark",
        *,
        repo_id_override: str | None = None,
    ) -> tuple[str, bytes, dict[str, str]]:
        """The key, bytes and metadata ``report`` is archived with (the repository id comes
        from ``repo_root``, as in the guide)."""
        check_run_type(run_type)
        rid = repo_id(Path(repo_root), repo_id_override)
        data = report.archive_bytes()
        key = report_key(self.config.prefix, rid, data, report.timestamp, run_type)
        return key, data, report_metadata(report, data, repo_id=rid, run_type=run_type)

    def upload_benchmark_report(
        self,
        report_data: Mapping[str, Any],
        repo_root: str | os.PathLike[str],
        run_type: str = "benchmark",
    ) -> UploadResult:
        """Upload one report; ``success`` is True also when it was already uploaded. A dict
        that is not a valid report gives ``success=False`` and a one-line ``error``."""
        return self._upload(report_data, "report_data", repo_root, run_type)

    def upload_from_file(
        self,
        local_path: str | os.PathLike[str],
        repo_root: str | os.PathLike[str],
        run_type: str = "benchmark",
    ) -> UploadResult:
        """Upload the JSON report stored at ``local_path``."""
        try:
            parsed = json.loads(Path(local_path).read_bytes())
        except OSError as exc:
            return UploadResult(
                success=False, error=f"cannot read {local_path}: {exc.strerror or exc}"
            )
        except (ValueError, RecursionError):
            return UploadResult(success=False, error=f"{local_path} is not valid JSON")
        if not isinstance(parsed, dict):
            return UploadResult(success=False, error=f"{local_path} is not a JSON object")
        return self._upload(parsed, str(local_path), repo_root, run_type)

    def _upload(
        self,
        report_data: Mapping[str, Any],
        source: str,
        repo_root: str | os.PathLike[str],
        run_type: str,
    ) -> UploadResult:
        reason = self.unavailable_reason()
        if reason is not None:
            return UploadResult(success=False, error=reason)
        try:
            report = Report.from_dict(dict(report_data), source)
            key, data, meta = self.prepare(report, repo_root, run_type)
        except (FtbenchError, ModelError) as exc:
            return UploadResult(success=False, error=str(exc))
        return self.upload_bytes(key, data, meta)

    def list_reports(
        self,
        repo_root: str | os.PathLike[str],
        max_keys: int = 100,
    ) -> list[str]:
        """The newest ``max_keys`` report keys of the repository, oldest to newest (so
        ``sorted(keys)[-n:]`` are the latest). Empty when unavailable or on error (logged)."""
        if not self.is_available():
            return []
        try:
            keys = self.store.list_keys(repo_id(Path(repo_root)), limit=max_keys)
        except FtbenchError as exc:
            log.warning("S3 list failed: %s", exc)
            return []
        return list(reversed(keys))

    def download_report(self, key: str) -> dict[str, Any] | None:
        """The report stored under ``key`` as a dict (checked through the report model), or
        None: missing, not a report, or on error (logged)."""
        if not self.is_available():
            return None
        try:
            report = load_report(self.store, key)
            return None if report is None else report.to_dict()
        except (FtbenchError, ModelError) as exc:
            log.warning("S3 download failed: %s", exc)
            return None

    def url(self, key: str, *, presign: bool | None = None) -> str:
        return self.store.url(key, presign=presign)

    def presigned_url(self, key: str, expires_in: int | None = None) -> str:
        return self.store.presigned_url(key, expires_in or self.config.presign_expiry_s or 3600)


__all__ = ["S3ArchiveManager", "S3Config", "UploadResult"]
