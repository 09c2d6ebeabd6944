"""The fork server: runs as ``python -I -S -c "import _forkserve; _forkserve.main()"`` (its
directory appended to the path) for a whole benchmark run. Imported, not run as a script: a
script is compiled at every start, and the compiler's peak would stay in this process's peak
RSS, the floor of every reading.

Every measured command is started from this small interpreter rather than from the harness,
because a child's peak RSS (``ru_maxrss``) starts at what it inherited from the process that
started it: starting it here keeps that floor at this process's few MiB, not the harness's
tens or hundreds. Commands are started with ``posix_spawn`` (vfork and exec, as cheap as a
compiled launcher: ``benchmarks/overhead.py``), or with fork where posix_spawn cannot start a
new session. It uses only built-in modules (``_signal``, not ``signal``, which would pull in
``enum``), to stay small.

Protocol on stdin/stdout; a frame is a 4-byte little-endian length and a ``marshal`` payload.

* harness -> server: a batch ``(jobs, stop_on_failure)``, each job ``(timeout_s or 0.0, cwd,
  log, program, argv, env, header)`` (bytes; env a dict, shared by the jobs that use it;
  ``header`` appended to the log just before the command starts);
* harness -> server, while a batch runs: an empty frame cancels it (kills the running
  command's group, starts no further job); a stray one arriving between batches is ignored;
* server -> harness, per job run: ``(wall_ns, user_s, sys_s, ru_maxrss, wait status, flag,
  floor)``, flag 0 ran, 1 timed out, 2 cancelled; ``floor`` is this server's own peak RSS,
  the most a child can have inherited (both in the platform's ``ru_maxrss`` unit); then
  ``None``, the end of the batch. With ``stop_on_failure`` the batch ends after the first
  job that fails or times out.

A batch lets the samples of a phase run back to back, each started the moment the previous
one ends, without waiting for the harness to wake up in between (``benchmarks/overhead.py``:
the per-sample cost of timing ``/bin/true`` then comes close to ``hyperfine -N``'s). The
samples of a batch share one log, which the harness creates before it sends the batch; each
job's header line is appended here right before its command starts (appending to a file costs
far less than creating one, ``measure/logs.py``).

The command runs in a new session, in ``cwd``, reading /dev/null, its stdout+stderr appended
to the log; a command that cannot be started exits 127 with the reason in its log. The server
waits for it with ``select`` on a SIGCHLD wake-up pipe and on stdin, so a timeout, a cancel
frame or the harness going away (EOF) kill the child's whole process group with SIGKILL; no
grandchild of a killed command survives. Portable
POSIX only: no pidfd, no sigtimedwait.
"""

# ruff: noqa: SIM105 - try/except/pass, not contextlib.suppress: contextlib would import
# collections and functools into this deliberately small process.
from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stubs; `signal` would load enum
import marshal
import os
import select
import time

RAN, TIMED_OUT, CANCELLED = 0, 1, 2
_LOG_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW  # a log is never a link
#: Signals this process ignores that a command must not inherit ignored.
_DEFAULTED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGPIPE)
_SPAWN_SETSID = hasattr(os, "posix_spawn")
_SUBREAPER = False
Request = tuple[float, bytes, bytes, bytes, list[bytes], dict[bytes, bytes], bytes]
Batch = tuple[list[Request], bool]
Reply = tuple[int, float, float, int, int, int, int]


def _read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``; None at end of file."""
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _write_frame(fd: int, value: Reply | None) -> None:
    payload = marshal.dumps(value)
    data = memoryview(len(payload).to_bytes(4, "little") + payload)
    while data:
        data = data[os.write(fd, data) :]


#: The descriptors commands get: /dev/null for stdin (opened at start), each log (opened once
#: per batch: the samples of a batch share one, appended to); and the directory this process
#: is in. Fewer system calls per sample (``benchmarks/overhead.py``). Module state, not a
#: class: a class here raised this process's peak RSS, the floor of every reading, by ~80 KiB.
_NULL = [-1]
_LOGS: dict[bytes, int] = {}
_CWD = [b""]


def _log(log: bytes) -> int:
    fd = _LOGS.get(log)
    if fd is None:
        fd = _LOGS[log] = os.open(log, _LOG_FLAGS, 0o644)  # close-on-exec, as os.open makes it
    return fd


def _close_logs() -> None:
    for fd in _LOGS.values():
        os.close(fd)
    _LOGS.clear()


def _spawn(cwd: bytes, log: int, program: bytes, argv: list[bytes], env: dict[bytes, bytes]) -> int:
    """Start the command in a new session, stdin from /dev/null, stdout+stderr appended to
    the log (open as ``log``), in ``cwd``; its pid. ``posix_spawn`` (vfork and exec: as cheap
    as it gets), or fork where the platform's posix_spawn cannot start a session."""
    if cwd != _CWD[0]:
        os.chdir(cwd)  # this process is single-threaded and serves nothing else
        _CWD[0] = cwd
    if _NULL[0] < 0:
        _NULL[0] = os.open(os.devnull, os.O_RDONLY)
    if _SPAWN_SETSID:
        try:
            return os.posix_spawn(
                program,
                argv,
                env,
                setsid=True,
                setsigdef=_DEFAULTED,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, _NULL[0], 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                ],
            )
        except NotImplementedError:
            _disable_spawn()
    pid = os.fork()
    if pid == 0:
        _exec_child(_NULL[0], log, program, argv, env)
    return pid


def _disable_spawn() -> None:
    global _SPAWN_SETSID
    _SPAWN_SETSID = False


def _exec_child(
    null: int, log: int, program: bytes, argv: list[bytes], env: dict[bytes, bytes]
) -> None:
    """In a forked child: set up, then exec; never returns."""
    code = 127
    try:
        os.setsid()
        for signum in _DEFAULTED:
            _signal.signal(signum, _signal.SIG_DFL)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.execve(program, argv, env)
    except BaseException as exc:
        try:
            os.write(2, b"ftbench: cannot run " + program + b": " + str(exc).encode() + b"\n")
        finally:
            os._exit(code)


def _cannot_start(log: int | None, program: bytes, exc: OSError) -> None:
    """What the command's own log says when it could not be started (nothing when the log
    itself could not be opened)."""
    if log is not None:
        try:
            os.write(log, b"ftbench: cannot run " + program + b": " + str(exc).encode() + b"\n")
        except OSError:
            pass


def _own_peak() -> int:
    """This process's own peak RSS, the most a command started from it can inherit (in the
    platform's ``ru_maxrss`` unit). On Linux, VmHWM: getrusage would also count the peak of
    the harness this process was started from, which a command does not inherit."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    import resource  # only where /proc is missing: every module loaded raises the floor

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # os.kill: the child may not lead its group yet
        try:
            kill(pid, 9)
        except OSError:
            pass


def _become_subreaper() -> bool:
    """Linux: make this process the child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), so
    every descendant of a command that outlives its parent (``cmd &``, ``setsid``, a daemon)
    is re-parented here rather than to init, where :func:`_reap_tree` finds it. Through
    ``_ctypes`` itself (``ctypes`` would add ~0.3 MiB to the RSS floor; ``_ctypes`` ~0.2)."""
    try:
        import _ctypes

        class _Int(_ctypes._SimpleCData):  # type: ignore[type-arg]
            _type_ = "i"

        class _Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL
            _restype_ = _Int

        libc = _ctypes.dlopen(None, 2)  # type: ignore[arg-type]  # None: the program itself
        prctl = _Function(_ctypes.dlsym(libc, "prctl"))
        return bool(prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER = 36
    except Exception:  # not Linux, no prctl, no _ctypes: process groups only
        return False


def _children() -> list[int]:
    """This process's children (it is single-threaded: its pid is its only task)."""
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:  # no CONFIG_PROC_CHILDREN: read every process's parent
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat", "rb") as fh:
                        if int(fh.read().rsplit(b")", 1)[1].split()[1]) == pid:
                            found.append(int(name))
                except (OSError, ValueError, IndexError):
                    pass
        return found


def _reap_tree(pid: int) -> None:
    """After a command ended (its own process reaped): kill what is left of its group, and,
    as the subreaper, every descendant re-parented here; reap them all. Descendants that
    leave the group *and* whose parent is still alive are re-parented (then killed) as soon as
    that parent is killed, hence the rounds."""
    try:
        os.killpg(pid, 9)
    except OSError:
        pass
    if not _SUBREAPER:
        return
    try:  # the common case, one system call: no descendant was left (nothing to reap)
        if os.waitpid(-1, os.WNOHANG) == (0, 0):
            pass  # some still running: find them below
    except ChildProcessError:
        return
    deadline = time.monotonic() + 5.0  # SIGKILL is not instant in uninterruptible sleep
    while time.monotonic() < deadline:
        left = set(_children())
        if not left:
            return
        for child in left:
            _kill_group(child)
        while left and time.monotonic() < deadline:
            try:
                got = os.waitpid(-1, os.WNOHANG)[0]
            except ChildProcessError:
                return
            if got:
                left.discard(got)
            else:
                time.sleep(0.001)


def _run(request: Request, wake: int, floor: int) -> Reply | None:
    """Run one request; None when the harness went away (the command is killed)."""
    timeout_s, cwd, log_path, program, argv, env, header = request
    log: int | None = None
    started = time.monotonic_ns()
    try:
        log = _log(log_path)
        if header:
            os.write(log, header)
        started = time.monotonic_ns()
        pid = _spawn(cwd, log, program, argv, env)
    except OSError as exc:  # no such program or directory, not executable, no log, ...
        _cannot_start(log, program, exc)
        return (time.monotonic_ns() - started, 0.0, 0.0, 0, 127 << 8, RAN, floor)
    deadline = started + int(timeout_s * 1e9) if timeout_s > 0 else None
    flag, harness_gone, killed = RAN, False, False
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            break
        if killed:
            watched, wait_s = [wake], None
        else:
            watched = [wake, 0]
            wait_s = None if deadline is None else max(0.0, (deadline - time.monotonic_ns()) / 1e9)
        ready = select.select(watched, [], [], wait_s)[0]
        if wake in ready:
            try:
                os.read(wake, 4096)
            except BlockingIOError:
                pass
        if killed:
            continue
        if not ready:
            flag = TIMED_OUT
        elif 0 in ready:
            harness_gone = _read_exact(0, 4) is None  # else a cancel frame (length 0)
            flag = CANCELLED
        else:
            continue
        _kill_group(pid)
        killed = True
    finished = time.monotonic_ns()
    _reap_tree(pid)  # after the timing: the command's leftovers are not measured
    if harness_gone:
        return None
    return (
        finished - started,
        usage.ru_utime,
        usage.ru_stime,
        usage.ru_maxrss,
        status,
        flag,
        floor,
    )


def _cancelled() -> bool | None:
    """Whether a cancel frame is waiting on stdin (consumed); None when the harness is gone."""
    if not select.select([0], [], [], 0)[0]:
        return False
    return None if _read_exact(0, 4) is None else True


def _batch(request: Batch, wake: int) -> bool:
    """Run a batch's jobs in order, replying after each; stop after a failing one when asked,
    or when cancelled; then the end frame. False when the harness went away."""
    jobs, stop_on_failure = request
    floor = _own_peak()  # this process hardly grows while it runs a batch
    try:
        for job in jobs:
            cancelled = _cancelled()
            if cancelled is None:
                return False
            if cancelled:
                break
            reply = _run(job, wake, floor)
            if reply is None:
                return False
            _write_frame(1, reply)
            status, flag = reply[4], reply[5]
            if flag == CANCELLED or (stop_on_failure and (flag != RAN or status != 0)):
                break
    finally:
        _close_logs()  # before the end frame: the harness reads the logs after it
    _write_frame(1, None)
    return True


def main() -> None:
    global _SUBREAPER
    _SUBREAPER = _become_subreaper()
    # Ctrl-C, SIGTERM, SIGHUP sent to the whole process group: the harness decides (it tells
    # this server to stop the sample, or goes away: end of file on stdin does the same)
    for signum in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP):
        _signal.signal(signum, _signal.SIG_IGN)
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)  # harness gone while replying: exit
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    wake, wake_w = os.pipe()  # close-on-exec, like every descriptor os.pipe makes
    os.set_blocking(wake, False)
    os.set_blocking(wake_w, False)
    _signal.set_wakeup_fd(wake_w)
    _signal.signal(_signal.SIGCHLD, lambda signum, frame: None)
    while True:
        head = _read_exact(0, 4)
        if head is None:
            return
        size = int.from_bytes(head, "little")
        if size == 0:
            continue  # a cancel that arrived after its command had finished
        payload = _read_exact(0, size)
        if payload is None:
            return
        if not _batch(marshal.loads(payload), wake):
            return
