"""SQL over the archive index with DuckDB (the ``query`` extra): ``ft-bench query``.

The views ``runs``, ``samples`` and ``reports`` read the index's JSON lines with the
declared column types (``archive.index_rows.COLUMNS``) plus the partition columns ``repo``
and ``month`` (from the paths), across every repository of the archive or bucket. They read
the objects ``archive.index_files`` lists (committed segments that passed their check, rows
derived for this command in place of damaged ones) and keep one copy of each report's rows:
where two segments of a partition cover overlapping times, only the rows of one segment per
report (``QUALIFY``), so SQL sees every report once however many segments hold it.

On S3, DuckDB's own S3 client (its ``httpfs`` extension) reads the bucket. The extension is
not downloaded: it comes with the ``duckdb-extension-httpfs`` package and is loaded by path,
and DuckDB's automatic installation and loading of extensions are switched off, so a query
never reaches the network except the bucket itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ftbench.archive.index_rows import COLUMNS, TABLES
from ftbench.errors import SetupError

if TYPE_CHECKING:
    import duckdb

    from ftbench.archive.index_files import IndexFiles
    from ftbench.archive.s3config import S3Config

HINT = "ft-bench query needs DuckDB: pip install 'ftbench[query]'"
HTTPFS_HINT = "ft-bench query --s3 needs DuckDB's httpfs package: pip install 'ftbench[query]'"


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def httpfs_path(version: str) -> Path:
    """The httpfs extension file of the ``duckdb-extension-httpfs`` package."""
    try:
        import duckdb_extension_httpfs
    except ImportError:
        raise SetupError(HTTPFS_HINT) from None
    base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    path = base / f"v{version}" / "httpfs.duckdb_extension"
    if not path.is_file():
        raise SetupError(
            f"DuckDB {version} needs duckdb-extension-httpfs=={version} "
            f"(found: {', '.join(p.name for p in base.glob('v*')) or 'none'})"
        )
    return path


def s3_secret_sql(config: S3Config) -> str:
    """``CREATE SECRET`` for the configured bucket (endpoint, path style, region, keys)."""
    if not (config.access_key_id and config.secret_access_key):
        raise SetupError(
            "ft-bench query --s3 needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY "
            "(DuckDB does not read the AWS credential chain here)"
        )
    parts = [
        "TYPE s3",
        f"KEY_ID {_quote(config.access_key_id)}",
        f"SECRET {_quote(config.secret_access_key)}",
        f"REGION {_quote(config.signing_region)}",
    ]
    if config.session_token:
        parts.append(f"SESSION_TOKEN {_quote(config.session_token)}")
    if config.endpoint_url and not config.uses_aws:
        url = urlsplit(config.endpoint_url)
        parts.append(f"ENDPOINT {_quote(url.netloc)}")
        parts.append(f"USE_SSL {'true' if url.scheme == 'https' else 'false'}")
        style = "vhost" if config.addressing_style == "virtual" else "path"
        parts.append(f"URL_STYLE {_quote(style)}")
    elif config.addressing_style == "path":
        parts.append("URL_STYLE 'path'")
    return f"CREATE SECRET ftbench_s3 ({', '.join(parts)})"


def _scan(paths: Sequence[str], table: str, *, filename: bool = False) -> str:
    spec = ", ".join(f"{_quote(c)}: {_quote(t)}" for c, t in COLUMNS[table].items())
    files = ", ".join(_quote(p) for p in paths)
    return (
        f"read_json([{files}], format='newline_delimited', compression='gzip', "
        f"hive_partitioning=true, hive_types_autocast=false, columns={{{spec}}}"
        + (", filename=true)" if filename else ")")
    )


def view_sql(table: str, plain: Sequence[str], overlapping: Sequence[str] = ()) -> str:
    """The view of ``table`` over the objects ``plain`` (no report in two of them) and
    ``overlapping`` (of partitions where a report may be in two: one segment's rows kept per
    report)."""
    parts = []
    if plain:
        parts.append(f"SELECT * FROM {_scan(plain, table)}")
    if overlapping:
        parts.append(
            f"SELECT * EXCLUDE (filename) FROM {_scan(overlapping, table, filename=True)} "
            "QUALIFY filename = max(filename) OVER (PARTITION BY key)"
        )
    if not parts:  # no segment yet: an empty view with the same columns
        cols = ", ".join(f"CAST(NULL AS {t}) AS {_ident(c)}" for c, t in COLUMNS[table].items())
        parts.append(
            f"SELECT {cols}, CAST(NULL AS VARCHAR) AS repo, CAST(NULL AS VARCHAR) AS month "
            "WHERE false"
        )
    return f"CREATE OR REPLACE VIEW {table} AS " + " UNION ALL BY NAME ".join(parts)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(config: S3Config | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (with the bucket's secret and httpfs for ``config``), no view yet
    (:func:`set_views`). Raises ImportError without DuckDB."""
    import duckdb

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    if config is not None:
        con.execute(f"LOAD {_quote(str(httpfs_path(duckdb.__version__)))}")
        con.execute(s3_secret_sql(config))
    return con


def set_views(con: duckdb.DuckDBPyConnection, root: str, files: IndexFiles) -> None:
    """(Re)create the three views over ``files`` (object keys under ``root``: a directory
    or ``s3://bucket``; ``extra`` paths as they are)."""
    for table in TABLES:
        plain = [f"{root}/{k}" for k in files.plain.get(table, [])]
        plain += files.extra.get(table, [])
        overlapping = [f"{root}/{k}" for k in files.overlapping.get(table, [])]
        con.execute(view_sql(table, plain, overlapping))


def tables_in(sql: str) -> set[str]:
    """The index tables ``sql`` reads (all of them when DuckDB cannot tell)."""
    import duckdb

    try:
        named = {t.lower() for t in duckdb.get_table_names(sql)}
    except Exception:  # a statement DuckDB cannot bind alone: check every table
        return set(TABLES)
    return named & set(TABLES)


def run(con: duckdb.DuckDBPyConnection, sql: str) -> Result:
    """Run one statement; the columns and rows of its result (none for a statement that
    returns nothing)."""
    cursor = con.execute(sql)
    if cursor.description is None:
        return Result([], [])
    return Result([d[0] for d in cursor.description], cursor.fetchall())
