"""Report archives: one interface (:class:`ArchiveStore`), a local and an S3 backend,
one key layout."""
