"""The URL of an archived object: what ftbench prints after an upload and writes in reports."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit

from ftbench.archive.s3config import S3Config


def quote_key(key: str) -> str:
    return quote(key, safe="/-_.~")


def object_url(config: S3Config, key: str) -> str:
    """The canonical URL of ``key``: the public base when configured; on AWS virtual-hosted
    (path-style when the bucket name has dots or ``S3_ADDRESSING_STYLE=path``); on a custom
    endpoint path-style (virtual-hosted with ``S3_ADDRESSING_STYLE=virtual``)."""
    qkey = quote_key(key)
    bucket = config.bucket_name or ""
    if config.public_url_base:
        return f"{config.public_url_base}/{qkey}"
    if config.uses_aws:
        region = config.signing_region
        host = (
            urlsplit(config.endpoint_url).netloc
            if config.endpoint_url
            else f"s3.{region}.amazonaws.com"
        )
        if host in ("s3.amazonaws.com",):
            host = f"s3.{region}.amazonaws.com"
        scheme = urlsplit(config.endpoint_url).scheme if config.endpoint_url else "https"
        if config.addressing_style != "path" and "." not in bucket:
            return f"{scheme}://{bucket}.{host}/{qkey}"
        return f"{scheme}://{host}/{bucket}/{qkey}"
    parts = urlsplit(config.endpoint_url or "")
    if config.addressing_style == "virtual":
        return f"{parts.scheme}://{bucket}.{parts.netloc}/{qkey}"
    return f"{parts.scheme}://{parts.netloc}/{bucket}/{qkey}"


def carries_session_token(url: str) -> bool:
    """Whether ``url`` (a presigned URL) holds a session token in its query."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return any(name.lower() == "x-amz-security-token" for name, _ in query)
