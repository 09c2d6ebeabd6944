"""Archive performance against a local SeaweedFS (started and stopped here, loopback only).

Prints: upload latency of one report (median), ``archive sync`` throughput of 1,000 pending
reports (reports/s with its concurrency), ``list_reports`` over 5,000 keys (median).
Target: sync >= 300 reports/s.

    .venv/bin/python benchmarks/archive_bench.py [--workers 16]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "s3"), str(REPO / "tests")]

from s3util import admin_client, new_bucket, s3_env_for  # noqa: E402
from servers import S3Server, fake_credentials  # noqa: E402

from ftbench.archive.local import LocalArchive  # noqa: E402
from ftbench.archive.manager import S3ArchiveManager  # noqa: E402
from ftbench.archive.repo_id import repo_id  # noqa: E402
from ftbench.archive.s3config import S3Config  # noqa: E402
from ftbench.archive.sync import archive_report, sync_pending  # noqa: E402
from ftbench.report.model import Report  # noqa: E402

#: A report written by ftbench 0.1.0 for `--tier lite` (~9 KB compact, 5 cold and 10 warm
#: samples of their steps): every benchmark report is a copy with its own run id and time.
REAL = Report.from_json((REPO / "tests/fixtures/reports/v1/tier-judged.json").read_bytes())


def make_report(i: int = 0, timestamp: str = "2025-11-07T05:24:05Z") -> Report:
    return dataclasses.replace(REAL, run_id=f"{i:032x}", timestamp=timestamp, archive=None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--pending", type=int, default=1000)
    parser.add_argument("--list-keys", type=int, default=5000)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith(("S3_", "AWS_"))]:
        del os.environ[name]
    os.environ.update(
        {
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    with tempfile.TemporaryDirectory(prefix="ftbench-archive-bench-") as tmp:
        key, secret = fake_credentials()
        server = S3Server("seaweedfs", Path(tmp) / "weed", key, secret)
        server.start()
        try:
            run(server, Path(tmp), args)
        finally:
            server.stop()
    return 0


def run(server: S3Server, tmp: Path, args: argparse.Namespace) -> None:
    bucket = new_bucket(server)
    env = s3_env_for(server, bucket)
    os.environ.update(env)
    config = S3Config.from_env()
    manager = S3ArchiveManager(config)

    # 1. Upload latency of one report (HEAD + conditional PUT), sequential, distinct reports.
    manager.upload_benchmark_report(make_report(10_000).to_dict(), "/bench/warmup")
    latencies = []
    for i in range(50):
        start = time.perf_counter()
        result = manager.upload_benchmark_report(make_report(i).to_dict(), "/bench/latency")
        latencies.append((time.perf_counter() - start) * 1000)
        assert result.success, result.error
    print(
        f"upload latency (1 report, {result.size_bytes} bytes, model check included): "
        f"median {statistics.median(latencies):.1f} ms, "
        f"p90 {sorted(latencies)[int(len(latencies) * 0.9)]:.1f} ms (n={len(latencies)})"
    )

    # 2. archive sync of N pending reports.
    repo = tmp / "repo"
    repo.mkdir()
    local = LocalArchive(repo / ".firsttry" / "archive")
    for i in range(args.pending):
        ts = (
            f"2025-11-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
            f"{i % 60:02d}Z"
        )
        out = archive_report(make_report(i, timestamp=ts), repo, upload_s3=False)
        local.mark_pending(out.local_key)
    result_sync = sync_pending(repo, workers=args.workers)
    n = len(result_sync.uploaded)
    assert n == args.pending and result_sync.ok, result_sync
    rate = n / result_sync.elapsed_s
    print(
        f"archive sync: {n} pending reports in {result_sync.elapsed_s:.2f} s = "
        f"{rate:.0f} reports/s ({result_sync.workers} workers; target >= 300/s: "
        f"{'met' if rate >= 300 else 'NOT met'})"
    )

    # 3. list_reports over M keys of one repository.
    rid = repo_id(Path("/bench/list"))
    client = admin_client(server)
    keys = [
        f"{config.prefix}/{rid}/2025-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
        f"{i % 60:02d}Z-benchmark-{i:012x}.json"
        for i in range(args.list_keys)
    ]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=b"{}"), keys))
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        latest = manager.list_reports("/bench/list", max_keys=10)
        timings.append((time.perf_counter() - start) * 1000)
    assert latest == sorted(keys)[-10:]
    print(
        f"list_reports over {args.list_keys} keys (max_keys=10, "
        f"{(args.list_keys + 999) // 1000} pages): median {statistics.median(timings):.0f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
