"""The user guide's import path: ``from tools.ft_bench_s3 import S3ArchiveManager, S3Config``.

A thin re-export of :mod:`ftbench.archive.manager` (installed users can import from ``ftbench``).
"""

from ftbench.archive.manager import S3ArchiveManager, S3Config, UploadResult

__all__ = ["S3ArchiveManager", "S3Config", "UploadResult"]
