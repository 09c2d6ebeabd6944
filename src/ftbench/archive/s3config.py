"""S3 archive configuration: the guide's ``S3_*`` variables, validated, secrets masked.

Kept apart from :mod:`ftbench.archive.s3` (the client and the store) so that reading and
checking the configuration never needs boto3.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ftbench.redact import scrub

MASK = "****"
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on", "enable", "enabled"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off", "disable", "disabled"})
ADDRESSING_STYLES = ("auto", "path", "virtual")
CHECKSUM_MODES = ("when_supported", "when_required")
MAX_PRESIGN_S = 7 * 24 * 3600
#: The local archive's queue of pending uploads (a folder no key may start with).
PENDING_DIR = ".pending"
#: Longest path segment of S3_PREFIX: it is a directory name in the local archive.
MAX_SEGMENT = 200
#: Seconds: per connection attempt, per read, and for all the S3 work of one command.
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_TOTAL_TIMEOUT = 30.0
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")
_AWS_HOST = re.compile(r"(^|\.)amazonaws\.com(\.cn)?$")
_AWS_REGION_IN_HOST = re.compile(r"(?:^|\.)s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d)\.")

# Environment variables: the guide's, then ftbench's extras.
ENV_VARS = {
    "access_key_id": "S3_ACCESS_KEY_ID",
    "secret_access_key": "S3_SECRET_ACCESS_KEY",
    "endpoint_url": "S3_ENDPOINT_URL",
    "bucket_name": "S3_BUCKET_NAME",
    "region": "S3_REGION",
    "prefix": "S3_PREFIX",
    "enabled": "S3_ENABLED",
    "session_token": "S3_SESSION_TOKEN",
    "addressing_style": "S3_ADDRESSING_STYLE",
    "checksum": "S3_CHECKSUM",
    "connect_timeout": "S3_CONNECT_TIMEOUT",
    "read_timeout": "S3_READ_TIMEOUT",
    "max_attempts": "S3_MAX_ATTEMPTS",
    "total_timeout": "S3_TOTAL_TIMEOUT",
    "public_url_base": "S3_PUBLIC_URL_BASE",
    "presign_expiry_s": "S3_PRESIGN_EXPIRY",
}


# --------------------------------------------------------------------------------------------
# Parsing helpers


def parse_bool(value: str | None, default: bool = True) -> bool | None:
    """``true``/``false`` in the usual spellings; ``default`` when unset or blank; None when
    the value is not recognised."""
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def endpoint_problem(url: str, var: str = "S3_ENDPOINT_URL") -> str | None:
    """Why ``url`` is not usable as an endpoint (never echoing it), or None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a bad port
    except ValueError:
        return f"{var} is not a valid URL"
    del port
    if parts.scheme not in ("http", "https"):
        return f"{var} must start with https:// or http://"
    if not parts.hostname:
        return f"{var} has no host name"
    if parts.username is not None or parts.password is not None:
        return f"{var} must not contain credentials (user:password@)"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{var} must be scheme://host[:port] without a path or query"
    if any(c.isspace() for c in url.strip()):
        return f"{var} contains white space"
    return None


def normalise_endpoint(url: str | None) -> str | None:
    """``' HTTPS://Host:9000/ '`` -> ``'https://host:9000'``; None when unset."""
    if url is None or not url.strip():
        return None
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def prefix_problem(prefix: str, var: str = "S3_PREFIX") -> str | None:
    if "\\" in prefix or any(ord(c) < 32 or ord(c) == 127 for c in prefix):
        return f"{var} contains a backslash or a control character"
    parts = [p for p in prefix.strip("/").split("/")]
    if any(p in (".", "..") for p in parts):
        return f"{var} must not contain '.' or '..' path segments"
    if parts[0] == PENDING_DIR:
        return f"{var} must not start with '{PENDING_DIR}' (the local archive's upload queue)"
    if any(len(p.encode()) > MAX_SEGMENT for p in parts):
        return f"{var} has a path segment longer than {MAX_SEGMENT} bytes"
    if prefix.strip("/") and any(p == "" for p in parts):
        return f"{var} must not contain empty path segments ('//')"
    return None


def normalise_prefix(prefix: str) -> str:
    return prefix.strip().strip("/")


def is_aws_endpoint(endpoint: str | None) -> bool:
    if not endpoint:
        return True
    host = urlsplit(endpoint).hostname or ""
    return bool(_AWS_HOST.search(host))


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(repr=False)
class S3Config:
    """Where and how to archive; see ``docs/archive.md`` for every variable.

    ``access_key_id``/``secret_access_key`` None: the standard AWS credential chain.
    ``endpoint_url`` None: AWS S3.
    """

    access_key_id: str | None
    secret_access_key: str | None
    endpoint_url: str | None
    bucket_name: str | None
    region: str = "auto"
    prefix: str = "benchmarks"
    enabled: bool = True
    addressing_style: str = "auto"
    checksum: str = "when_supported"
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_attempts: int = 3
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    public_url_base: str | None = None
    presign_expiry_s: int = 0
    session_token: str | None = None
    problems: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        found = list(self.problems)
        self.access_key_id = (self.access_key_id or "").strip() or None
        self.secret_access_key = (self.secret_access_key or "").strip() or None
        self.session_token = (self.session_token or "").strip() or None
        self.bucket_name = (self.bucket_name or "").strip() or None
        self.region = (self.region or "").strip() or "auto"
        if self.endpoint_url is not None and self.endpoint_url.strip():
            problem = endpoint_problem(self.endpoint_url)
            if problem:  # kept to show where it points, never with its credentials
                found.append(problem)
                self.endpoint_url = scrub(self.endpoint_url.strip(), environ={})
            else:
                self.endpoint_url = normalise_endpoint(self.endpoint_url)
        else:
            self.endpoint_url = None
        problem = prefix_problem(self.prefix or "")
        if problem:
            found.append(problem)
        self.prefix = normalise_prefix(self.prefix or "")
        if self.bucket_name and not _BUCKET.match(self.bucket_name):
            found.append("S3_BUCKET_NAME is not a valid bucket name")
        if bool(self.access_key_id) != bool(self.secret_access_key):
            have, missing = (
                ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
                if self.access_key_id
                else ("S3_SECRET_ACCESS_KEY", "S3_ACCESS_KEY_ID")
            )
            found.append(f"{missing} is not set ({have} is)")
        if self.addressing_style not in ADDRESSING_STYLES:
            found.append("S3_ADDRESSING_STYLE must be one of " + ", ".join(ADDRESSING_STYLES))
        if self.checksum not in CHECKSUM_MODES:
            found.append("S3_CHECKSUM must be one of " + ", ".join(CHECKSUM_MODES))
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if not float(getattr(self, name)) > 0:
                found.append(f"{ENV_VARS[name]} must be a positive number of seconds")
        if not 1 <= int(self.max_attempts) <= 20:
            found.append("S3_MAX_ATTEMPTS must be an integer from 1 to 20")
        if not 0 <= int(self.presign_expiry_s) <= MAX_PRESIGN_S:
            found.append(f"S3_PRESIGN_EXPIRY must be from 0 to {MAX_PRESIGN_S} seconds")
        if self.public_url_base is not None and self.public_url_base.strip():
            base = self.public_url_base.strip()
            p = urlsplit(base)
            if p.scheme not in ("http", "https") or not p.netloc or p.query or p.fragment:
                found.append("S3_PUBLIC_URL_BASE must be an http(s) URL")
            self.public_url_base = base.rstrip("/")
        else:
            self.public_url_base = None
        self.problems = tuple(dict.fromkeys(found))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Config:
        """Read the ``S3_*`` variables (see :data:`ENV_VARS`). Bad values do not raise: they
        become :attr:`problems` (one line each, naming the variable) and disable S3."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def text(name: str) -> str | None:
            value = env.get(ENV_VARS[name])
            return value if value is not None and value.strip() else None

        enabled = parse_bool(env.get("S3_ENABLED"), default=True)
        if enabled is None:
            problems.append(
                "S3_ENABLED must be true or false (1/0, yes/no, on/off); S3 upload disabled"
            )
            enabled = False

        def number(name: str, default: float, kind: type[float] | type[int]) -> Any:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = kind(raw.strip())
            except ValueError:
                problems.append(f"{ENV_VARS[name]} must be a number")
                return default
            if value != value or value in (float("inf"), float("-inf")):  # NaN / inf
                problems.append(f"{ENV_VARS[name]} must be a finite number")
                return default
            return value

        return cls(
            access_key_id=text("access_key_id"),
            secret_access_key=text("secret_access_key"),
            endpoint_url=text("endpoint_url"),
            bucket_name=text("bucket_name"),
            region=(text("region") or "auto").strip(),
            prefix=env.get("S3_PREFIX", "benchmarks") if "S3_PREFIX" in env else "benchmarks",
            enabled=enabled,
            addressing_style=(text("addressing_style") or "auto").strip().lower(),
            checksum=(text("checksum") or "when_supported").strip().lower(),
            connect_timeout=number("connect_timeout", DEFAULT_CONNECT_TIMEOUT, float),
            read_timeout=number("read_timeout", DEFAULT_READ_TIMEOUT, float),
            max_attempts=number("max_attempts", 3, int),
            total_timeout=number("total_timeout", DEFAULT_TOTAL_TIMEOUT, float),
            public_url_base=text("public_url_base"),
            presign_expiry_s=number("presign_expiry_s", 0, int),
            session_token=text("session_token"),
            problems=tuple(problems),
        )

    # -- state ------------------------------------------------------------------------------

    @property
    def is_configured(self) -> bool:
        """A bucket is named and nothing is invalid (credentials may come from the AWS chain,
        the endpoint may be AWS's default)."""
        return bool(self.bucket_name) and not self.problems

    @property
    def is_usable(self) -> bool:
        return self.enabled and self.is_configured

    @property
    def uses_aws(self) -> bool:
        return is_aws_endpoint(self.endpoint_url)

    @property
    def signing_region(self) -> str:
        """The region used for signing: ``auto`` is kept for custom endpoints (R2 wants it);
        on AWS it is read from the endpoint host, else ``us-east-1``."""
        if self.region != "auto":
            return self.region
        if self.uses_aws:
            m = _AWS_REGION_IN_HOST.search((urlsplit(self.endpoint_url or "").hostname or "") + ".")
            return m.group(1) if m else "us-east-1"
        return "auto"

    def secrets(self) -> list[str]:
        """Values that must never be shown (for scrubbing messages)."""
        return [s for s in (self.secret_access_key, self.session_token) if s]

    def to_dict(self) -> dict[str, Any]:
        """The effective configuration with secrets masked (safe to print)."""
        return {
            "access_key_id": mask_access_key(self.access_key_id),
            "secret_access_key": MASK if self.secret_access_key else None,
            "session_token": MASK if self.session_token else None,
            "credentials": "explicit (S3_*)" if self.access_key_id else "AWS default chain",
            "endpoint_url": self.endpoint_url or "(AWS default)",
            "bucket_name": self.bucket_name,
            "region": self.region,
            "signing_region": self.signing_region,
            "prefix": self.prefix,
            "enabled": self.enabled,
            "addressing_style": self.addressing_style,
            "checksum": self.checksum,
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "max_attempts": self.max_attempts,
            "total_timeout": self.total_timeout,
            "public_url_base": self.public_url_base,
            "presign_expiry_s": self.presign_expiry_s,
            "problems": list(self.problems),
        }

    def __repr__(self) -> str:
        d = self.to_dict()
        shown = ", ".join(
            f"{k}={d[k]!r}"
            for k in (
                "access_key_id",
                "secret_access_key",
                "session_token",
                "endpoint_url",
                "bucket_name",
                "region",
                "prefix",
                "enabled",
            )
        )
        return f"S3Config({shown})"

    __str__ = __repr__


def mask_access_key(value: str | None) -> str | None:
    if not value:
        return None
    return value[:4] + MASK if len(value) > 8 else MASK


# --------------------------------------------------------------------------------------------
# boto3 (lazy)
