"""The archive at fleet scale: ``trend``, ``archive list`` and the baseline lookup over 5,000
reports of one repository, locally and on SeaweedFS (started and stopped here, loopback only).

Prints one table: each operation, where, wall time (median of the trials, and the CPU time of
the process), objects read. Targets (issue 12): trend over 5,000 reports <= 1 s with a warm
index, <= 3 s from SeaweedFS with an empty local directory; baseline lookup on S3 <= 3 objects.

    .venv/bin/python benchmarks/scale_bench.py [--reports 5000] [--trials 5]

The machine is shared: the load average is printed with the figures.
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

from ftbench.archive.base import Archives  # noqa: E402
from ftbench.archive.local import LocalArchive  # noqa: E402
from ftbench.archive.s3 import S3Config, S3Store  # noqa: E402

FT_BENCH = [sys.executable, "-m", "ftbench"]
RID = "fleet001"
ROWS: list[tuple[str, str, str, str, str]] = []


def timed_cli(args: list[str], env: dict[str, str], trials: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys of the child) of a command."""
    walls, cpus = [], []
    for _ in range(trials):
        before = os.times()
        start = time.perf_counter()
        done = subprocess.run([*FT_BENCH, *args], env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system
        )
        if done.returncode != 0:
            raise SystemExit(f"{args[0]} failed: {done.stderr.strip()}")
    return statistics.median(walls), statistics.median(cpus)


def row(what: str, where: str, wall: float, cpu: float | None, objects: str) -> None:
    ROWS.append((what, where, f"{wall:.2f} s", "-" if cpu is None else f"{cpu:.2f} s", objects))
    print(f"  {what} [{where}]: {wall:.2f} s", flush=True)


def env_without_s3() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "AWS_"))}


def local_part(tmp: Path, n: int, trials: int) -> Path:
    root = tmp / "repo"
    archive = root / ".firsttry" / "archive"
    start = time.perf_counter()
    fleet.write_archive(archive, n, RID)
    print(f"generated {n} reports in {time.perf_counter() - start:.0f} s", flush=True)
    env = env_without_s3()
    common = ["--repo", str(root), "--repo-id", RID]
    trend = ["trend", *common, "--last", "all"]
    wall, cpu = timed_cli(trend, env, 1)
    row(f"trend --last all, {n} reports, no index yet (builds it)", "local", wall, cpu, f"{n}")
    wall, cpu = timed_cli(trend, env, trials)
    row(f"trend --last all, {n} reports, warm index", "local", wall, cpu, "index only")
    wall, cpu = timed_cli([*trend, "--step", "compile", "--metric", "wall_s"], env, trials)
    row("trend of one step (compile), warm index", "local", wall, cpu, "index only")
    wall, cpu = timed_cli(["archive", "list", *common, "--limit", "20"], env, trials)
    row("archive list --limit 20", "local", wall, cpu, "index only")
    return archive


def s3_part(tmp: Path, archive: Path, n: int, trials: int) -> None:
    key, secret = fake_credentials()
    server = S3Server("seaweedfs", tmp / "weed", key, secret)
    server.start()
    try:
        bucket = new_bucket(server)
        env = {**env_without_s3(), **s3_env_for(server, bucket)}
        os.environ.update(s3_env_for(server, bucket))
        store = S3Store(S3Config.from_env(), max_pool_connections=32)
        local = LocalArchive(archive)
        keys = local.list_keys(RID)
        with ThreadPoolExecutor(32) as pool:  # the reports alone, as runners uploaded them
            list(
                pool.map(lambda k: store.put(k, local.get(k) or b"", {}, check_exists=False), keys)
            )
        empty = tmp / "empty"
        common = ["--repo", str(tmp / "repo"), "--archive-dir", str(empty), "--repo-id", RID]
        trend = ["trend", *common, "--last", "all"]
        # reading 5,000 reports one by one outlasts the default S3_TOTAL_TIMEOUT (each command
        # then indexes what it read and the next goes on); one command builds it all here
        wall, cpu = timed_cli(trend, {**env, "S3_TOTAL_TIMEOUT": "1800"}, 1)
        row(
            f"trend --last all, {n} reports, no index in the bucket (builds it)",
            "SeaweedFS",
            wall,
            cpu,
            f"{n}",
        )
        wall, cpu = timed_cli(trend, env, trials)
        segments = len(store.list_prefix(f"benchmarks/index/v1/runs/repo={RID}/"))
        row(
            f"trend --last all, {n} reports, empty local directory",
            "SeaweedFS",
            wall,
            cpu,
            f"{segments} runs segments",
        )
        wall, cpu = timed_cli(["archive", "list", "--s3", *common, "--limit", "20"], env, trials)
        row("archive list --s3 --limit 20", "SeaweedFS", wall, cpu, f"{segments} runs segments")
        # the baseline lookup: the judge takes the newest reports until it has 5 (default)
        reads: list[str] = []
        original = S3Store.get

        def counting(self: S3Store, k: str) -> bytes | None:
            reads.append(k)
            return original(self, k)

        S3Store.get = counting  # type: ignore[method-assign]
        times = []
        for _ in range(trials):
            reads.clear()
            start = time.perf_counter()
            taken = []
            for keyed in Archives([store]).newest(RID, []):
                taken.append(keyed)
                if len(taken) == 5:
                    break
            times.append(time.perf_counter() - start)
        S3Store.get = original  # type: ignore[method-assign]
        row(
            "baseline lookup (newest 5 reports)",
            "SeaweedFS",
            statistics.median(times),
            None,
            f"{len(reads)} objects",
        )
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftbench-scale-") as tmp:
        archive = local_part(Path(tmp), args.reports, args.trials)
        s3_part(Path(tmp), archive, args.reports, args.trials)
    print()
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    header = ("operation", "store", "wall (median)", "CPU", "objects read")
    widths = [max(len(r[i]) for r in [header, *ROWS]) for i in range(5)]
    for r in [header, *ROWS]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
