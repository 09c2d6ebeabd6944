"""One deadline for all the S3 work of one command, and a store that stops answering is
given up on at once.

botocore bounds each attempt (``S3_CONNECT_TIMEOUT``, ``S3_READ_TIMEOUT``, ``S3_MAX_ATTEMPTS``)
but not a command: a hung endpoint cost every command minutes (issue 9). Here:

* :func:`bounded` runs one S3 call on a helper thread and waits at most until the deadline;
  past it the call is abandoned (its daemon thread ends with botocore's own timeout, or with
  the process) and a ``timeout`` :class:`~ftbench.archive.s3.S3Error` is raised;
* the deadline is :class:`Budget`'s: ``S3_TOTAL_TIMEOUT`` seconds from the first S3 call of
  the command (the CLI opens one budget per command with :func:`command_budget`; without one,
  e.g. through the Python API, each call gets ``S3_TOTAL_TIMEOUT`` of its own);
* a call that timed out or could not connect trips the budget: every later call of the same
  command fails at once with the same reason, so a hung endpoint costs one wait, not one per
  request (the judge then reads the local archive alone, the upload is left pending).
"""

from __future__ import annotations

import contextlib
import copy
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Error kinds after which the endpoint is given up on for the rest of the command.
TRIPPING_KINDS = frozenset({"timeout", "connection"})


class Budget:
    """The time left for S3 in one command, and whether the endpoint was given up on."""

    def __init__(self, total_s: float | None = None) -> None:
        self.total_s = total_s
        self.deadline: float | None = None
        self.down: BaseException | None = None
        self._lock = threading.Lock()

    def remaining(self, total_s: float) -> float:
        """Seconds left; the clock starts at the first call."""
        with self._lock:
            if self.deadline is None:
                self.deadline = time.monotonic() + (self.total_s or total_s)
            return self.deadline - time.monotonic()

    def trip(self, error: BaseException) -> None:
        with self._lock:
            if self.down is None:
                self.down = error


_command: Budget | None = None

# Calls run on daemon threads kept for reuse (a new thread per call cost ~0.3 ms here): a
# call abandoned at the deadline keeps its thread until botocore gives up, and never holds up
# the process's exit (a ThreadPoolExecutor's threads would).
_calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_idle = 0
_idle_lock = threading.Lock()


def _serve() -> None:
    global _idle
    while True:
        _calls.get()()
        with _idle_lock:
            _idle += 1


def _submit(work: Callable[[], None]) -> None:
    global _idle
    with _idle_lock:
        start = _idle == 0
        if not start:
            _idle -= 1
    _calls.put(work)
    if start:
        threading.Thread(target=_serve, name="ftbench-s3-call", daemon=True).start()


@contextlib.contextmanager
def command_budget(total_s: float | None = None) -> Iterator[Budget]:
    """Every S3 call made within the block shares one budget (the CLI: one per command)."""
    global _command
    previous, _command = _command, Budget(total_s)
    try:
        yield _command
    finally:
        _command = previous


def current() -> Budget | None:
    return _command


def bounded(
    call: Callable[[], T],
    total_s: float,
    on_timeout: Callable[[float], BaseException],
    kind_of: Callable[[BaseException], str | None],
) -> T:
    """``call()``, waiting no longer than the budget allows.

    ``on_timeout(seconds)`` makes the error raised when the budget runs out; ``kind_of``
    tells which errors trip the budget (see :data:`TRIPPING_KINDS`).
    """
    budget = _command or Budget(total_s)
    if budget.down is not None:
        raise copy.copy(budget.down)  # a copy per raise: threads may raise it at once
    left = budget.remaining(total_s)
    if left <= 0:
        error = on_timeout(budget.total_s or total_s)
        budget.trip(error)
        raise error
    outcome: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    _submit(work)
    if not done.wait(left):
        error = on_timeout(budget.total_s or total_s)
        budget.trip(error)
        raise error
    if "error" in outcome:
        exc = outcome["error"]
        assert isinstance(exc, BaseException)
        if kind_of(exc) in TRIPPING_KINDS:
            budget.trip(exc)
        raise exc
    return outcome["value"]  # type: ignore[return-value]
