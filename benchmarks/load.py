"""A varying background load for the verdict benchmarks: busy CPU processes whose number
changes every 0.3-1.5 s, what a shared CI runner looks like.

    .venv/bin/python benchmarks/load.py [--seconds S] [--max-busy N] [--seed S] [--churn]

or, from another benchmark::

    with Load(max_busy=3, seed=1, seconds=900) as load:
        ...  # measure under load
    print(load.describe())

The schedule is a seeded random sequence of (hold time, busy count) segments: each segment
lasts uniform(0.3, 1.5) s and has uniform 0..max_busy busy processes (by default 0..3 on this
2-core machine). ``max_busy`` worker processes each follow the whole schedule on their own
(worker ``i`` spins while the segment's count is above ``i`` and sleeps otherwise), so the
parent sends them nothing while they run. With ``churn``, one more worker touches and frees
32-96 MB of memory and writes and deletes a 4-16 MB temporary file every 0.3-1.5 s.

Bounded in time: each worker is given an absolute deadline and exits by itself once it passes
(also when its parent has died: it notices being re-parented), whatever happens to the parent.
The parent stops only its own workers, by PID, when the ``with`` block ends (also on errors
and Ctrl-C). Benchmark-only code: the standard library, nothing from ftbench.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

MIN_HOLD_S, MAX_HOLD_S = 0.3, 1.5


def schedule(
    seed: int, seconds: float, max_busy: int, hold: tuple[float, float] = (MIN_HOLD_S, MAX_HOLD_S)
) -> list[tuple[float, int]]:
    """``(start offset in s, busy processes)`` segments covering ``seconds``."""
    rng = random.Random(seed)
    out: list[tuple[float, int]] = []
    t = 0.0
    while t < seconds:
        out.append((t, rng.randint(0, max_busy)))
        t += rng.uniform(*hold)
    return out


def busy_at(segments: list[tuple[float, int]], offset: float) -> tuple[int, float]:
    """The busy count at ``offset`` and the offset at which its segment ends."""
    lo, hi = 0, len(segments) - 1
    while lo < hi:  # last segment starting at or before offset
        mid = (lo + hi + 1) // 2
        if segments[mid][0] <= offset:
            lo = mid
        else:
            hi = mid - 1
    end = segments[lo + 1][0] if lo + 1 < len(segments) else float("inf")
    return segments[lo][1], end


def _spin(until: float) -> None:
    x = 0
    while time.time() < until:
        for i in range(2000):
            x += i * i


def _alive(parent: int) -> bool:
    return os.getppid() == parent


def cpu_worker(index: int, seed: int, t0: float, seconds: float, max_busy: int) -> None:
    """Worker ``index``: busy while the schedule's count is above ``index``, until
    ``t0 + seconds`` (an absolute ``time.time()``), or until its parent is gone."""
    parent = os.getppid()
    segments = schedule(seed, seconds, max_busy)
    deadline = t0 + seconds
    while (now := time.time()) < deadline and _alive(parent):
        count, end = busy_at(segments, max(0.0, now - t0))
        until = min(t0 + end, deadline, now + 0.25)  # re-check the parent 4x a second
        if index < count:
            _spin(until)
        else:
            time.sleep(max(0.0, until - now))


def churn_worker(seed: int, t0: float, seconds: float) -> None:
    """Memory and file churn at random intervals, until ``t0 + seconds``."""
    parent = os.getppid()
    rng = random.Random(seed ^ 0x5EED)
    deadline = t0 + seconds
    chunk = b"\xa5" * (1 << 20)
    while time.time() < deadline and _alive(parent):
        block = bytearray(rng.randint(32, 96) << 20)
        for i in range(0, len(block), 4096):  # touch every page
            block[i] = 1
        del block
        fd, name = tempfile.mkstemp(prefix="ftbench-load-")
        try:
            with os.fdopen(fd, "wb") as f:
                for _ in range(rng.randint(4, 16)):
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        finally:
            os.unlink(name)
        time.sleep(min(rng.uniform(MIN_HOLD_S, MAX_HOLD_S), max(0.0, deadline - time.time())))


@dataclass
class Load:
    """Context manager: ``max_busy`` CPU workers (plus a churn worker with ``churn``) following
    a seeded schedule for at most ``seconds``."""

    max_busy: int = 3
    seed: int = 1
    seconds: float = 600.0
    churn: bool = False
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    t0: float = 0.0

    def __enter__(self) -> Load:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.t0 = time.time() + 0.2  # all workers share one clock origin
        me = str(Path(__file__).resolve())
        common = [str(self.seed), repr(self.t0), repr(self.seconds), str(self.max_busy)]
        argvs = [[sys.executable, me, "--worker", str(i), *common] for i in range(self.max_busy)]
        if self.churn:
            argvs.append([sys.executable, me, "--worker", "churn", *common])
        for argv in argvs:
            self.procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL))

    def stop(self) -> None:
        for proc in self.procs:  # only our own children, by PID
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                    os.kill(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait()
        self.procs.clear()

    def mean_busy(self) -> float:
        """Time-weighted mean busy count of the schedule."""
        segs = schedule(self.seed, self.seconds, self.max_busy)
        total = 0.0
        for (start, count), nxt in zip(segs, [*segs[1:], (self.seconds, 0)], strict=True):
            total += count * (min(nxt[0], self.seconds) - start)
        return total / self.seconds

    def describe(self) -> str:
        extra = ", plus memory/file churn" if self.churn else ""
        return (
            f"0..{self.max_busy} busy CPU processes, the count redrawn every "
            f"{MIN_HOLD_S:g}-{MAX_HOLD_S:g} s (seed {self.seed}, time-weighted mean "
            f"{self.mean_busy():.2f}){extra}, on {os.cpu_count()} CPUs"
        )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--worker"]:
        which, seed, t0, seconds, max_busy = args[1:6]
        try:
            if which == "churn":
                churn_worker(int(seed), float(t0), float(seconds))
            else:
                cpu_worker(int(which), int(seed), float(t0), float(seconds), int(max_busy))
        except KeyboardInterrupt:
            pass
        return 0
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--seconds", type=float, default=60.0, help="how long (bounded)")
    parser.add_argument("--max-busy", type=int, default=3, help="most busy processes at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--churn", action="store_true", help="add memory/file churn")
    opts = parser.parse_args(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the workers are stopped
    load = Load(opts.max_busy, opts.seed, opts.seconds, opts.churn)
    print(f"load for {opts.seconds:g} s: {load.describe()}", flush=True)
    with load:
        try:
            time.sleep(opts.seconds + 0.3)
        except KeyboardInterrupt:
            print("interrupted: workers stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
