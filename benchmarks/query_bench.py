"""``ft-bench query`` over 100,000 generated reports (20 repositories x 5,000), locally and on
SeaweedFS through DuckDB's httpfs package (started and stopped here, loopback only).

The index is built from generated reports by the same code that indexes archived ones
(``IndexStore.add_reports``); the report files themselves are not written (100,000 fsyncs would
dominate the run and are not what is measured). Prints the index size, the build time and, per
query, the wall time of the whole command (median of the trials) and its answer's row count.

    .venv/bin/python benchmarks/query_bench.py [--repos 20] [--per-repo 5000] [--trials 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "s3"), str(REPO / "tests"), str(REPO / "benchmarks")]

import fleet  # noqa: E402
from s3util import new_bucket, s3_env_for  # noqa: E402
from servers import S3Server, fake_credentials  # noqa: E402

from ftbench.archive.base import report_key  # noqa: E402
from ftbench.archive.index_store import IndexStore, LocalBackend  # noqa: E402
from ftbench.archive.s3 import S3Config, S3Store  # noqa: E402

QUERIES = {
    "reports per repository": (
        "select repo, count(distinct key) as reports from runs group by repo order by repo"
    ),
    "weekly warm median, main branch, one repository": (
        "select date_trunc('week', cast(timestamp as timestamp)) as week, "
        "median(value) * 1000 as warm_ms, count(*) as reports from runs "
        "where repo = 'fleet007' and phase = 'warm' and step is null and metric = 'wall_s' "
        "and branch = 'main' group by week order by week"
    ),
    "newest regression verdicts, all repositories": (
        "select repo, timestamp, commit, value from runs where verdict = 'regression' "
        "and phase = 'warm' and step is null and metric = 'wall_s' "
        "order by timestamp desc limit 20"
    ),
    "p95 of raw warm samples per repository and step": (
        "select repo, step, quantile_cont(wall_s, 0.95) as p95_s, count(*) as samples "
        "from samples where phase = 'warm' and step is not null group by all order by all"
    ),
}


def build(root: Path, repos: int, per_repo: int) -> float:
    ix = IndexStore(LocalBackend(root), "benchmarks")
    start = time.perf_counter()
    for r in range(repos):
        rid = f"fleet{r:03d}"
        items = []
        for report in fleet.reports(per_repo, rid, seed=r):
            data = report.archive_bytes()
            items.append((report_key("benchmarks", rid, data, report.timestamp), data, report))
        ix.add_reports(rid, items)
        print(f"  indexed {rid}: {(r + 1) * per_repo} reports", flush=True)
    return time.perf_counter() - start


def timed(args: list[str], env: dict[str, str], trials: int) -> tuple[float, int]:
    walls = []
    rows = 0
    for _ in range(trials):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "ftbench", "query", *args],
            env=env,
            capture_output=True,
            text=True,
        )
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"query failed: {done.stderr.strip()}")
        rows = len(done.stdout.splitlines()) - 1
    return statistics.median(walls), rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--per-repo", type=int, default=5000)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    total = args.repos * args.per_repo
    results: list[tuple[str, str, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="ftbench-query-") as tmp:
        root = Path(tmp) / "repo" / ".firsttry" / "archive"
        seconds = build(root, args.repos, args.per_repo)
        files = sorted((root / "benchmarks" / "index").rglob("*.jsonl.gz"))
        sizes: dict[str, int] = {}
        for f in files:
            table = f.relative_to(root / "benchmarks" / "index" / "v1").parts[0]
            sizes[table] = sizes.get(table, 0) + f.stat().st_size
        print(f"index of {total} reports built in {seconds:.0f} s: {len(files)} objects")
        for table, size in sorted(sizes.items()):
            print(f"  {table}: {size / 1e6:.1f} MB")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "AWS_"))}
        local_args = ["--repo", str(Path(tmp) / "repo"), "--refresh", "no", "--format", "csv"]
        for name, sql in QUERIES.items():
            wall, rows = timed([*local_args, sql], env, args.trials)
            results.append((name, "local", wall, rows))
            print(f"  {name} [local]: {wall:.2f} s, {rows} rows", flush=True)

        key, secret = fake_credentials()
        server = S3Server("seaweedfs", Path(tmp) / "weed", key, secret)
        server.start()
        try:
            bucket = new_bucket(server)
            s3env = {**env, **s3_env_for(server, bucket)}
            os.environ.update(s3_env_for(server, bucket))
            store = S3Store(S3Config.from_env(), max_pool_connections=32)
            start = time.perf_counter()
            with ThreadPoolExecutor(32) as pool:
                list(
                    pool.map(
                        lambda f: store.put(
                            f.relative_to(root).as_posix(), f.read_bytes(), {}, check_exists=False
                        ),
                        files,
                    )
                )
            print(f"uploaded the index to SeaweedFS in {time.perf_counter() - start:.0f} s")
            s3_args = ["--s3", "--repo", str(Path(tmp) / "repo"), "--format", "csv"]
            for name, sql in QUERIES.items():
                wall, rows = timed([*s3_args, sql], s3env, args.trials)
                results.append((name, "SeaweedFS (httpfs)", wall, rows))
                print(f"  {name} [SeaweedFS]: {wall:.2f} s, {rows} rows", flush=True)
        finally:
            server.stop()
    print()
    print(f"{total} reports, {args.repos} repositories; load average {os.getloadavg()[0]:.1f}")
    print(f"{'query':50}  {'store':19}  {'wall (median)':>13}  rows")
    for name, where, wall, rows in results:
        print(f"{name:50}  {where:19}  {wall:>11.2f} s  {rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
