"""The fork server: runs as ``python -I -S _forkserve.py`` for a whole benchmark run.

Every measured command is forked from this small interpreter rather than from the harness,
because a child's peak RSS (``ru_maxrss``) starts at what it inherited at fork: forking from
here keeps that floor at this process's few MiB, not the harness's tens or hundreds. It uses
only built-in modules (``_signal``, not ``signal``, which would pull in ``enum``), to stay small.

Protocol on stdin/stdout; a frame is a 4-byte little-endian length and a ``marshal`` payload.

* harness -> server: ``(timeout_s or 0.0, cwd, log, program, argv, env)`` (bytes; env a dict);
* harness -> server, while a command runs: an empty frame cancels it (kills its group);
  a stray one arriving between commands is ignored;
* server -> harness, per request: ``(wall_ns, user_s, sys_s, ru_maxrss, wait status, flag,
  floor)``, flag 0 ran, 1 timed out, 2 cancelled; ``floor`` is this server's own peak RSS,
  the most a child can have inherited (both in the platform's ``ru_maxrss`` unit).

The child starts a new session, reads /dev/null, appends stdout+stderr to the log, enters
cwd and execs the program. The server waits for it with ``select`` on a SIGCHLD wake-up pipe
and on stdin, so a timeout, a cancel frame or the harness going away (EOF) kill the child's
whole process group with SIGKILL; no grandchild of a killed command survives. Portable
POSIX only: no pidfd, no sigtimedwait.
"""

# ruff: noqa: SIM105 - try/except/pass, not contextlib.suppress: contextlib would import
# collections and functools into this deliberately small process.
from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stubs; `signal` would load enum
import marshal
import os
import resource
import select
import time

RAN, TIMED_OUT, CANCELLED = 0, 1, 2
Request = tuple[float, bytes, bytes, bytes, list[bytes], dict[bytes, bytes]]
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


def _write_frame(fd: int, value: Reply) -> None:
    payload = marshal.dumps(value)
    data = memoryview(len(payload).to_bytes(4, "little") + payload)
    while data:
        data = data[os.write(fd, data):]


def _child(cwd: bytes, log: bytes, program: bytes, argv: list[bytes],
           env: dict[bytes, bytes], floor_w: int) -> None:
    """In the forked child: set up, then exec; never returns."""
    code, what = 126, b"open the log " + log
    try:
        os.setsid()
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
        out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        what = b"enter " + cwd
        os.chdir(cwd)
        code, what = 127, b"run " + program
        os.write(floor_w, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss.to_bytes(8, "little"))
        os.execve(program, argv, env)
    except BaseException as exc:
        try:
            os.write(2, b"ftbench: cannot " + what + b": " + str(exc).encode() + b"\n")
        finally:
            os._exit(code)


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # os.kill: the child may not lead its group yet
        try:
            kill(pid, 9)
        except OSError:
            pass


def _run(request: Request, wake: int, floor_r: int, floor_w: int) -> Reply | None:
    """Run one request; None when the harness went away (the command is killed)."""
    timeout_s, cwd, log, program, argv, env = request
    started = time.monotonic_ns()
    pid = os.fork()
    if pid == 0:
        _child(cwd, log, program, argv, env, floor_w)
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
            wait_s = None if deadline is None else max(0.0, (deadline - time.monotonic_ns())
                                                       / 1e9)
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
    if harness_gone:
        return None
    try:
        floor = int.from_bytes(os.read(floor_r, 4096)[-8:], "little")
    except BlockingIOError:  # the child failed before exec
        floor = 0
    return (finished - started, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, status, flag,
            floor)


def main() -> None:
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # Ctrl-C: the harness decides
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)  # harness gone while replying: exit
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    wake, wake_w = os.pipe()  # close-on-exec, like every descriptor os.pipe makes
    os.set_blocking(wake, False)
    os.set_blocking(wake_w, False)
    _signal.set_wakeup_fd(wake_w)
    _signal.signal(_signal.SIGCHLD, lambda signum, frame: None)
    floor_r, floor_w = os.pipe()
    os.set_blocking(floor_r, False)
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
        reply = _run(marshal.loads(payload), wake, floor_r, floor_w)
        if reply is None:
            return
        _write_frame(1, reply)


if __name__ == "__main__":
    main()
