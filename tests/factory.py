"""Reports for tests, built through the report model (so every one is a report the writer
could emit), and an in-memory archive store."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ftbench.archive.base import report_key
from ftbench.report.model import KeyedReport, Phase, Report, Runs, Sample
from ftbench.report.summary import summarize

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
#: A real report written by ftbench 0.1.0: every test report starts from it.
TEMPLATE = Report.from_json((FIXTURES / "v1" / "tier-judged.json").read_bytes())

ENV: dict[str, Any] = {
    "os": "Linux",
    "kernel": "6.1.0",
    "arch": "x86_64",
    "cpu_model": "Test CPU @ 3.0GHz",
    "cpu_count": 4,
    "cpu_count_logical": 8,
    "python": "3.11.9",
    "tool_versions": {"ruff": "0.6.9", "mypy": "1.11.2"},
    "ci": None,
    "env": {},
}


def noisy(median: float, n: int, cv: float = 0.03, seed: int = 0) -> list[float]:
    """``n`` log-normal wall times around ``median`` with coefficient of variation ``cv``."""
    rng = np.random.default_rng(seed)
    sigma = float(np.sqrt(np.log1p(cv**2)))
    return [float(v) for v in median * rng.lognormal(0.0, sigma, n)]


def sample(index: int, wall: float, *, ok: bool = True, timed_out: bool = False) -> Sample:
    return Sample(
        index=index,
        wall_s=wall,
        user_s=wall / 2,
        sys_s=0.01,
        max_rss_kb=1000,
        rss_exact=True,
        exit_code=0 if ok and not timed_out else (-1 if timed_out else 1),
        timed_out=timed_out,
        ok=ok and not timed_out,
        steps=(),
    )


def phase(
    walls: Sequence[float],
    failed: Iterable[float] = (),
    timed_out: Iterable[float] = (),
    ok: bool | None = None,
) -> Phase:
    samples = [sample(i + 1, w) for i, w in enumerate(walls)]
    samples += [sample(len(samples) + i + 1, w, ok=False) for i, w in enumerate(failed)]
    samples += [sample(len(samples) + i + 1, w, timed_out=True) for i, w in enumerate(timed_out)]
    stats = summarize(list(walls))
    bad = [s for s in samples if not s.ok]
    return Phase(
        elapsed_s=stats.median,
        ok=not bad if ok is None else ok,
        exit_code=bad[0].exit_code if bad else 0,
        planned=len(samples),
        failed_samples=len(bad),
        timed_out_samples=sum(s.timed_out for s in samples),
        stats=stats,
        user_s_median=None,
        sys_s_median=None,
        max_rss_kb=1000,
        rss_exact=True,
        steps={},
        cache=None,
        samples=tuple(samples),
    )


def make_report(
    warm: Sequence[float] | None = None,
    cold: Sequence[float] | None = None,
    *,
    branch: str | None = "main",
    timestamp: str = "2026-11-25T13:58:00Z",
    run_id: str | None = None,
    env: Mapping[str, Any] | None = None,
    tier: str = "lite",
    mode: str = "normal",
    config_hash: str = "0123456789abcdef",
    repo_id: str = "abcd1234",
    warm_failed: Sequence[float] = (),
    warm_timed_out: Sequence[float] = (),
    ok: bool | None = None,
    commit: str = "0" * 40,
    probe: str = "forkserver",
) -> Report:
    runs = Runs(
        cold=None if cold is None else phase(cold, ok=ok),
        warm=None if warm is None else phase(warm, warm_failed, warm_timed_out, ok=ok),
    )
    environment = dataclasses.replace(TEMPLATE.environment, **{**ENV, **(env or {})})
    return dataclasses.replace(
        TEMPLATE,
        run_id=run_id or uuid.uuid4().hex,
        timestamp=timestamp,
        tier=tier,
        mode=mode,  # type: ignore[arg-type]
        repo_id=repo_id,
        target=dataclasses.replace(TEMPLATE.target, config_hash=config_hash),
        measurement=dataclasses.replace(TEMPLATE.measurement, probe=probe),
        runs=runs,
        speedup=None,
        ok=all(p.ok for _, p in runs.items()),
        environment=environment,
        git=dataclasses.replace(TEMPLATE.git, commit=commit, branch=branch),
        regression=None,
    )


def keyed(key: str, report: Report) -> KeyedReport:
    return KeyedReport(key, report)


def ts(i: int) -> str:
    """The i-th timestamp of a series (later i = newer)."""
    return f"2026-11-{1 + i // 24:02d}T{i % 24:02d}:00:00Z"


class MemoryStore:
    """An in-memory archive store."""

    def __init__(self, name: str = "local", prefix: str = "benchmarks") -> None:
        self.name = name
        self.prefix = prefix
        self.data: dict[str, bytes] = {}
        self.gets = 0

    def add(self, report: Report) -> str:
        data = report.archive_bytes()
        key = report_key(self.prefix, report.repo_id, data, report.timestamp)
        self.put(key, data, {})
        return key

    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> bool:
        if key in self.data:
            return False
        self.data[key] = data
        return True

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
        keys = sorted(
            (k for k in self.data if f"/{repo_id}/" in f"/{k}"),
            key=lambda k: k.rsplit("/", 1)[-1],
            reverse=True,
        )
        return keys[:limit] if limit is not None else keys

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return self.data.get(key)

    def exists(self, key: str) -> bool:
        return key in self.data


class BrokenStore(MemoryStore):
    """A store whose every call fails (an unreachable S3)."""

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
        raise ConnectionError("endpoint unreachable")

    def get(self, key: str) -> bytes | None:
        raise ConnectionError("endpoint unreachable")
