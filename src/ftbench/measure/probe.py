"""Run one command and measure it: wall time, CPU time, peak RSS, exit status, timeout.

Peak RSS trap: on Linux a child's ``ru_maxrss`` starts at the high-water mark of the process
it was forked (or vforked/posix_spawned) from, so a Python harness that spawns ``/bin/true``
would read its own 15-200 MiB. The target is therefore forked from a tiny helper that reports
its child's rusage. Three backends, best first:

* ``native``: ``ftbench-probe``, compiled once from ``native/ftbench_probe.c`` with the system
  C compiler into the user cache, runs for the whole benchmark and forks every command from
  itself (a "zygote"); it times the target with CLOCK_MONOTONIC around fork/wait, so the
  per-sample cost is one fork+exec, as with hyperfine;
* ``gnu-time``: ``/usr/bin/time`` (GNU time) reports the target's rusage; wall time is taken
  by the harness around the helper, so it includes the helper's own start (~0.5 ms);
* ``direct``: the target is spawned from the harness; its peak RSS is exact only when above
  the harness's own RSS at spawn time, otherwise it is recorded as unknown below that floor.

``FTBENCH_PROBE=native|gnu-time|direct`` forces a backend.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ftbench.errors import SetupError

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
    source = resources.files("ftbench.measure").joinpath("native/ftbench_probe.c").read_bytes()
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
            # Static when the C library allows it: a static helper starts faster.
            for flags in (["-O2", "-static"], ["-O2"]):
                done = subprocess.run([compiler, *flags, "-o", str(out), str(src)],
                                      capture_output=True, timeout=60, check=False)
                if done.returncode == 0:
                    break
            else:
                return None
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


class ProbeError(SetupError):
    """The measuring helper misbehaved (died, or answered nonsense)."""


@dataclass(frozen=True)
class Job:
    """One command to measure: stdout and stderr are appended to ``log_path``."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    timeout_s: float | None = None


class _Zygote:
    """A running ``ftbench-probe`` (see the C file): one request and one reply line per
    command, requests may be queued, and it enforces timeouts itself."""

    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     close_fds=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.in_fd = self.proc.stdin.fileno()
        self.out_fd = self.proc.stdout.fileno()
        self.buffer = b""
        self.in_flight = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def send(self, fields: list[bytes]) -> None:
        payload = b"\0".join(fields) + b"\0"
        try:
            os.write(self.in_fd, struct.pack("=I", len(payload)) + payload)
        except OSError as exc:
            raise ProbeError(f"the measuring helper is gone ({exc.strerror})") from None

    def line(self, deadline: float | None) -> str | None:
        """The next reply line; None when ``deadline`` passed first."""
        while b"\n" not in self.buffer:
            if deadline is not None:
                ready, _, _ = select.select([self.out_fd], [], [],
                                            max(0.0, deadline - time.monotonic()))
                if not ready:
                    return None
            chunk = os.read(self.out_fd, 4096)
            if not chunk:
                raise ProbeError("the measuring helper exited unexpectedly")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def submit(self, job: Job) -> None:
        program = _resolve_program(job.argv[0], job.cwd, job.env)
        timeout_ms = max(1, round(job.timeout_s * 1000)) if job.timeout_s else 0
        self.send([str(timeout_ms).encode(), os.fsencode(str(job.cwd)),
                   os.fsencode(str(job.log_path)), os.fsencode(program),
                   str(len(job.argv)).encode(), *map(os.fsencode, job.argv),
                   str(len(job.env)).encode(),
                   *(os.fsencode(f"{k}={v}") for k, v in job.env.items())])
        self.in_flight += 1

    def collect(self) -> ProcessResult:
        reply = self.line(None)
        self.in_flight -= 1
        assert reply is not None
        if not reply.startswith("R "):
            raise ProbeError(f"the measuring helper failed: {reply[2:] or reply!r}")
        wall_ns, ut, st, rss, status, flag = (int(x) for x in reply[2:].split())
        if flag == 2:
            raise ProbeError("the measuring helper cancelled the command")
        if flag == 1:
            return ProcessResult(wall_ns / 1e9, ut / 1e6, st / 1e6, None, False, 0, -1, True)
        return ProcessResult(wall_ns / 1e9, ut / 1e6, st / 1e6, rss, True, 0,
                             _exit_code(status), False)

    def cancel(self) -> None:
        """Kill the running command's process group, drop the queued ones, collect every
        outstanding reply, then let the helper take requests again. A helper that does not
        answer in time is killed (the next request starts a new one)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        try:
            while self.in_flight:
                if self.line(deadline) is None:
                    raise ProbeError("the measuring helper did not stop")
                self.in_flight -= 1
            self.send([b"reset"])
        except ProbeError:
            self.proc.kill()
            self.proc.wait()


_zygote: _Zygote | None = None
_zygote_lock = threading.Lock()


def _get_zygote() -> _Zygote:
    global _zygote
    if _zygote is None or _zygote.proc.poll() is not None:
        path = native_probe()
        assert path is not None
        _zygote = _Zygote(path)
        atexit.register(_zygote.close)
    return _zygote


def _resolve_program(program: str, cwd: Path, env: dict[str, str]) -> str:
    if "/" in program:
        return program if os.path.isabs(program) else os.path.join(cwd, program)
    return shutil.which(program, path=env.get("PATH", os.defpath)) or program


def _run_native(job: Job) -> ProcessResult:
    with _zygote_lock:
        zygote = _get_zygote()
        zygote.submit(job)
        try:
            return zygote.collect()
        except BaseException:  # Ctrl-C: the helper kills the target's whole group
            zygote.cancel()
            raise


def run_many(jobs: Iterable[Job], *,
             depth: int = 2) -> Generator[ProcessResult, None, None]:
    """Measure ``jobs`` one after another, yielding each result in order.

    With the native probe, up to ``depth`` requests are queued in the helper, so the next
    command starts the moment the previous one ends, without waiting for this process to
    wake up: the per-sample cost of many short runs is one fork+exec. Stopping early (closing
    the generator, or Ctrl-C) kills the running command's group and cancels the queued ones.
    ``jobs`` is consumed lazily, one ahead; each job's log file must already exist.
    """
    if backend() != "native":
        for job in jobs:
            yield run_measured(job.argv, cwd=job.cwd, env=job.env, log_path=job.log_path,
                               timeout_s=job.timeout_s, header=None)
        return
    with _zygote_lock:
        zygote = _get_zygote()
        pending = iter(jobs)
        try:
            for job in itertools.islice(pending, depth):
                zygote.submit(job)
            while zygote.in_flight:
                result = zygote.collect()
                following = next(pending, None)
                if following is not None:
                    zygote.submit(following)
                yield result
        except BaseException:  # GeneratorExit (stopped early), Ctrl-C, or a helper error
            if zygote.in_flight:
                zygote.cancel()
            raise


def run_measured(argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path,
                 timeout_s: float | None = None, header: str | None = "") -> ProcessResult:
    """Run ``argv`` in its own session with stdout/stderr appended to ``log_path``.

    The log is truncated and starts with ``header``; ``header=None`` means the caller has
    already created it (see ``runner.LogFiles``). On timeout the whole process group is
    killed, so no grandchild survives into the next sample. Output goes straight to the log
    file, never through this process.
    """
    kind = backend()
    if header is not None:
        prepare_log(log_path, header)
    if kind == "native":
        return _run_native(Job(argv, cwd, env, log_path, timeout_s))
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        return _run_spawned(kind, argv, cwd, env, fd, timeout_s)
    finally:
        os.close(fd)


def prepare_log(log_path: Path, header: str) -> None:
    """Create (or truncate) a log file holding ``header``."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, header.encode(errors="replace"))
    finally:
        os.close(fd)


def _run_spawned(kind: str, argv: list[str], cwd: Path, env: dict[str, str], log_fd: int,
                 timeout_s: float | None) -> ProcessResult:
    """GNU time or a direct child of this process (the fallbacks)."""
    floor = _own_maxrss_kb() if kind == "direct" else 0
    # GNU time reports into a file, not a pipe: the target inherits every descriptor GNU time
    # holds, so a background grandchild (a build daemon) would keep a pipe's write end open
    # and reading it would block until that grandchild exits.
    read_fd, report = tempfile.mkstemp(prefix="ftbench-time-") if kind == "gnu-time" else (
        -1, "")
    try:
        if kind == "gnu-time":
            full = [GNU_TIME, "-f", _GNU_TIME_FORMAT, "-o", report, "--", *argv]
        else:
            full = list(argv)
        started = time.monotonic()
        deadline = started + timeout_s if timeout_s else None
        pid = _spawn(full, cwd=cwd, env=env, log_fd=log_fd, pass_fd=-1)
        try:
            waited = _wait(pid, deadline)
        except BaseException:
            _kill_group(pid)
            _wait(pid, None)
            raise
        timed_out = waited is None
        if waited is None:
            _kill_group(pid)
            waited = _wait(pid, None)
            assert waited is not None
        outer_wall = time.monotonic() - started
        status, usage = waited
        line = _read_all(read_fd) if read_fd >= 0 else ""
    finally:
        if read_fd >= 0:
            os.close(read_fd)
            os.unlink(report)
    if timed_out:
        return ProcessResult(outer_wall, usage.ru_utime, usage.ru_stime, None, False, floor, -1,
                             True)
    if kind == "gnu-time" and "ftbench " in line:
        last = line[line.rindex("ftbench "):].split()
        return ProcessResult(outer_wall, float(last[1]), float(last[2]), int(last[3]), True, 0,
                             _exit_code(status), False)
    # direct backend (or GNU time that died before reporting): the rusage read here starts
    # at the harness's own high-water mark, so it is only meaningful above that floor.
    rss = int(usage.ru_maxrss)
    floor = max(floor, _own_maxrss_kb())  # the child inherited at most our peak at fork
    exact = rss > floor
    return ProcessResult(outer_wall, usage.ru_utime, usage.ru_stime, rss if exact else None,
                         exact, floor, _exit_code(status), False)


def _read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def _spawn(argv: list[str], *, cwd: Path, env: dict[str, str], log_fd: int, pass_fd: int) -> int:
    # The pid is reaped with os.wait4 by the caller (for the rusage), not by Popen.
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log_fd,
                            stderr=log_fd, start_new_session=True,
                            pass_fds=(pass_fd,) if pass_fd >= 0 else ())
    proc.returncode = 0  # stop Popen.__del__ from reaping it behind the caller's back
    return proc.pid


def describe_backend() -> str:
    """One line for reports: how peak RSS and wall time were measured."""
    kind = backend()
    return {
        "native": "ftbench-probe (fork+wait4 from a small helper; exact peak RSS)",
        "gnu-time": f"{GNU_TIME} (target rusage; wall includes ~0.5 ms helper start)",
        "direct": f"direct spawn from {Path(sys.executable).name} (peak RSS only above the "
                  "harness's own RSS floor)",
    }[kind]
