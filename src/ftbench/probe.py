"""Run one command and measure it: wall time, CPU time, peak RSS, exit status, timeout.

Peak RSS trap: on Linux a child's ``ru_maxrss`` starts at the high-water mark of the process
it was forked (or vforked/posix_spawned) from, so a Python harness that spawns ``/bin/true``
would read its own 15-200 MiB. The target is therefore forked from a tiny helper that reports
its child's rusage. Three backends, best first:

* ``native``: ``ftbench-probe`` compiled once from ``native/ftbench_probe.c`` with the system C
  compiler into the user cache; it also times the target with CLOCK_MONOTONIC around
  fork/wait, so helper start-up is not counted in the wall time;
* ``gnu-time``: ``/usr/bin/time`` (GNU time) reports the target's rusage; wall time is taken
  by the harness around the helper, so it includes the helper's own start (~0.5 ms);
* ``direct``: the target is spawned from the harness; its peak RSS is exact only when above
  the harness's own RSS at spawn time, otherwise it is recorded as unknown below that floor.

``FTBENCH_PROBE=native|gnu-time|direct`` forces a backend.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

GNU_TIME = "/usr/bin/time"
_GNU_TIME_FORMAT = "ftbench %U %S %M %x"


@dataclass(frozen=True)
class ProcessResult:
    """What one run of one command cost."""

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kb: int | None  # None when unknown (below ``rss_floor_kb``)
    rss_exact: bool
    rss_floor_kb: int
    exit_code: int  # 128+N when killed by signal N; -1 when timed out
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ftbench"


@cache
def native_probe() -> str | None:
    """Path of the compiled helper, building it on first use; None when no compiler works."""
    source = resources.files("ftbench").joinpath("native/ftbench_probe.c").read_bytes()
    tag = hashlib.sha256(source + os.uname().machine.encode()).hexdigest()[:12]
    target = _cache_dir() / f"ftbench-probe-{tag}"
    if os.access(target, os.X_OK):
        return str(target)
    compiler = next((c for c in (os.environ.get("CC"), "cc", "gcc", "clang") if c and
                     shutil.which(c)), None)
    if compiler is None:
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            src = Path(tmp) / "ftbench_probe.c"
            src.write_bytes(source)
            out = Path(tmp) / "probe"
            subprocess.run([compiler, "-O2", "-o", str(out), str(src)], check=True,
                           capture_output=True, timeout=60)
            os.replace(out, target)
    except (OSError, subprocess.SubprocessError):
        return None
    return str(target)


def backend() -> str:
    """The backend in use: ``native``, ``gnu-time`` or ``direct`` (see the module docstring)."""
    forced = os.environ.get("FTBENCH_PROBE", "")
    if forced in {"gnu-time", "direct"}:
        return forced
    if native_probe() is not None:
        return "native"
    if forced != "native" and os.access(GNU_TIME, os.X_OK):
        return "gnu-time"
    return "direct"


def _own_maxrss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def _wait(pid: int, deadline: float | None) -> tuple[int, resource.struct_rusage] | None:
    """wait4 ``pid``; None when ``deadline`` (monotonic) passed first."""
    if deadline is not None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = -1
        if fd >= 0:
            try:
                remaining = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([fd], [], [], remaining)
            finally:
                os.close(fd)
            if not ready:
                return None
        else:
            while True:
                got, status, usage = os.wait4(pid, os.WNOHANG)
                if got:
                    return status, usage
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.002)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            return status, usage
        except InterruptedError:  # pragma: no cover - PEP 475 retries already
            continue


def _kill_group(pid: int) -> None:
    """Kill the whole process group (the target and any grandchildren)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_measured(argv: list[str], *, cwd: Path, env: dict[str, str], log_fd: int,
                 timeout_s: float | None = None) -> ProcessResult:
    """Run ``argv`` in its own session with stdout/stderr on ``log_fd``, and measure it.

    On timeout the whole process group is killed, so no grandchild survives into the next
    sample. Output goes straight to the log file descriptor, never through this process.
    """
    kind = backend()
    floor = _own_maxrss_kb() if kind == "direct" else 0
    read_fd, write_fd = os.pipe() if kind != "direct" else (-1, -1)
    try:
        if kind == "native":
            probe = native_probe()
            assert probe is not None
            full = [probe, str(write_fd), str(cwd), *argv]
        elif kind == "gnu-time":
            full = [GNU_TIME, "-f", _GNU_TIME_FORMAT, "-o", f"/dev/fd/{write_fd}", "--", *argv]
        else:
            full = list(argv)
        started = time.monotonic()
        deadline = started + timeout_s if timeout_s else None
        pid = _spawn(kind, full, cwd=cwd, env=env, log_fd=log_fd, pass_fd=write_fd)
        if write_fd >= 0:
            os.close(write_fd)
            write_fd = -1
        waited = _wait(pid, deadline)
        timed_out = waited is None
        if waited is None:
            _kill_group(pid)
            waited = _wait(pid, None)
            assert waited is not None
        outer_wall = time.monotonic() - started
        status, usage = waited
        line = _read_all(read_fd) if read_fd >= 0 else ""
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
    if timed_out:
        return ProcessResult(outer_wall, usage.ru_utime, usage.ru_stime, None, False, floor, -1,
                             True)
    if kind == "native" and line.strip():
        wall_ns, ut, st, rss, child_status = (int(x) for x in line.split())
        return ProcessResult(wall_ns / 1e9, ut / 1e6, st / 1e6, rss, True, 0,
                             _exit_code(child_status), False)
    if kind == "gnu-time" and "ftbench " in line:
        last = line[line.rindex("ftbench "):].split()
        return ProcessResult(outer_wall, float(last[1]), float(last[2]), int(last[3]), True, 0,
                             _exit_code(status), False)
    # direct backend (or a helper that died before reporting): the rusage read here starts at
    # the harness's own high-water mark, so it is only meaningful above that floor.
    rss = int(usage.ru_maxrss)
    floor = floor or _own_maxrss_kb()
    exact = rss > floor
    return ProcessResult(outer_wall, usage.ru_utime, usage.ru_stime, rss if exact else None,
                         exact, floor, _exit_code(status), False)


def _read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def _spawn(kind: str, argv: list[str], *, cwd: Path, env: dict[str, str], log_fd: int,
           pass_fd: int) -> int:
    actions: list[tuple[int, ...] | tuple[int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, log_fd, 1),
        (os.POSIX_SPAWN_DUP2, log_fd, 2),
    ]
    if pass_fd >= 0:
        os.set_inheritable(pass_fd, True)
    if kind == "native":  # the helper changes directory itself: the fast path
        return os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True)
    # GNU time and direct runs need a working directory: Popen sets it (posix_spawn cannot
    # on Python 3.11). The pid is reaped with os.wait4 by the caller, not by Popen.
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log_fd,
                            stderr=log_fd, start_new_session=True,
                            pass_fds=(pass_fd,) if pass_fd >= 0 else ())
    pid = proc.pid
    proc.returncode = 0  # the caller reaps it; stop Popen.__del__ from waiting again
    return pid


def describe_backend() -> str:
    """One line for reports: how peak RSS and wall time were measured."""
    kind = backend()
    return {
        "native": "ftbench-probe (fork+wait4 from a small helper; exact peak RSS)",
        "gnu-time": f"{GNU_TIME} (target rusage; wall includes ~0.5 ms helper start)",
        "direct": f"direct spawn from {Path(sys.executable).name} (peak RSS only above the "
                  "harness's own RSS floor)",
    }[kind]
