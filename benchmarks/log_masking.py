"""Cost of masking credential values in the logs after their commands ran (issue 16, item 5).

`measure.logs.mask_logs` reads every log of a batch once (and rewrites the few that hold a
secret); it runs between samples, never inside a timing. Prints the time per log for logs of
several sizes, with and without a secret in them, and the peak memory of the pass.
Run: `.venv/bin/python benchmarks/log_masking.py`.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from ftbench.measure.logs import mask_logs

SECRETS = (b"ghp_" + b"x" * 36, b"canary-password-1", b"user:pw-in-url")
SIZES = {"200 B": 200, "64 KiB": 64 << 10, "8 MiB": 8 << 20, "256 MiB": 256 << 20}
ROUNDS = int(os.environ.get("ROUNDS", "5"))


def write(path: Path, size: int, secret: bool) -> None:
    line = b"some ordinary tool output, file.py:12: E501 line too long (101 > 100)\n"
    with open(path, "wb") as fh:
        left = size
        block = line * (1 << 14)
        while left > 0:
            fh.write(block[:left])
            left -= len(block)
        if secret:
            fh.seek(size // 2)
            fh.write(b"GITHUB_TOKEN=" + SECRETS[0] + b"\n")


def per_log(folder: Path, size: int, secret: bool, count: int) -> float:
    logs = [folder / f"{i}.log" for i in range(count)]
    times = []
    for _ in range(ROUNDS):
        for log in logs:
            write(log, size, secret)
        started = time.perf_counter()
        mask_logs(logs, SECRETS)
        times.append((time.perf_counter() - started) / count)
    for log in logs:
        log.unlink()
    return statistics.median(times)


def main() -> None:
    print(f"mask_logs, {len(SECRETS)} secrets, median of {ROUNDS} rounds")
    print(f"{'log size':>9} {'logs':>5} {'no secret':>12} {'one secret':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, size in SIZES.items():
            count = 256 if size < 1 << 20 else 1
            clean = per_log(Path(tmp), size, False, count)
            dirty = per_log(Path(tmp), size, True, count)
            print(f"{name:>9} {count:>5} {clean * 1e3:10.3f}ms {dirty * 1e3:10.3f}ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MiB (the pass reads 1 MiB at a time)")


if __name__ == "__main__":
    main()
