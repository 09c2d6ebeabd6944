"""``ft-bench query "SQL"``: SQL with DuckDB over the archive index (``docs/query.md``).

The tables ``runs``, ``samples`` and ``reports`` cover every repository of the local archive
(default) or of the S3 bucket (``--s3``). Output: an aligned table, CSV or JSON. DuckDB is the
``query`` extra: without it, one line and exit 5.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ftbench.cli.common import add_location_arguments
from ftbench.errors import EXIT_OK, SetupError, UsageError
from ftbench.report.escape import terminal

if TYPE_CHECKING:
    from ftbench.analyse.query import Result
    from ftbench.archive.s3config import S3Config

HELP = "SQL over the archive index (tables runs, samples, reports) with DuckDB"
DESCRIPTION = (
    "Run one SQL statement with DuckDB over the archive index: the tables runs (one row per "
    "report, phase, step and metric), samples (raw samples) and reports (whole reports), "
    "across every repository of the local archive or, with --s3, of the bucket. Needs the "
    "query extra: pip install 'ftbench[query]'."
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    p = subparsers.add_parser("query", help=HELP, description=DESCRIPTION)
    p.add_argument("sql", metavar="SQL", help="one SQL statement (DuckDB dialect)")
    add_location_arguments(p, repo_id=False)
    p.add_argument("--s3", action="store_true", help="query the S3 bucket's index instead")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (default table)",
    )
    p.add_argument(
        "--refresh",
        choices=("auto", "yes", "no"),
        default="auto",
        help="first extend the index from reports it lacks, for every repository, and replace "
        "damaged segments: auto (default) = locally yes, on S3 no (it lists every key of the "
        "bucket); yes also checks every index object again",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ftbench.analyse import query
    from ftbench.archive.index import indexed_repo_ids, refresh
    from ftbench.archive.index_files import Index, cache_path
    from ftbench.archive.s3config import S3Config
    from ftbench.archive.sync import open_local
    from ftbench.cli.common import repo_root

    try:
        import duckdb  # noqa: F401
    except ImportError:
        raise SetupError(query.HINT) from None
    if not args.sql.strip():
        raise UsageError("SQL: empty statement")
    config = S3Config.from_env()
    notes: list[str] = []
    root = repo_root(args.repo)
    if args.s3:
        from ftbench.cli.archive import _s3_store

        store: Any = _s3_store(config)
        base = f"s3://{config.bucket_name}"
        wanted = args.refresh == "yes"
        where = f"{config.endpoint_url or 'aws'}|{config.bucket_name}|{config.prefix}"
        cache = cache_path(open_local(root, args.archive_dir, config).root, where)
    else:
        store = open_local(root, args.archive_dir, config, check=True)
        base = str(store.root)
        wanted = args.refresh != "no"
        cache = cache_path(store.root, "local")
    if wanted:
        repos = store.repo_ids() if not args.s3 else _s3_repo_ids(store)
        for rid in sorted(set(repos) | set(indexed_repo_ids(store)) - {"index"}):
            refresh(store, rid, notes)
    index = Index(store, notes, refresh=wanted, cache=cache, recheck=args.refresh == "yes")
    try:
        result = _query(index, base, args.sql, config if args.s3 else None)
    finally:
        index.close()
    write(result, args.format, sys.stdout)
    for note in notes:
        print(terminal(f"note: {note}"), file=sys.stderr)
    return EXIT_OK


#: Times a query is run again after DuckDB named an index object it could not read (each
#: time that object's segment is healed first).
RETRIES = 3


def _query(index: Any, base: str, sql: str, config: S3Config | None) -> Result:
    """Run ``sql`` over the checked objects of ``index``; an object DuckDB cannot read is
    healed like any damaged segment, then the query runs again."""
    import duckdb

    from ftbench.analyse import query
    from ftbench.redact import scrub

    tables = query.tables_in(sql)
    files = index.files(tables)
    secrets = config.secrets() if config is not None else ()
    try:
        con = query.connect(config)
        for attempt in range(RETRIES + 1):
            query.set_views(con, base, files)
            try:
                return query.run(con, sql)
            except duckdb.Error as exc:
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                found = re.search(re.escape(base + "/") + r'([^"\s]+\.jsonl\.gz)', message)
                reason = "DuckDB cannot read it: " + message.split(" in file ")[0][:120]
                if attempt == RETRIES or found is None or not index.damage(found[1], reason):
                    raise
            files = index.files(tables)
    except duckdb.Error as exc:
        message = scrub(str(exc).strip().splitlines()[0], extra_secrets=secrets)
        raise UsageError(f"query failed: {message}") from None
    raise AssertionError("unreachable")


def _s3_repo_ids(store: Any) -> list[str]:
    """Every repository directory under the bucket's prefix (lists every key)."""
    prefix = store.prefix.strip("/")
    head = f"{prefix}/" if prefix else ""
    ids = set()
    for key in store.list_prefix(head):
        rest = key[len(head) :].split("/")
        if len(rest) == 2 and rest[1].endswith(".json"):
            ids.add(rest[0])
    return sorted(ids)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write(result: Result, fmt: str, out: TextIO) -> None:
    """The result as an aligned table, CSV (with a header) or a JSON array of objects."""
    if fmt == "json":
        data = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        out.write(json.dumps(data, indent=1, default=str) + "\n")
        return
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([["" if v is None else v for v in row] for row in result.rows])
        return
    from ftbench.cli.tables import print_table

    rows = [result.columns, *([_cell(v) for v in row] for row in result.rows)]
    if result.columns:
        print_table(rows, out, footer=[f"({len(result.rows)} rows)"])
