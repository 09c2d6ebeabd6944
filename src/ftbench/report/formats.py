"""How figures are written in reports: seconds, percentages, memory, intervals, tables."""

from __future__ import annotations

from collections.abc import Sequence


def fmt_s(value: float | None) -> str:
    """Seconds for humans: ms below one second."""
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s"


def fmt_pct(value: float | None) -> str:
    """``+18%``, ``-2.5%`` (one decimal below 10%); ``–`` when unknown."""
    if value is None:
        return "–"
    digits = 1 if abs(value) < 10 else 0
    text = f"{value:+.{digits}f}"
    return ("+0" if text in ("+0", "-0") else "+0.0" if text in ("+0.0", "-0.0") else text) + "%"


def fmt_change(value: float | None, raw: float | None = None) -> str:
    """A judged change; one judged relative to the machine's speed (``raw``: the change of the
    medians shown beside it) says so: ``-0.3% speed-adjusted (medians +6.0%)``."""
    if raw is None or value is None:
        return fmt_pct(value)
    return f"{fmt_pct(value)} speed-adjusted (medians {fmt_pct(raw)})"


def fmt_rss(kb: int | None, exact: bool) -> str:
    if kb is None:
        return "unknown"
    text = f"{kb / 1024:.1f} MiB"
    return text if exact else f"≤ {text} (floor)"


def fmt_ci(ci: tuple[float, float] | None, fmt: str = "s") -> str:
    if ci is None:
        return "n/a (n<6)" if fmt == "s" else "–"
    if fmt == "s":
        return f"{fmt_s(ci[0])} – {fmt_s(ci[1])}"
    return f"{fmt_pct(ci[0])} .. {fmt_pct(ci[1])}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table keeping only the columns some row fills (the first always)."""
    keep = [i for i in range(len(header)) if i == 0 or any(r[i] not in ("", "–") for r in rows)]
    out = ["| " + " | ".join(header[i] for i in keep) + " |", "|" + "---|" * len(keep)]
    out += ["| " + " | ".join(r[i] or "–" for i in keep) + " |" for r in rows]
    return out


def value(value: float | None, rss: bool) -> str:
    if value is None:
        return "–"
    return fmt_rss(int(value), True) if rss else fmt_s(value)


def p_text(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 0.0001:
        return "<0.0001"
    return f"{value:.2g}" if value < 0.01 else f"{value:.2f}"
