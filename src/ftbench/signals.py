"""SIGTERM and SIGHUP end a run the way Ctrl-C does: what was measured is written and archived.

:func:`handle_signals` (installed by the CLI for one command) turns SIGINT, SIGTERM and SIGHUP
into :class:`Interrupted`, a :class:`KeyboardInterrupt` carrying the signal, raised in the main
thread wherever it is. Every place that survives Ctrl-C (the runner, the pipeline's judge,
the executors' clean-up) therefore survives the other two alike, and the command exits
``128 + signal`` (130, 143, 129). :func:`critical` holds a signal back during a short write
(the local archive, a pending-upload marker) and raises it right after, so a report is never
left half archived.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from ftbench.errors import FtbenchError

#: The signals a run ends on, cleanly.
HANDLED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """A signal asked ftbench to stop; :attr:`exit_code` is ``128 + signum``."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


_state = threading.local()
_held: list[int] = []


def _deferring() -> bool:
    return bool(getattr(_state, "depth", 0))


def _handler(signum: int, frame: FrameType | None) -> None:
    del frame
    if _deferring():
        _held.append(signum)
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM/SIGHUP raise :class:`Interrupted` in the main thread
    (elsewhere, or outside the main thread, nothing changes); the previous handlers are put
    back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in HANDLED:
        old = signal.getsignal(signum)
        if old is signal.SIG_IGN:  # e.g. nohup: an ignored SIGHUP stays ignored
            continue
        previous[signum] = old
        signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Hold signals back for a short write; one that arrived meanwhile is raised at the end."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
        if not _state.depth and _held and threading.current_thread() is threading.main_thread():
            signum = _held[0]
            _held.clear()
            raise Interrupted(signum)


def interrupted_error(exc: KeyboardInterrupt) -> FtbenchError:
    """The error a run ends with after ``exc``: ``interrupted`` (and the signal unless it was
    Ctrl-C), exit ``128 + signal``."""
    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    name = signal.Signals(signum).name
    what = "interrupted" if signum == signal.SIGINT else f"interrupted by {name}"
    return FtbenchError(what, exit_code=128 + signum)


def exit_code(exc: KeyboardInterrupt) -> int:
    return exc.exit_code if isinstance(exc, Interrupted) else 130
