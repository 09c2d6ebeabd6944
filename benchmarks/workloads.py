"""The workloads of benchmarks/noisy_verdicts.py: three kinds of slowdown a developer feels.

* ``cpu``: a CPU loop of about 50 ms; its variants do more CPU work (+p% CPU time).
* ``wait``: about 25 ms of CPU work and 50 ms of waiting (a test suite that waits on I/O),
  in four rounds; its variants wait longer (+p% wall time, the same CPU work).
* ``parallel``: two CPU workers side by side (about 40 ms each); its variants split the work
  unevenly, so the longer worker ends later (lost parallelism: +p% wall time on an idle
  machine, the same CPU work in all).

``work.py`` (written into the workload repository) reads ``params.txt``: the kind and its
numbers. :func:`calibrate` chooses the numbers on this machine without a generated load and
measures each variant's increase, base and variant interleaved (wall and CPU of the whole
command, Python start-up included). Benchmark-only code: the standard library only.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

KINDS = ("cpu", "wait", "parallel")
VARIANTS = {"main": 0, "plus10": 10, "plus20": 20}
#: what each kind's variants change, for the tables
CHANGES = {"cpu": "CPU work", "wait": "waiting", "parallel": "lost parallelism"}

WORKLOAD = '''"""ftbench verdict benchmark workload (benchmarks/workloads.py)."""
import os
import time

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "params.txt")) as f:
    kind, *numbers = f.read().split()
a, b = (int(v) for v in numbers)


def spin(n):
    x = 0
    for i in range(n):
        x = (x + i * i) % 1000003


if kind == "cpu":
    spin(a)
elif kind == "wait":
    for _ in range(4):  # CPU work and waits taking turns, like tests doing I/O
        spin(a // 4)
        time.sleep(b / 4000)
else:  # "parallel": two workers side by side
    pids = []
    for n in (a, b):
        pid = os.fork()
        if pid == 0:
            spin(n)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
'''


def params_text(kind: str, a: int, b: int) -> str:
    return f"{kind} {a} {b}\n"


def measure(python: str, workdir: Path, text: str, n: int) -> list[tuple[float, float]]:
    """(wall s, user+sys CPU s) of ``n`` runs of the workload with params ``text``."""
    (workdir / "params.txt").write_text(text)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.Popen([python, "-S", "work.py"], cwd=workdir)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"workload failed: {text.strip()}")
        out.append((wall, usage.ru_utime + usage.ru_stime))
    return out


def _interleaved(
    python: str, workdir: Path, base: str, other: str, pairs: int
) -> tuple[float, float]:
    """Percent increase of the median wall and CPU time of ``other`` over ``base``."""
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for _ in range(pairs):
        a += measure(python, workdir, base, 1)
        b += measure(python, workdir, other, 1)

    def pct(i: int) -> float:
        return (statistics.median(x[i] for x in b) / statistics.median(x[i] for x in a) - 1) * 100

    return pct(0), pct(1)


def _loop_cost(python: str, workdir: Path) -> tuple[float, float]:
    """(start-up CPU s, CPU s per loop) of the ``cpu`` kind, interleaved."""
    probe = 1_000_000
    zero: list[float] = []
    big: list[float] = []
    for _ in range(9):
        zero += [c for _, c in measure(python, workdir, params_text("cpu", 0, 0), 1)]
        big += [c for _, c in measure(python, workdir, params_text("cpu", probe, 0), 1)]
    c0 = statistics.median(zero)
    return c0, (statistics.median(big) - c0) / probe


def calibrate(kind: str, python: str, workdir: Path, pairs: int) -> dict[str, Any]:
    """Each variant's params (``VARIANTS``: +p% of what the kind changes) and the increases
    measured without a generated load."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "work.py").write_text(WORKLOAD)
    measure(python, workdir, params_text("cpu", 0, 0), 2)  # warm the file cache
    c0, k = _loop_cost(python, workdir)
    params: dict[str, str] = {}
    if kind == "cpu":
        loops = max(1000, round((0.050 - c0) / k))
        base = params_text(kind, loops, 0)
        cpu0 = statistics.median(c for _, c in measure(python, workdir, base, 25))
        for name, pct in VARIANTS.items():
            params[name] = params_text(kind, loops + round(pct / 100 * cpu0 / k), 0)
    elif kind == "wait":
        loops, wait_ms = max(1000, round(0.025 / k)), 50
        base = params_text(kind, loops, wait_ms)
        wall0 = statistics.median(w for w, _ in measure(python, workdir, base, 25))
        for name, pct in VARIANTS.items():
            params[name] = params_text(kind, loops, wait_ms + round(pct / 100 * wall0 * 1000))
    else:
        loops = max(1000, round(0.040 / k))
        base = params_text(kind, loops, loops)
        wall0 = statistics.median(w for w, _ in measure(python, workdir, base, 25))
        for name, pct in VARIANTS.items():
            shift = round(pct / 100 * wall0 / k)  # the longer worker ends this much later
            params[name] = params_text(kind, loops + shift, max(0, loops - shift))
    increase = {"main": (0.0, 0.0)}
    for name in VARIANTS:
        if name != "main":
            increase[name] = _interleaved(python, workdir, params["main"], params[name], pairs)
    main_runs = measure(python, workdir, params["main"], 15)
    return {
        "kind": kind,
        "python": python,
        "startup_cpu_s": c0,
        "cpu_per_loop_s": k,
        "params": params,
        "base_wall_s": statistics.median(w for w, _ in main_runs),
        "base_cpu_s": statistics.median(c for _, c in main_runs),
        "increase_pct": {n: {"wall": w, "cpu": c} for n, (w, c) in increase.items()},
        "pairs": pairs,
    }


def describe(cal: dict[str, Any]) -> str:
    inc = cal["increase_pct"]
    return (
        f"workload {cal['kind']} ({CHANGES[cal['kind']]}): base wall "
        f"{cal['base_wall_s'] * 1e3:.1f} ms, CPU {cal['base_cpu_s'] * 1e3:.1f} ms; increase "
        f"without the generated load ({cal['pairs']} interleaved pairs): "
        + ", ".join(
            f"{v} wall {inc[v]['wall']:+.1f}% cpu {inc[v]['cpu']:+.1f}%"
            for v in VARIANTS
            if v != "main"
        )
    )
