"""``ft-bench query "SQL"``: SQL with DuckDB over the archive index (``docs/query.md``).

The tables ``runs``, ``samples`` and ``reports`` cover every repository of the local archive
(default) or of the S3 bucket (``--s3``). Output: an aligned table, CSV or JSON. DuckDB is the
``query`` extra: without it, one line and exit 5.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ftbench.cli.common import add_location_arguments
from ftbench.errors import EXIT_OK, SetupError, UsageError
from ftbench.report.escape import terminal

if TYPE_CHECKING:
    from ftbench.analyse.query import Result

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
        help="first extend the index from reports it lacks, for every repository: auto "
        "(default) = locally yes, on S3 no (it lists every key of the bucket)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ftbench.analyse import query
    from ftbench.archive.index import index_of, indexed_repo_ids, refresh
    from ftbench.archive.index_rows import TABLES
    from ftbench.archive.s3config import S3Config
    from ftbench.archive.sync import open_local
    from ftbench.cli.common import repo_root
    from ftbench.redact import scrub

    try:
        import duckdb
    except ImportError:
        raise SetupError(query.HINT) from None
    if not args.sql.strip():
        raise UsageError("SQL: empty statement")
    config = S3Config.from_env()
    notes: list[str] = []
    if args.s3:
        from ftbench.cli.archive import _s3_store

        store: Any = _s3_store(config)
        base = query.index_base(f"s3://{config.bucket_name}", config.prefix)
        wanted = args.refresh == "yes"
    else:
        store = open_local(repo_root(args.repo), args.archive_dir, config)
        base = query.index_base(str(store.root), store.prefix)
        wanted = args.refresh != "no"
    if wanted:
        repos = store.repo_ids() if not args.s3 else _s3_repo_ids(store)
        for rid in sorted(set(repos) | set(indexed_repo_ids(store)) - {"index"}):
            refresh(store, rid, notes)
    ix = index_of(store)
    # a view over no file fails in DuckDB: an empty view instead while there is no segment
    present = {t: bool(ix and ix.backend.list_under(ix.table_root(t))) for t in TABLES}
    try:
        con = query.connect(base, present, config if args.s3 else None)
        result = query.run(con, args.sql)
    except duckdb.Error as exc:
        message = scrub(str(exc).strip().splitlines()[0], extra_secrets=config.secrets())
        raise UsageError(f"query failed: {message}") from None
    write(result, args.format, sys.stdout)
    for note in notes:
        print(terminal(f"note: {note}"), file=sys.stderr)
    return EXIT_OK


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
