"""``ft-bench archive list|show|sync`` and ``ft-bench doctor``, plus the archive options of
``ft-bench run`` (``--upload-s3``, ``--archive-dir``, ``--repo-id``).

Every command returns an exit code from :mod:`ftbench.errors`; failures are raised as
:class:`~ftbench.errors.FtbenchError` and printed (one line, its exit code) by the one error
handler, :func:`ftbench.cli.app.main`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftbench.archive import ARCHIVE_DIR_ENV, DEFAULT_WORKERS, REPO_ID_ENV
from ftbench.cli.common import bounded, repo_root
from ftbench.errors import EXIT_OK, EXIT_SETUP, SetupError

if TYPE_CHECKING:  # the archive's modules are imported by the commands that use them
    from ftbench.archive.base import ArchiveStore
    from ftbench.archive.local import LocalArchive
    from ftbench.archive.s3 import S3Store
    from ftbench.archive.s3config import S3Config

HINTS = {
    "connection": "check that S3_ENDPOINT_URL is right and reachable from here "
    "(test: aws s3 ls --endpoint-url YOUR_URL)",
    "timeout": "the endpoint did not answer in time: check S3_ENDPOINT_URL, the network, "
    "or raise S3_CONNECT_TIMEOUT / S3_READ_TIMEOUT",
    "access_denied": "verify S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY and that the key may "
    "PutObject, GetObject (and DeleteObject for this probe) on the bucket",
    "no_bucket": "ensure the bucket S3_BUCKET_NAME exists (create it, or fix the name)",
    "credentials": "set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or AWS credentials / "
    "an IAM role)",
    "integrity": "the store changed the bytes or its checksums disagree: try "
    "S3_CHECKSUM=when_required",
    "boto3": "pip install boto3 (or pip install 'ftbench[s3]')",
    "server": "the store answered with a server error (5xx): try again later; reports stay "
    "pending until 'ft-bench archive sync' sends them",
    "other": "for R2, MinIO, rclone and other S3-compatible stores try "
    "S3_CHECKSUM=when_required and S3_ADDRESSING_STYLE=path",
}

_limit = bounded(int, low=0)
_workers = bounded(int, low=1)


def _root(args: argparse.Namespace) -> Path:
    return repo_root(args.repo)


def _archive_dir(args: argparse.Namespace) -> Path | None:
    value = getattr(args, "archive_dir", None)
    return Path(value) if value else None


def add_archive_arguments(parser: argparse.ArgumentParser) -> None:
    """The archive options of ``ft-bench run``."""
    group = parser.add_argument_group("archive")
    group.add_argument(
        "--upload-s3",
        action="store_true",
        help="also upload the report to S3 (S3_* variables; see docs/archive.md)",
    )
    group.add_argument(
        "--archive-dir",
        metavar="DIR",
        default=None,
        help=f"local archive directory (default: ${ARCHIVE_DIR_ENV} or .firsttry/archive)",
    )
    group.add_argument(
        "--repo-id",
        metavar="ID",
        default=None,
        help=f"repository id used in archive keys (default: ${REPO_ID_ENV}, "
        "else derived from the git remote or the path)",
    )


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``archive list|show|sync`` and ``doctor``."""
    archive = subparsers.add_parser(
        "archive",
        help="list, show and sync archived reports",
        description="The local report archive and its S3 replica.",
    )
    sub = archive.add_subparsers(dest="archive_command", metavar="{list,show,sync}")
    sub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--repo",
            metavar="DIR",
            type=Path,
            default=None,
            help="repository root (default: the git top level of the current directory)",
        )
        p.add_argument(
            "--archive-dir",
            metavar="DIR",
            default=None,
            help="local archive directory (default: .firsttry/archive)",
        )

    p_list = sub.add_parser(
        "list",
        help="list a repository's reports, newest first (tier, mode, branch, commit, "
        "median, verdict, status; read from the archive index)",
    )
    common(p_list)
    p_list.add_argument("--repo-id", metavar="ID", default=None)
    p_list.add_argument("--limit", type=_limit, default=20, help="at most N keys (default 20)")
    p_list.add_argument("--s3", action="store_true", help="list the S3 bucket instead")
    p_list.add_argument("--keys", action="store_true", help="print the keys alone, one per line")
    p_list.set_defaults(func=cmd_list)

    p_show = sub.add_parser("show", help="print one archived report")
    common(p_show)
    p_show.add_argument("key", help="archive key (as printed by 'archive list')")
    p_show.add_argument("--s3", action="store_true", help="read it from S3")
    p_show.set_defaults(func=cmd_show)

    p_sync = sub.add_parser("sync", help="upload the reports still pending to S3")
    common(p_sync)
    p_sync.add_argument(
        "--all",
        action="store_true",
        dest="include_all",
        help="also upload every local report missing from the bucket",
    )
    p_sync.add_argument(
        "--workers",
        type=_workers,
        default=DEFAULT_WORKERS,
        help=f"parallel uploads (default {DEFAULT_WORKERS})",
    )
    p_sync.set_defaults(func=cmd_sync)

    p_doc = subparsers.add_parser(
        "doctor",
        help="show the archive/S3 configuration and probe the bucket",
        description="Shows the effective S3 configuration (secrets masked) and probes "
        "write, read and delete on the bucket.",
    )
    common(p_doc)
    p_doc.add_argument("--no-probe", action="store_true", help="do not contact the bucket")
    p_doc.set_defaults(func=cmd_doctor)


def cmd_list(args: argparse.Namespace) -> int:
    from ftbench.archive.repo_id import repo_id
    from ftbench.cli.listing import print_listing, rows_of
    from ftbench.report.escape import terminal

    root = _root(args)
    rid = repo_id(root, args.repo_id)
    store, where, local = _store(args, root)
    pending = set(local.pending_keys()) if local is not None else set()
    if args.keys:
        keys = store.list_keys(rid, limit=args.limit)
        for key in keys:
            print(terminal(f"{key}  (pending upload)" if key in pending else key))
    else:
        notes: list[str] = []
        found = rows_of(store, rid, args.limit, notes)
        keys = [k for k, _, _ in found]
        if found:
            print_listing(found, pending, sys.stdout)
        for note in notes:
            print(terminal(f"note: {note}"), file=sys.stderr)
    if not keys:
        print(f"No reports for repository {rid} in {where}", file=sys.stderr)
    return EXIT_OK


def _store(args: argparse.Namespace, root: Path) -> tuple[ArchiveStore, str, LocalArchive | None]:
    """The store ``list`` and ``show`` read (``--s3``: the bucket, else the local archive),
    where it is as messages name it, and the local archive when it is the one."""
    from ftbench.archive.s3config import S3Config
    from ftbench.archive.sync import open_local

    config = S3Config.from_env()
    if args.s3:
        return _s3_store(config), f"s3://{config.bucket_name}", None
    local = open_local(root, _archive_dir(args), config, check=True)
    return local, str(local.root), local


def _s3_store(config: S3Config) -> S3Store:
    from ftbench.archive.s3 import S3Store, unusable

    why = unusable(config)
    if why is not None:
        raise why
    return S3Store(config)


def cmd_show(args: argparse.Namespace) -> int:
    from ftbench.report.codec import ModelError
    from ftbench.report.model import NewerSchema, Report

    key = str(args.key).strip()
    store, where, local = _store(args, _root(args))
    data = store.get(key)
    if data is None:
        if local is not None and local.path_of(key).exists():  # e.g. a directory where a file goes
            raise SetupError(f"corrupt report {key!r} in {where}: not a regular file")
        raise SetupError(f"no report {key!r} in {where}")
    try:
        text = Report.from_json(data, key).to_json(pretty=True)
    except ModelError as exc:  # shown as stored, and said why (exit 5)
        what = "" if isinstance(exc, NewerSchema) else "corrupt report: "
        print(f"[ERROR] {what}{exc}; shown as stored", file=sys.stderr)
        text = data.decode("utf-8", errors="replace")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return EXIT_SETUP
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from ftbench.archive.s3 import unusable
    from ftbench.archive.s3config import S3Config
    from ftbench.archive.sync import SKIP_BOTO3, SKIP_UNCONFIGURED, WARN_FAILED, sync_pending

    root = _root(args)
    config = S3Config.from_env()
    why = unusable(config)
    if why is not None:  # the guide's [SKIP] lines
        for problem in config.problems:
            print(f"[WARN] {problem}", file=sys.stderr)
        print(SKIP_UNCONFIGURED if why.kind == "config" else SKIP_BOTO3)
        return EXIT_SETUP
    result = sync_pending(
        root,
        archive_dir=_archive_dir(args),
        config=config,
        workers=args.workers,
        include_all=args.include_all,
    )
    total = len(result.uploaded) + len(result.already) + len(result.repaired) + result.remaining
    if total == 0:
        print("Nothing to upload: no pending reports")
        return EXIT_OK
    rate = total / result.elapsed_s if result.elapsed_s > 0 else 0.0
    repaired = f", {len(result.repaired)} repaired" if result.repaired else ""
    print(
        f"Uploaded {len(result.uploaded)} report(s) to S3, {len(result.already)} already "
        f"there{repaired}, in {result.elapsed_s:.2f}s ({rate:.0f}/s, {result.workers} workers)"
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.remaining:
        reason = result.error or next(iter(result.failed.values()), "unknown error")
        print(WARN_FAILED.format(reason=reason))
        print(f"{result.remaining} report(s) still pending; run 'ft-bench archive sync' again")
        return EXIT_SETUP
    return EXIT_OK


def _repo_id_source(root: Path, args: argparse.Namespace) -> str:
    from ftbench.archive.repo_id import git_remote_url, normalise_remote

    if getattr(args, "repo_id", None):
        return "--repo-id"
    if os.environ.get(REPO_ID_ENV, "").strip():
        return REPO_ID_ENV
    remote = git_remote_url(root)
    if remote:
        return f"git remote {normalise_remote(remote)}"
    return f"path {root.resolve()}"


def cmd_doctor(args: argparse.Namespace) -> int:
    from ftbench.archive.repo_id import repo_id
    from ftbench.archive.s3 import S3Store, boto3_available
    from ftbench.archive.s3config import ENV_VARS, S3Config
    from ftbench.archive.sync import SKIP_BOTO3, open_local

    root = _root(args)
    config = S3Config.from_env()
    rid = repo_id(root, getattr(args, "repo_id", None))
    local = open_local(root, _archive_dir(args), config)
    print(f"Repository id: {rid} (from {_repo_id_source(root, args)})")
    print(
        f"Local archive: {local.root} ({len(local.list_keys(rid))} report(s) of this "
        f"repository, {len(local.pending_keys())} pending upload)"
    )
    print("S3 configuration (secrets masked):")
    shown = config.to_dict()
    for name, value in shown.items():
        if name == "problems":
            continue
        var = ENV_VARS.get(name, "")
        print(f"  {name:<18} {value!s:<40} {var}".rstrip())
    status: int = EXIT_OK
    for problem in config.problems:
        print(f"[WARN] {problem}")
        status = EXIT_SETUP
    if not config.enabled:
        print("S3: disabled (S3_ENABLED); local archive only")
        return status
    if not config.bucket_name:
        print(
            "S3: not configured (local archive only). Set S3_BUCKET_NAME, "
            "S3_ENDPOINT_URL, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY to upload."
        )
        return status
    if config.problems:
        return status
    if not boto3_available():
        print(SKIP_BOTO3)
        print(f"  hint: {HINTS['boto3']}")
        return EXIT_SETUP
    import boto3

    print(f"boto3: {boto3.__version__}")
    if args.no_probe:
        return status
    return _probe(S3Store(config), config)


def _probe(store: S3Store, config: S3Config) -> int:
    from ftbench.archive.s3 import S3Error

    key = "/".join(p for p in (config.prefix, ".ftbench-doctor", f"{uuid.uuid4().hex}.json") if p)
    data = json.dumps({"probe": "ftbench doctor"}).encode()
    print(f"Probing s3://{config.bucket_name}/{key}")

    def step(name: str, action: Callable[[], object]) -> bool:
        try:
            value = action()
        except S3Error as exc:
            print(f"  {name:<7} FAILED: {exc}")
            print(f"          hint: {HINTS.get(exc.kind, HINTS['other'])}")
            return False
        if value is False:
            print(f"  {name:<7} FAILED")
            return False
        print(f"  {name:<7} ok")
        return True

    if not step("write", lambda: store.put(key, data, {"probe": "1"}, check_exists=False)):
        return EXIT_SETUP
    ok = step("read", lambda: store.get(key) == data)
    listed = True
    try:
        store.list_prefix(key)
    except S3Error as exc:
        listed = False
        print(
            f"  list    not allowed ({exc.kind}): optional; 'archive sync' then checks "
            "each report with HEAD"
        )
    if listed:
        print("  list    ok")
    ok = step("delete", lambda: store.delete(key)) and ok
    if ok:
        print("S3 archive ready: uploads will work")
        return EXIT_OK
    return EXIT_SETUP
