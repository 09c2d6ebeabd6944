"""Report archives: one interface (:class:`ArchiveStore`), a local and an S3 backend,
one key layout.

The settings' names live here, so that the command line can describe them without importing
the archive's modules.
"""

#: Environment variable naming the local archive directory.
ARCHIVE_DIR_ENV = "FTBENCH_ARCHIVE_DIR"
#: Environment variable overriding the repository id in keys.
REPO_ID_ENV = "S3_REPO_ID"
#: Parallel uploads of ``ft-bench archive sync`` (and of pending reports after a run).
DEFAULT_WORKERS = 16
