"""The S3 archive: any S3-compatible store (AWS S3, Cloudflare R2, MinIO, SeaweedFS, rclone).

boto3 is optional and imported lazily: ``import ftbench`` and ``ft-bench --help`` never load it,
and without it everything but the upload works (the CLI prints the guide's ``[SKIP]`` line).

This module is the store (:class:`S3Store`), the client and errors (URLs:
:mod:`ftbench.archive.urls`); the user guide's API
(:class:`~ftbench.archive.manager.S3ArchiveManager`, ``UploadResult``) is in
:mod:`ftbench.archive.manager`, which imports this module. Secrets (secret key, session
token) never appear in a repr, ``to_dict()``, a log line, an error or a report.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ftbench.archive.deadline import bounded
from ftbench.archive.repo_id import check_repo_id
from ftbench.archive.s3config import ENV_VARS, S3Config, parse_bool
from ftbench.archive.s3errors import S3Error, client_error_code, describe_error, is_not_found
from ftbench.archive.urls import carries_session_token, object_url

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("ftbench.archive")

T = TypeVar("T")
CONTENT_TYPE = "application/json"
_boto3_lock = threading.Lock()


def boto3_available() -> bool:
    """Whether boto3 can be imported (imports it on first call, only then)."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        return False
    return True


def unusable(config: S3Config) -> S3Error | None:
    """Why S3 cannot be used with ``config`` (kind ``config`` or ``boto3``), or None: the one
    answer, which the commands raise, print with the guide's ``[SKIP]`` lines, or note."""
    if not config.is_usable:
        problems = "; ".join(config.problems) or (
            "S3_ENABLED is false" if not config.enabled else "S3_BUCKET_NAME is not set"
        )
        return S3Error(f"S3 not configured or unavailable ({problems})", kind="config")
    if not boto3_available():
        return S3Error("boto3 not installed (pip install 'ftbench[s3]')", kind="boto3")
    return None


def make_client(config: S3Config, max_pool_connections: int = 10) -> S3Client:
    """A boto3 S3 client for ``config``; raises :class:`S3Error` when boto3 is missing."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise S3Error("boto3 not installed", kind="boto3") from exc
    options: dict[str, Any] = {
        "s3": {"addressing_style": config.addressing_style},
        "request_checksum_calculation": config.checksum,
        "response_checksum_validation": config.checksum,
    }
    bc = Config(
        region_name=config.signing_region,
        signature_version="s3v4",
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        retries={"max_attempts": int(config.max_attempts), "mode": "standard"},
        max_pool_connections=max(1, max_pool_connections),
        user_agent_extra="ftbench",
        **options,
    )
    kwargs: dict[str, Any] = {}
    if config.access_key_id and config.secret_access_key:
        kwargs = {
            "aws_access_key_id": config.access_key_id,
            "aws_secret_access_key": config.secret_access_key,
            "aws_session_token": config.session_token,
        }
    with _boto3_lock:  # session creation is not thread-safe
        session = boto3.session.Session()
        client: S3Client = session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            config=bc,
            region_name=config.signing_region,
            **kwargs,
        )
    return client


# --------------------------------------------------------------------------------------------
# URLs


def _metadata(response: Mapping[str, Any]) -> dict[str, str]:
    """User metadata of a HEAD/GET response, keys lower-cased (some stores capitalise them)."""
    return {k.lower(): v for k, v in (response.get("Metadata") or {}).items()}


# --------------------------------------------------------------------------------------------
# The store


class S3Store:
    """An :class:`~ftbench.archive.base.ArchiveStore` on an S3 bucket (thread-safe)."""

    name = "s3"

    def __init__(
        self, config: S3Config, client: S3Client | None = None, *, max_pool_connections: int = 16
    ) -> None:
        self.config = config
        self.bucket = config.bucket_name or ""
        self.prefix = config.prefix
        self._client = client
        self._pool = max_pool_connections
        self._lock = threading.Lock()
        # Cleared when the server rejects the header; servers that ignore it are still
        # correct because keys embed the content digest (a re-put writes identical bytes).
        self.use_if_none_match = True

    def __repr__(self) -> str:
        return (
            f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint="
            f"{self.config.endpoint_url or 'AWS'!r})"
        )

    @property
    def client(self) -> S3Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self.config, self._pool)
        return self._client

    def _call(self, fn: Callable[[], T]) -> T:
        """``fn()`` within the command's S3 deadline (:mod:`ftbench.archive.deadline`), its
        failure as an :class:`S3Error`."""
        try:
            return bounded(fn, self.config.total_timeout, self._no_answer, self._kind)
        except S3Error:
            raise
        except Exception as exc:
            error = describe_error(exc, self.config)
        if error.kind == "access_denied" and self._bucket_missing():
            # Some servers answer a PUT into a missing bucket with 403 (creating buckets is
            # what the key may not do); HEAD on the bucket tells the real cause.
            error = S3Error(f"No such bucket: {self.bucket}", kind="no_bucket")
        raise error

    def _no_answer(self, total_s: float) -> S3Error:
        where = self.config.endpoint_url or "AWS S3"
        return S3Error(
            f"Connection error: no answer from {where} within S3_TOTAL_TIMEOUT={total_s:g}s",
            kind="timeout",
        )

    def _kind(self, exc: BaseException) -> str:
        return describe_error(exc, self.config).kind

    def _bucket_missing(self) -> bool:
        """True only when the server says the bucket does not exist (diagnosis only)."""
        try:
            bounded(
                lambda: self.client.head_bucket(Bucket=self.bucket),
                self.config.total_timeout,
                self._no_answer,
                self._kind,
            )
        except Exception as exc:
            code, status = client_error_code(exc)
            return status == 404 or code in ("NoSuchBucket", "404")
        return False

    def _base(self, repo_id: str) -> str:
        return "/".join(p for p in (self.prefix, repo_id) if p)

    # -- ArchiveStore ---------------------------------------------------------------------

    def head(self, key: str) -> dict[str, str] | None:
        """The object's metadata (keys lower-cased), or None when it does not exist."""
        from botocore.exceptions import ClientError

        def call() -> dict[str, str] | None:
            try:
                r = self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if is_not_found(exc):
                    return None
                raise
            meta = _metadata(r)
            meta["content-length"] = str(r.get("ContentLength", ""))
            meta["etag"] = str(r.get("ETag", "")).strip('"').lower()
            return meta

        return self._call(call)

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def put(
        self,
        key: str,
        data: bytes,
        metadata: Mapping[str, str] | None = None,
        *,
        check_exists: bool = True,
        overwrite: bool = False,
    ) -> bool:
        """Write ``data`` under ``key`` once: False when the key is already stored.

        ``check_exists`` (default) asks HEAD first; then the PUT carries ``If-None-Match: *``
        so a concurrent writer cannot be overwritten where the server honours it.
        ``overwrite`` replaces whatever is stored (``archive sync --all`` repairing an object
        that fails its integrity check with the local bytes).
        """
        check_exists = check_exists and not overwrite
        from botocore.exceptions import ClientError

        sha = hashlib.sha256(data).hexdigest()
        if check_exists:
            existing = self.head(key)
            if existing is not None:
                if existing.get("sha256") not in (None, sha):
                    log.warning("archive: %s already exists with different content; kept", key)
                return False
        meta = dict(metadata or {})
        meta["sha256"] = sha
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()

        def call() -> bool:
            kwargs: dict[str, Any] = {
                "Bucket": self.bucket,
                "Key": key,
                "Body": data,
                "ContentType": CONTENT_TYPE,
                "ContentMD5": md5,
                "Metadata": meta,
                "CacheControl": "no-cache",
            }
            if self.use_if_none_match and not overwrite:
                kwargs["IfNoneMatch"] = "*"
            try:
                self.client.put_object(**kwargs)
            except ClientError as exc:
                code, status = client_error_code(exc)
                if status == 412 or code == "PreconditionFailed":
                    return False
                if status == 409 and code == "ConditionalRequestConflict":
                    return False  # a concurrent conditional write of the same key won
                if self.use_if_none_match and (status == 501 or code == "NotImplemented"):
                    self.use_if_none_match = False
                    kwargs.pop("IfNoneMatch", None)
                    self.client.put_object(**kwargs)
                    return True
                raise
            return True

        return self._call(call)

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
        """``repo_id``'s report keys, newest first, across every page of the listing."""
        base = self._base(repo_id) + "/"

        def call() -> list[str]:
            keys: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=base, PaginationConfig={"PageSize": 1000}
            ):
                for obj in page.get("Contents", []) or []:
                    k = obj.get("Key", "")
                    if k.endswith(".json") and "/" not in k[len(base) :]:
                        keys.append(k)
            return keys

        keys = sorted(set(self._call(call)), reverse=True)
        return keys if limit is None else keys[: max(limit, 0)]

    def list_prefix(self, prefix: str) -> set[str]:
        """Every key under ``prefix`` (all pages)."""
        return set(self.list_objects(prefix))

    def list_objects(self, prefix: str) -> dict[str, str]:
        """Every key under ``prefix`` (all pages) and its version as ``size:etag`` (a
        rewritten object gets another)."""

        def call() -> dict[str, str]:
            found: dict[str, str] = {}
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000}
            ):
                for o in page.get("Contents", []) or []:
                    etag = str(o.get("ETag", "")).strip('"')
                    found[o.get("Key", "")] = f"{o.get('Size', '')}:{etag}"
            return found

        return self._call(call)

    def get(self, key: str) -> bytes | None:
        """The object's bytes (checked against its ``sha256`` metadata), or None."""
        from botocore.exceptions import ClientError

        def call() -> bytes | None:
            try:
                r = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if is_not_found(exc):
                    return None
                raise
            body = r["Body"].read()
            meta = _metadata(r)
            expected = meta.get("sha256")
            if expected and hashlib.sha256(body).hexdigest() != expected:
                raise S3Error(f"integrity check failed for {key}", kind="integrity")
            return body

        return self._call(call)

    def delete(self, key: str) -> None:
        self._call(lambda: self.client.delete_object(Bucket=self.bucket, Key=key))

    def presigned_url(self, key: str, expires_in: int = 3600) -> str:
        return self._call(
            lambda: self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        )

    def url(self, key: str, *, presign: bool | None = None) -> str:
        """The URL reported for ``key``: public base, presigned (when asked, or when
        ``S3_PRESIGN_EXPIRY`` is set and there is no public base) or canonical.

        A presigned URL made with temporary credentials carries their session token
        (``X-Amz-Security-Token``): it is never reported; the canonical URL is, instead."""
        if presign is None:
            presign = bool(self.config.presign_expiry_s) and not self.config.public_url_base
        if presign:
            url = self.presigned_url(key, self.config.presign_expiry_s or 3600)
            if not carries_session_token(url):
                return url
            log.info("archive: presigned URL not shown (it would carry the session token)")
        return object_url(self.config, key)


__all__ = [
    "ENV_VARS",
    "S3Config",
    "S3Error",
    "S3Store",
    "boto3_available",
    "check_repo_id",
    "describe_error",
    "object_url",
    "parse_bool",
]
