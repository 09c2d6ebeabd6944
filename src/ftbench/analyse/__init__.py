"""Analyse: history, change points and charts over archived reports.

The defaults live here, so that the command line can describe them without importing the
analysis.
"""

#: Reports shown by default (``--last all``: the whole history).
DEFAULT_LAST = 50
#: Penalty of the change-point search: each change point costs DEFAULT_PENALTY · (7 + ln n)
#: in units of the noise squared (calibrated by benchmarks/changepoints.py).
DEFAULT_PENALTY = 3.0
#: Points per series in a chart, at most: a longer history is down-sampled (change points
#: kept exact; ``ftbench.analyse.sampling``).
MAX_POINTS = 2000
