"""Analyse: history, change points and charts over archived reports.

The defaults live here, so that the command line can describe them without importing the
analysis.
"""

#: Reports shown by default, and at most (PELT with the l1 cost takes ~1.5 s on 1000 reports).
DEFAULT_LAST = 50
MAX_LAST = 1000
#: Penalty of the change-point search, in units of the series' noise.
DEFAULT_PENALTY = 7.0
