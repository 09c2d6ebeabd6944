"""The one line a reviewer reads: the verdict of every phase, its size, interval, p-value,
noise floor and the step that moved (``regression.summary``)."""

from __future__ import annotations

from ftbench.report.model import PhaseVerdict, Verdict


def summary_line(verdict: Verdict) -> str:
    """The one line a reviewer reads: ``warm +18% (95% CI +12%..+24%), p=0.0004: regression``."""
    if verdict.verdict == "no baseline":
        return f"no baseline: {verdict.reason}" if verdict.reason else "no baseline"
    if verdict.verdict == "not comparable":
        return "not comparable (not judged): " + "; ".join(verdict.differences)
    text = "; ".join(_phase_summary(name, p) for name, p in verdict.phases.items()) or (
        f"{verdict.verdict}: {verdict.reason}"
    )
    confirmation = verdict.confirmation
    if confirmation is not None:
        agreed = "confirmed" if confirmation.verdict == "regression" else "not confirmed"
        text = (
            f"{confirmation.verdict} ({agreed} by A/B against {confirmation.commit[:12]}: "
            f"{confirmation.summary}); the archive judge saw: {text}"
        )
    for acceptance in verdict.accepted or ():
        text += f"; accepted: {acceptance.spec}" + (
            f" (commit {acceptance.commit[:12]})" if acceptance.commit else ""
        )
    tail = []
    if verdict.baseline.selection:
        tail.append(f"baseline: {verdict.baseline.selection}")
    if not verdict.comparable:
        tail.append("NOT comparable: " + "; ".join(verdict.differences))
    return text + (" - " + ", ".join(tail) if tail else "")


def _phase_summary(name: str, p: PhaseVerdict) -> str:
    if p.pct_change is None:
        return f"{name}: {p.verdict} ({p.reason})"
    text = f"{name} {pct(p.pct_change)}"
    if p.metrics is not None:  # reports of 0.2 and older judged wall time only
        text += f" {p.metric}"
    if p.raw_pct_change is not None:
        text += f" relative to the machine's speed (medians {pct(p.raw_pct_change)})"
    if p.ci95_pct is not None:
        text += f" (95% CI {pct(p.ci95_pct[0])}..{pct(p.ci95_pct[1])})"
    if p.p_value is not None:
        text += f", {_p(p.p_value)}"
    if p.noise_floor_pct is not None:
        text += f", noise floor {p.noise_floor_pct:.1f}%"
    text += f": {p.verdict}"
    moved = moved_step(p)
    if moved and p.verdict in ("regression", "improvement", "accepted"):
        text += f" ({moved})"
    if p.verdict == "inconclusive" and p.reason:
        text += f" ({p.reason})"
    others = [
        f"{other} {pct(v.pct_change)}"
        for other, v in (p.metrics or {}).items()
        if other in (p.gates or ()) and other != p.metric and v.pct_change is not None
    ]
    if others:
        text += f", with {', '.join(others)}"
        if p.metric == "wall" and p.verdict == "regression" and _cpu_steady(p):
            text += " (not more CPU work: longer waits or lost parallelism)"
    return text


def _cpu_steady(p: PhaseVerdict) -> bool:
    cpu = (p.metrics or {}).get("cpu")
    return cpu is not None and cpu.verdict in ("no change", "improvement")


def moved_step(p: PhaseVerdict) -> str:
    """``tests step +41% cpu``: the step whose change is largest in the verdict's direction."""
    if not p.steps or p.pct_change is None:
        return ""
    sign = 1 if p.pct_change >= 0 else -1
    name, change = max(p.steps.items(), key=lambda kv: sign * kv[1])
    return f"{name} step {pct(change)} {p.metric}"


def pct(value: float) -> str:
    """``+18%``, ``-2.5%``: one decimal below 10%."""
    digits = 1 if abs(value) < 10 else 0
    text = f"{value:+.{digits}f}"
    if text in ("+0", "-0", "+0.0", "-0.0"):
        text = "+0" if digits == 0 else "+0.0"
    return text + "%"


def _p(value: float) -> str:
    if value < 0.0001:
        return "p<0.0001"
    return f"p={value:.2g}" if value < 0.01 else f"p={value:.2f}"
