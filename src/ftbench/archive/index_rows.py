"""The rows of the archive index, derived from reports alone (``docs/archive.md``, "Index").

Three tables, one JSON object per line, gzip-compressed (standard library only):

* ``runs``: one row per report, phase, step and metric (``phase``/``step``/``metric`` are
  null on the one row of a report that measured nothing, ``step`` is null on the rows of the
  phase as a whole) with the report's tier, mode, branch, commit, timestamp, machine class,
  target hash and verdicts;
* ``samples``: one row per raw sample of a phase (``step`` null) and per step of a sample;
* ``reports``: the report itself (its archived JSON value), so that a baseline lookup reads
  one object instead of one per report.

The partition columns (``repo``, ``month``) live in the object's path, not in the rows.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ftbench.report.model import MachineClass, Phase, Report, Stats

#: Version of the row layout; part of every index path (``index/v1/...``).
INDEX_VERSION = "v1"
TABLES = ("runs", "samples", "reports")
#: A report's time (``Report.timestamp``).
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
#: File name of a segment: newest and oldest report time, report count, content hash.
SEGMENT_RE = re.compile(
    r"^(?P<newest>\d{8}T\d{6}Z)_(?P<oldest>\d{8}T\d{6}Z)_(?P<count>\d{1,7})_"
    r"(?P<digest>[0-9a-f]{16})\.jsonl\.gz$"
)


def compact_ts(timestamp: str) -> str:
    """``2026-11-01T10:00:00Z`` -> ``20261101T100000Z`` (sorts the same way)."""
    return timestamp.replace("-", "").replace(":", "")


def month_of(timestamp: str) -> str:
    return timestamp[:7]


@dataclass(frozen=True, order=True)
class Segment:
    """One immutable set of reports of one partition, stored once per table."""

    newest: str
    oldest: str
    count: int
    digest: str
    repo: str
    month: str

    @property
    def name(self) -> str:
        return f"{self.newest}_{self.oldest}_{self.count}_{self.digest}.jsonl.gz"

    def path(self, prefix: str, table: str) -> str:
        """The object key (or relative path) of this segment's ``table``."""
        parts = [p for p in (prefix.strip("/"), "index", INDEX_VERSION, table) if p]
        return "/".join([*parts, f"repo={self.repo}", f"month={self.month}", self.name])

    @classmethod
    def parse(cls, path: str) -> Segment | None:
        """The segment named by an object key, or None when it is not one."""
        parts = path.split("/")
        if len(parts) < 3:
            return None
        m = SEGMENT_RE.match(parts[-1])
        repo, month = parts[-3], parts[-2]
        if m is None or not repo.startswith("repo=") or not month.startswith("month="):
            return None
        return cls(
            newest=m["newest"],
            oldest=m["oldest"],
            count=int(m["count"]),
            digest=m["digest"],
            repo=repo[5:],
            month=month[6:],
        )

    @classmethod
    def of(cls, repo: str, month: str, keyed: Iterable[tuple[str, str]]) -> Segment:
        """The segment holding the reports ``(key, timestamp)`` (named by their keys)."""
        items = sorted(keyed)
        stamps = [compact_ts(t) for _, t in items]
        digest = hashlib.sha256("\n".join(k for k, _ in items).encode()).hexdigest()[:16]
        return cls(max(stamps), min(stamps), len(items), digest, repo, month)


def _common(key: str, report: Report) -> dict[str, Any]:
    return {
        "key": key,
        "repo_id": report.repo_id,
        "run_id": report.run_id,
        "timestamp": report.timestamp,
        "tier": report.tier,
        "mode": report.mode,
        "branch": report.git.branch,
        "commit": report.git.commit,
    }


def _stats_row(stats: Stats) -> dict[str, Any]:
    ci = stats.ci95
    return {
        "value": stats.median,
        "n": stats.n,
        "min": stats.min,
        "max": stats.max,
        "mean": stats.mean,
        "stdev": stats.stdev,
        "mad": stats.mad,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
    }


def _single(value: float | int | None, n: int) -> dict[str, Any]:
    return {"value": value, "n": n}


def _phase_rows(name: str, ph: Phase, verdict: str | None) -> Iterator[dict[str, Any]]:
    head = {
        "phase": name,
        "ok": ph.ok,
        "failed_samples": ph.failed_samples,
        "phase_verdict": verdict,
    }
    wall = ph.stats
    median = ph.elapsed_s if ph.elapsed_s is not None else wall.median
    yield {**head, "step": None, "metric": "wall_s", **_stats_row(wall), "value": median}
    yield {**head, "step": None, "metric": "user_s", **_single(ph.user_s_median, wall.n)}
    yield {**head, "step": None, "metric": "sys_s", **_single(ph.sys_s_median, wall.n)}
    yield {**head, "step": None, "metric": "max_rss_kb", **_single(ph.max_rss_kb, wall.n)}
    for step, stats in sorted(ph.steps.items()):
        yield {**head, "step": step, "metric": "wall_s", **_stats_row(stats)}


def run_rows(key: str, report: Report) -> list[dict[str, Any]]:
    """The ``runs`` rows of one report."""
    reg = report.regression
    common = {
        **_common(key, report),
        "machine": MachineClass.of(report.environment).label,
        "config_hash": report.target.config_hash,
        "probe": report.measurement.probe,
        "succeeded": report.succeeded,
        "verdict": reg.verdict if reg is not None else None,
        # since 0.4: the metrics that gated (what `trend` follows), and A/B reports marked
        "gates": ",".join(reg.gates) if reg is not None and reg.gates else None,
        "ab": report.against is not None,
    }
    rows: list[dict[str, Any]] = []
    decided = reg.confirmation.phases if reg is not None and reg.confirmation else {}
    for name, ph in report.runs.items():
        # the phase's verdict as the report decided it: an A/B confirmation's when one ran
        pv = decided.get(name) or (reg.phases.get(name) if reg is not None else None)
        verdict = pv.verdict if pv is not None else None
        rows.extend({**common, **row} for row in _phase_rows(name, ph, verdict))
    if not rows:
        rows.append({**common, "phase": None, "step": None, "metric": None, "value": None})
    return rows


def sample_rows(key: str, report: Report) -> list[dict[str, Any]]:
    """The ``samples`` rows of one report: each sample, then each of its steps."""
    common = _common(key, report)
    rows: list[dict[str, Any]] = []
    for name, ph in report.runs.items():
        for s in ph.samples:
            base = {**common, "phase": name, "sample": s.index}
            rows.append(
                {
                    **base,
                    "step": None,
                    "wall_s": s.wall_s,
                    "user_s": s.user_s,
                    "sys_s": s.sys_s,
                    "max_rss_kb": s.max_rss_kb,
                    "exit_code": s.exit_code,
                    "ok": s.ok,
                    "counts": s.counts,
                }
            )
            for st in s.steps:
                rows.append(
                    {
                        **base,
                        "step": st.name,
                        "wall_s": st.wall_s,
                        "user_s": st.user_s,
                        "sys_s": st.sys_s,
                        "max_rss_kb": st.max_rss_kb,
                        "exit_code": st.exit_code,
                        "ok": st.exit_code == 0 and not st.timed_out,
                        "counts": s.counts,
                    }
                )
    return rows


def report_row(key: str, data: bytes) -> bytes:
    """The ``reports`` line of a report from its archived bytes (no re-encoding)."""
    head = json.dumps({"key": key}, separators=(",", ":"))[:-1]
    return head.encode() + b',"report":' + data.rstrip(b"\n") + b"}"


def encode(rows: Iterable[dict[str, Any]]) -> bytes:
    """gzip-compressed JSON lines."""
    text = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in rows)
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def encode_lines(lines: Iterable[bytes]) -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in lines), compresslevel=6, mtime=0)


def decode_lines(data: bytes) -> list[bytes]:
    return [line for line in gzip.decompress(data).split(b"\n") if line]


def decode(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in decode_lines(data)]


#: The columns of each table and their SQL types: the contract for DuckDB, Trino, Spark and
#: Athena (``docs/archive.md``). The partition columns ``repo`` and ``month`` come from the
#: path. New columns may be added at the end; none is removed or retyped within ``v1``.
COLUMNS: dict[str, dict[str, str]] = {
    "runs": {
        "key": "VARCHAR",
        "repo_id": "VARCHAR",
        "run_id": "VARCHAR",
        "timestamp": "VARCHAR",
        "tier": "VARCHAR",
        "mode": "VARCHAR",
        "branch": "VARCHAR",
        "commit": "VARCHAR",
        "machine": "VARCHAR",
        "config_hash": "VARCHAR",
        "probe": "VARCHAR",
        "succeeded": "BOOLEAN",
        "verdict": "VARCHAR",
        "gates": "VARCHAR",
        "ab": "BOOLEAN",
        "phase": "VARCHAR",
        "ok": "BOOLEAN",
        "failed_samples": "INTEGER",
        "phase_verdict": "VARCHAR",
        "step": "VARCHAR",
        "metric": "VARCHAR",
        "value": "DOUBLE",
        "n": "INTEGER",
        "min": "DOUBLE",
        "max": "DOUBLE",
        "mean": "DOUBLE",
        "stdev": "DOUBLE",
        "mad": "DOUBLE",
        "ci_low": "DOUBLE",
        "ci_high": "DOUBLE",
    },
    "samples": {
        "key": "VARCHAR",
        "repo_id": "VARCHAR",
        "run_id": "VARCHAR",
        "timestamp": "VARCHAR",
        "tier": "VARCHAR",
        "mode": "VARCHAR",
        "branch": "VARCHAR",
        "commit": "VARCHAR",
        "phase": "VARCHAR",
        "sample": "INTEGER",
        "step": "VARCHAR",
        "wall_s": "DOUBLE",
        "user_s": "DOUBLE",
        "sys_s": "DOUBLE",
        "max_rss_kb": "BIGINT",
        "exit_code": "INTEGER",
        "ok": "BOOLEAN",
        "counts": "BOOLEAN",
    },
    "reports": {"key": "VARCHAR", "report": "JSON"},
}
