"""ftbench: the FirstTry benchmark harness.

Heavy parts (boto3, scipy, rich) are imported lazily so that ``ft-bench --help`` starts fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.4.0"

__all__ = ["S3ArchiveManager", "S3Config", "UploadResult", "__version__"]


def __getattr__(name: str) -> Any:
    if name in {"S3ArchiveManager", "S3Config", "UploadResult"}:
        from ftbench.archive import manager

        return getattr(manager, name)
    raise AttributeError(f"module 'ftbench' has no attribute {name!r}")
