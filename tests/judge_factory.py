"""Synthetic schema-1 reports and an in-memory archive store for the judge's tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ftbench.archive.base import canonical_report_bytes, report_key

ENV = {
    "os": "Linux",
    "kernel": "6.1.0",
    "arch": "x86_64",
    "cpu_model": "Test CPU @ 3.0GHz",
    "cpu_count": 4,
    "cpu_count_logical": 8,
    "python": "3.11.9",
    "tool_versions": {"ruff": "0.6.9", "mypy": "1.11.2"},
    "ci": {"provider": None},
    "env": {},
}


def noisy(median: float, n: int, cv: float = 0.03, seed: int = 0) -> list[float]:
    """``n`` log-normal wall times around ``median`` with coefficient of variation ``cv``."""
    rng = np.random.default_rng(seed)
    sigma = float(np.sqrt(np.log1p(cv**2)))
    return [float(v) for v in median * rng.lognormal(0.0, sigma, n)]


def sample(index: int, wall: float, *, ok: bool = True, timed_out: bool = False) -> dict[str, Any]:
    return {
        "index": index, "wall_s": wall, "user_s": wall / 2, "sys_s": 0.01,
        "max_rss_kb": 1000, "rss_exact": True, "exit_code": 0 if ok else 1,
        "timed_out": timed_out, "ok": ok and not timed_out, "steps": [],
    }


def phase(walls: Sequence[float], failed: Iterable[float] = (),
          timed_out: Iterable[float] = ()) -> dict[str, Any]:
    samples = [sample(i, w) for i, w in enumerate(walls)]
    samples += [sample(len(samples) + i, w, ok=False) for i, w in enumerate(failed)]
    samples += [sample(len(samples) + i, w, timed_out=True) for i, w in enumerate(timed_out)]
    ok_walls = sorted(walls)
    med = ok_walls[len(ok_walls) // 2] if ok_walls else None
    return {"elapsed_s": med, "ok": len(samples) == len(list(walls)),
            "exit_code": 0, "samples": samples, "stats": {}, "steps": {}, "cache": {}}


def make_report(warm: Sequence[float] | None = None, cold: Sequence[float] | None = None, *,
                branch: str | None = "main", timestamp: str = "2026-11-25T13:58:00Z",
                run_id: str | None = None, env: Mapping[str, Any] | None = None,
                tier: str = "lite", mode: str = "normal", config_hash: str = "0123456789abcdef",
                repo_id: str = "abcd1234", warm_failed: Sequence[float] = (),
                warm_timed_out: Sequence[float] = (), ok: bool | None = None) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    if cold is not None:
        runs["cold"] = phase(cold)
    if warm is not None:
        runs["warm"] = phase(warm, warm_failed, warm_timed_out)
    if ok is not None:
        for block in runs.values():
            block["ok"] = ok
    environment = json.loads(json.dumps(ENV))
    environment.update(env or {})
    return {
        "schema": 1,
        "run_id": run_id or uuid.uuid4().hex,
        "timestamp": timestamp,
        "tool": {"name": "ftbench", "version": "0.1.0"},
        "tier": tier,
        "mode": mode,
        "target": {"kind": "tier", "config_hash": config_hash, "steps": []},
        "repo_id": repo_id,
        "runs": runs,
        "speedup": None,
        "environment": environment,
        "git": {"commit": "0" * 40, "branch": branch, "tag": None, "dirty": False,
                "remote": None},
    }


def ts(i: int) -> str:
    """The i-th timestamp of a series (later i = newer)."""
    return f"2026-11-{1 + i // 24:02d}T{i % 24:02d}:00:00Z"


class MemoryStore:
    """An in-memory ArchiveStore."""

    def __init__(self, name: str = "local", prefix: str = "benchmarks") -> None:
        self.name = name
        self.prefix = prefix
        self.data: dict[str, bytes] = {}
        self.gets = 0

    def add(self, report: Mapping[str, Any]) -> str:
        data = canonical_report_bytes(report)
        key = report_key(self.prefix, str(report["repo_id"]), data, str(report["timestamp"]))
        self.put(key, data, {})
        return key

    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> bool:
        if key in self.data:
            return False
        self.data[key] = data
        return True

    def list_keys(self, repo_id: str, limit: int | None = None) -> list[str]:
        keys = sorted((k for k in self.data if f"/{repo_id}/" in f"/{k}"),
                      key=lambda k: k.rsplit("/", 1)[-1], reverse=True)
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
