"""argparse value types shared by the commands: numbers within bounds, with one-line errors."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def bounded(kind: Callable[[str], N], *, low: float | None = None, high: float | None = None,
            open_low: bool = False, open_high: bool = False) -> Callable[[str], N]:
    """A ``type=`` for argparse: ``kind`` (int or float) parsed, finite, within the bounds."""
    noun = "a whole number" if kind is int else "a number"
    limits = []
    if low is not None:
        limits.append(f"{'>' if open_low else '>='} {low:g}")
    if high is not None:
        limits.append(f"{'<' if open_high else '<='} {high:g}")
    expected = f"{noun} {' and '.join(limits)}".strip()

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        too_low = low is not None and (value <= low if open_low else value < low)
        too_high = high is not None and (value >= high if open_high else value > high)
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse
