"""Helpers for tests that check processes are gone."""

from __future__ import annotations

import os
import time
from pathlib import Path


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether ``pid`` has exited (or is a zombie: killed, waiting for its new parent to reap
    it) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False
