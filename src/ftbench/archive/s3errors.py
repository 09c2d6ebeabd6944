"""S3 errors: botocore's exceptions as one-line S3Errors with a ``kind``, secrets masked.

Kept apart from :mod:`ftbench.archive.s3` (which re-exports them) to keep modules small.
"""

from __future__ import annotations

from ftbench.archive.s3config import S3Config
from ftbench.errors import FtbenchError, SetupError
from ftbench.redact import scrub


class S3Error(FtbenchError):
    """An S3 failure with a message safe to print (no secrets) and a ``kind``:
    ``access_denied``, ``no_bucket``, ``connection``, ``timeout``, ``credentials``,
    ``server`` (5xx), ``integrity``, ``boto3``, ``other``."""

    def __init__(self, message: str, *, kind: str = "other") -> None:
        super().__init__(message, exit_code=SetupError.exit_code)
        self.kind = kind


def _safe(text: str, config: S3Config) -> str:
    """``text`` with every secret of ``config`` (and any URL credential) masked, shortened."""
    return scrub(text, extra_secrets=config.secrets())[:200]


def describe_error(exc: BaseException, config: S3Config) -> S3Error:
    """Turn a botocore/boto3 exception into an :class:`S3Error` with a short, safe reason."""
    if isinstance(exc, S3Error):
        return exc
    from botocore import exceptions as be

    bucket = config.bucket_name or "?"
    where = config.endpoint_url or "AWS S3"
    if isinstance(exc, be.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in ("NoSuchBucket",) or (
            code == "404" and not err.get("Key") and exc.operation_name == "HeadBucket"
        ):
            return S3Error(f"No such bucket: {bucket}", kind="no_bucket")
        if (
            code
            in (
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
                "AllAccessDisabled",
                "InvalidToken",
                "ExpiredToken",
                "403",
                "AuthorizationHeaderMalformed",
            )
            or status == 403
        ):
            return S3Error(
                f"Access denied ({code or status}): check S3_ACCESS_KEY_ID, "
                "S3_SECRET_ACCESS_KEY and the bucket's permissions",
                kind="access_denied",
            )
        message = _safe(str(err.get("Message") or ""), config)
        kind = "server" if isinstance(status, int) and status >= 500 else "other"
        return S3Error(f"{code or status}: {message}".rstrip(": "), kind=kind)
    if isinstance(exc, be.NoCredentialsError | be.PartialCredentialsError):
        return S3Error(
            "No credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or AWS credentials)",
            kind="credentials",
        )
    if isinstance(exc, be.ConnectTimeoutError | be.ReadTimeoutError):
        return S3Error(f"Connection error: timed out talking to {where}", kind="timeout")
    if isinstance(exc, be.EndpointConnectionError | be.ConnectionError):
        return S3Error(f"Connection error: could not connect to {where}", kind="connection")
    return S3Error(_safe(f"{type(exc).__name__}: {exc}", config))


def client_error_code(exc: BaseException) -> tuple[str, int]:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "", 0
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def is_not_found(exc: BaseException) -> bool:
    code, status = client_error_code(exc)
    return code in ("NoSuchKey", "404", "NotFound") or (status == 404 and code != "NoSuchBucket")
