"""Run one command and measure it: wall time, CPU time, peak RSS, exit status, timeout.

Peak RSS trap: a child's ``ru_maxrss`` starts at what it inherited from the process it was
forked (or vforked/posix_spawned) from, so a Python harness that spawns ``/bin/true`` would
read its own 15-200 MiB. Two backends (see docs/measurement.md for the figures):

* ``forkserver`` (default): a tiny isolated interpreter (``_forkserve.py``) started once per
  run forks every command; the inherited floor is its few MiB, and it times the command
  with the monotonic clock around fork/wait;
* ``direct`` (``FTBENCH_PROBE=direct``): the command is spawned from the harness; its peak
  RSS is known only when above the harness's own peak (else None, ``rss_exact`` False).

Linux and macOS (``ru_maxrss`` in bytes there, converted to KiB); elsewhere a SetupError.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Sequence
from pathlib import Path

from ftbench.errors import SetupError
from ftbench.measure.executor import RSS_SCOPE, Executor, Job, ProcessResult
from ftbench.redact import target_environ

__all__ = [
    "RSS_SCOPE",
    "DirectSpawn",
    "Executor",
    "ForkServer",
    "Job",
    "ProbeError",
    "ProcessResult",
    "default_executor",
]

BACKENDS = ("forkserver", "direct")
_SERVER_DIR = Path(__file__).parent  # where _forkserve.py is
# The server is imported, not run as a script: a script is compiled from source at every
# start, and the compiler's peak (~0.85 MiB) stayed in the server's peak RSS, the floor of
# every reading (10.2 MiB -> 9.4 MiB with Python 3.11). Its directory goes last on the path,
# so that no module beside it can shadow a standard one.
_SERVER_MAIN = "import sys; sys.path.append(sys.argv[1]); import _forkserve; _forkserve.main()"
_TIMED_OUT, _CANCELLED = 1, 2
_GONE = object()  # the server's output ended (or did not come in time)
_CANCEL_GRACE_S = 10.0
# A command's peak RSS can exceed the server's own peak a little before it execs (the vfork
# child's stack, or a forked child's first writes): seen ~40 KiB with posix_spawn.
_EXEC_ALLOWANCE_KB = 512


class ProbeError(SetupError):
    """The fork server misbehaved (died mid-command, or did not stop when told)."""


def default_executor() -> Executor:
    """The executor ``FTBENCH_PROBE`` asks for (``forkserver`` unless set)."""
    if sys.platform == "win32" or not hasattr(os, "fork"):
        raise SetupError(
            f"ftbench measures commands on Linux and macOS only, not on "
            f"{sys.platform} (it needs fork and wait4)"
        )
    try:
        import resource  # noqa: F401 - the platform check itself
    except ImportError:
        raise SetupError(f"ftbench needs the resource module, missing on {sys.platform}") from None
    choice = os.environ.get("FTBENCH_PROBE") or "forkserver"
    if choice == "forkserver":
        return ForkServer()
    if choice == "direct":
        return DirectSpawn()
    raise SetupError(f"FTBENCH_PROBE={choice} is not a probe backend (use {' or '.join(BACKENDS)})")


def _to_kib(maxrss: int) -> int:
    """``ru_maxrss`` in KiB: Linux (and the BSDs) count KiB, macOS bytes."""
    return maxrss // 1024 if sys.platform == "darwin" else maxrss


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def _kill_group(pid: int) -> None:
    """Kill the whole process group (the command and any grandchildren)."""
    for kill in (os.killpg, os.kill):  # os.kill: the child may not lead its group yet
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _resolve_program(program: str, cwd: Path, env: dict[str, str]) -> str:
    if "/" in program:
        return program if os.path.isabs(program) else os.path.join(cwd, program)
    return shutil.which(program, path=env.get("PATH", os.defpath)) or program


class ForkServer:
    """Measures jobs through ``_forkserve.py``, started on first use and again whenever it
    has gone away (killed, crashed, or closed)."""

    name = "forkserver"

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        # The runner hands over the same environment dict for every sample of a step and
        # phase: encode it once (a hundred variables cost ~0.1 ms a sample).
        self._env: tuple[dict[str, str], dict[bytes, bytes]] | None = None

    def _encoded_env(self, env: dict[str, str]) -> dict[bytes, bytes]:
        if self._env is None or self._env[0] is not env:
            self._env = (env, {os.fsencode(k): os.fsencode(v) for k, v in env.items()})
        return self._env[1]

    def _server(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            if not sys.executable:
                raise SetupError("cannot start the fork server: no Python executable known")
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _SERVER_MAIN, str(_SERVER_DIR)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
                close_fds=True,
                env=target_environ(),  # its /proc/PID/environ is readable by the commands
            )
        return self._proc

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=_CANCEL_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def _send(self, proc: subprocess.Popen[bytes], payload: bytes) -> None:
        assert proc.stdin is not None
        data = memoryview(len(payload).to_bytes(4, "little") + payload)
        while data:
            data = data[os.write(proc.stdin.fileno(), data) :]

    def _receive(self, proc: subprocess.Popen[bytes], deadline: float | None) -> object:
        """The next reply (``None`` ends a batch); ``_GONE`` at end of file or when
        ``deadline`` (monotonic) passed."""
        assert proc.stdout is not None
        fd, data, size = proc.stdout.fileno(), b"", 4
        while len(data) < size:
            if (
                deadline is not None
                and not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]
            ):
                return _GONE
            chunk = os.read(fd, size - len(data))
            if not chunk:
                return _GONE
            data += chunk
            if size == 4 and len(data) == 4:
                size += int.from_bytes(data, "little")
        return marshal.loads(data[4:])

    def _request(self, jobs: Sequence[Job], stop_on_failure: bool) -> bytes:
        programs: dict[tuple[str, str], bytes] = {}
        encoded = []
        for job in jobs:
            where = (job.argv[0], job.env.get("PATH", ""))
            if where not in programs:
                programs[where] = os.fsencode(_resolve_program(job.argv[0], job.cwd, job.env))
            encoded.append(
                (
                    float(job.timeout_s or 0.0),
                    os.fsencode(job.cwd),
                    os.fsencode(job.log_path),
                    programs[where],
                    [os.fsencode(a) for a in job.argv],
                    self._encoded_env(job.env),
                    job.header,
                )
            )
        return marshal.dumps((encoded, stop_on_failure))  # a shared env is written once

    def run(
        self, jobs: Sequence[Job], *, stop_on_failure: bool
    ) -> Generator[ProcessResult, None, None]:
        request = self._request(jobs, stop_on_failure)
        proc = self._server()
        try:
            self._send(proc, request)
        except BrokenPipeError:  # the server went away since the last batch: start a new one
            self.close()
            proc = self._server()
            self._send(proc, request)
        ended = False
        try:
            for job in jobs:
                reply = self._receive(proc, None)
                if reply is None:
                    ended = True
                    return
                yield self._result(job, reply)
            ended = self._receive(proc, None) is None
        finally:  # Ctrl-C, or the caller stopped early: the server kills the running group
            if not ended:
                self._cancel(proc)

    def _result(self, job: Job, reply: object) -> ProcessResult:
        if not isinstance(reply, tuple):
            self.close()
            raise ProbeError(
                f"the fork server died while running {job.argv[0]} "
                "(the next command starts a new one)"
            )
        wall_ns, user_s, sys_s, maxrss, status, flag, floor = reply
        if flag == _CANCELLED:
            raise ProbeError(f"the fork server cancelled {job.argv[0]}")
        floor_kb = _to_kib(floor) + _EXEC_ALLOWANCE_KB
        if flag == _TIMED_OUT:
            return ProcessResult(wall_ns / 1e9, user_s, sys_s, None, False, floor_kb, -1, True)
        rss_kb = _to_kib(maxrss)
        return ProcessResult(
            wall_ns / 1e9,
            user_s,
            sys_s,
            rss_kb,
            rss_kb > floor_kb,
            floor_kb,
            _exit_code(status),
            False,
        )

    def _cancel(self, proc: subprocess.Popen[bytes]) -> None:
        """Have the server stop the batch (killing the running command's group) and read its
        remaining replies; a server that does not answer in time is killed (the next batch
        starts a new one)."""
        deadline = time.monotonic() + _CANCEL_GRACE_S
        try:
            self._send(proc, b"")
            while (reply := self._receive(proc, deadline)) is not None and reply is not _GONE:
                pass
            answered = reply is None
        except OSError:
            answered = False
        if not answered:
            proc.kill()
            self.close()


class DirectSpawn:
    """Spawns jobs from the harness itself: no helper process, but a command's peak RSS is
    known only above the harness's own (which the child inherits)."""

    name = "direct"

    def close(self) -> None:
        """Nothing to release."""

    def run(
        self, jobs: Sequence[Job], *, stop_on_failure: bool
    ) -> Generator[ProcessResult, None, None]:
        for job in jobs:
            measured = self._run(job)
            yield measured
            if stop_on_failure and not measured.ok:
                return

    def _run(self, job: Job) -> ProcessResult:
        import resource

        def own_peak_kb() -> int:
            return _to_kib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

        floor = own_peak_kb()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW  # a log is never a link
        log_fd = os.open(job.log_path, flags, 0o644)
        try:
            if job.header:
                os.write(log_fd, job.header)
            started = time.monotonic()
            proc = subprocess.Popen(
                job.argv,
                cwd=job.cwd,
                env=job.env,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        proc.returncode = 0  # reaped below with os.wait4 (for its rusage), not by Popen
        timed_out = _wait_exit(proc.pid, job.timeout_s)
        wall = time.monotonic() - started
        _kill_group(proc.pid)  # what it left in its group (`cmd &`); the zombie holds the id
        _, status, usage = os.wait4(proc.pid, 0)
        floor = max(floor, own_peak_kb())  # the child inherited at most our peak
        if timed_out:
            return ProcessResult(wall, usage.ru_utime, usage.ru_stime, None, False, floor, -1, True)
        rss = _to_kib(usage.ru_maxrss)
        exact = rss > floor
        return ProcessResult(
            wall,
            usage.ru_utime,
            usage.ru_stime,
            rss if exact else None,
            exact,
            floor,
            _exit_code(status),
            False,
        )


def _wait_exit(pid: int, timeout_s: float | None) -> bool:
    """Wait until ``pid`` exits, leaving it unreaped; whether it was killed for taking longer
    than ``timeout_s``. A timer thread kills the group; the zombie keeps the pid from being
    reused until the timer can no longer fire. Ctrl-C kills the group too, then propagates."""
    lock = threading.Lock()
    state = {"exited": False, "killed": False}

    def expire() -> None:
        with lock:
            if not state["exited"]:
                state["killed"] = True
                _kill_group(pid)

    timer = threading.Timer(timeout_s, expire) if timeout_s else None
    if timer is not None:
        timer.start()
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    except BaseException:
        _kill_group(pid)
        os.wait4(pid, 0)
        raise
    finally:
        with lock:
            state["exited"] = True
        if timer is not None:
            timer.cancel()
    return state["killed"]
