"""``ft-bench archive list``: one line per archived report, read from the archive index.

Columns: time, tier, mode, branch, commit, warm median (else cold), verdict, status (``ok``,
``failed``, the failed samples of a run that still succeeded, ``newer schema N`` for a report
written by a newer ftbench, ``unreadable`` for a stored file that is not a report), then the
key. ``--keys``
prints the keys alone (one per line, as before the index).
"""

from __future__ import annotations

from typing import Any, TextIO

from ftbench.archive.base import ArchiveStore, key_name

#: the lines a listing needs: phase wall times, and the one row of a report without phases
WANTED = (b'"step":null,"metric":"wall_s"', b'"metric":null')


def rows_of(store: ArchiveStore, repo_id: str, limit: int | None, notes: list[str]) -> list[Any]:
    """``(key, runs rows, status or None)`` of the newest ``limit`` reports of ``repo_id`` in
    ``store``; the status says why a report has no rows (it could not be read)."""
    from ftbench.archive.index import run_lines
    from ftbench.report.model import NewerSchema

    # a store that cannot be read is an error here (exit 5), not a note
    found = run_lines(store, repo_id, notes, keep=WANTED)
    keys = sorted(found.keys, key=lambda k: (key_name(k), k), reverse=True)
    if limit is not None:
        keys = keys[:limit]
    out = []
    for key in keys:
        problem = found.unreadable.get(key)
        status = None
        if isinstance(problem, NewerSchema):
            status = f"newer schema {problem.schema}"
        elif problem is not None:
            status = "unreadable"
        out.append((key, found.rows.get(key, []), status))
    return out


def _median(rows: list[dict[str, Any]]) -> str:
    from ftbench.report.formats import fmt_s

    by_phase = {r.get("phase"): r for r in rows if r.get("metric") == "wall_s"}
    for phase in ("warm", "cold"):
        value = by_phase.get(phase, {}).get("value")
        if isinstance(value, int | float) and value > 0:
            return f"{fmt_s(float(value))}" + ("" if phase == "warm" else " (cold)")
    return "-"


def _status(rows: list[dict[str, Any]]) -> str:
    if not rows or not rows[0].get("succeeded"):
        return "failed"
    failed = sum(int(r.get("failed_samples") or 0) for r in rows if r.get("metric") == "wall_s")
    return f"ok ({failed} failed samples)" if failed else "ok"


def table(found: list[Any], pending: set[str]) -> list[list[str]]:
    """Header, then one row per report, newest first."""
    out = [["time", "tier", "mode", "branch", "commit", "median", "verdict", "status", "key"]]
    for key, rows, status in found:
        head = rows[0] if rows else {}
        out.append(
            [
                str(head.get("timestamp") or key.rsplit("/", 1)[-1][:20]),
                str(head.get("tier") or "-"),
                str(head.get("mode") or "-"),
                str(head.get("branch") or "-"),
                str(head.get("commit") or "-")[:12],
                _median(rows),
                str(head.get("verdict") or "-"),
                status or _status(rows),
                key + ("  (pending upload)" if key in pending else ""),
            ]
        )
    return out


def print_listing(found: list[Any], pending: set[str], out: TextIO) -> None:
    from ftbench.cli.tables import print_table

    print_table(table(found, pending), out)
