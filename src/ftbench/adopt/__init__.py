"""Adoption in a repository: ``ft-bench init`` (``init.py``) looks at it (``look.py``), writes
a tier of its own checks (``write.py``) and the CI file that runs it (``recipes.py``).

This module holds only what the command line needs to describe ``init`` (``--help`` of any
command builds every parser, so nothing heavy is imported here).
"""

DEFAULT_NAME = "checks"
FILE_CHOICES = ("auto", "pyproject.toml", "ftbench.toml")
