"""The CI files ``ft-bench init --ci`` writes: docs/ci.md's recipes (a test keeps them the
same), filled in with the repository's install command and where ftbench comes from.

Each names no tier: ``ft-bench run`` takes the repository's ``default_tier`` (the tier
``init`` wrote), else the built-in ``lite``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ftbench import __version__

#: where a recipe's file goes
FILES = {
    "github": ".github/workflows/ftbench.yml",
    "gitlab": ".gitlab-ci.yml",
    "pre-commit": ".pre-commit-config.yaml",
}
GITHUB = """\
on: {{ push: {{ branches: [{branch}] }}, pull_request: {{}} }}
permissions: {{ contents: read, pull-requests: write }}
jobs:
  benchmark:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {{ fetch-depth: 0 }}
      - uses: {uses}
        with: {{ install: {install} }}
"""
GITLAB = """\
include:
  - remote: {url}/-/raw/{rev}/ci/gitlab/ftbench.gitlab-ci.yml
variables:
  FTBENCH_PIP_SPEC: "ftbench @ git+{url}.git@{rev}"
  FTBENCH_INSTALL: {install}
report:
  stage: .post
  when: always
  script: echo "verdict=$FT_BENCH_VERDICT warm=$FT_BENCH_WARM_MEDIAN_S"
"""
PRE_COMMIT = """\
default_install_hook_types: [pre-commit, pre-push]
repos:
  - repo: {url}
    rev: {rev}
    hooks:
      - id: ftbench-pre-push
"""
#: where ftbench comes from when ``--source`` is not given (the docs' placeholders)
PLACEHOLDER_URL = "https://<host>/<owner>/ftbench"
PLACEHOLDER_REV = "<tag>"


@dataclass(frozen=True)
class Recipe:
    path: str
    text: str
    #: what the user must still fill in, else empty
    todo: str = ""


def _yaml(text: str) -> str:
    """A YAML scalar: plain when safe in a flow mapping, else double-quoted."""
    if text and re.fullmatch(r"[A-Za-z0-9_./=@+-][A-Za-z0-9 _./=@+-]*", text) and "  " not in text:
        return text
    return json.dumps(text)


def render(
    kind: str, install: str, source: str | None = None, rev: str | None = None, branch: str = "main"
) -> Recipe:
    """The CI file of ``kind`` (``github``, ``gitlab``, ``pre-commit``)."""
    url = (source or PLACEHOLDER_URL).rstrip("/").removesuffix(".git")
    rev = rev or (f"v{__version__}" if source else PLACEHOLDER_REV)
    todo = "" if source else f"replace {PLACEHOLDER_URL} and <tag> with where ftbench comes from"
    if kind == "github":
        found = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", url)
        uses = f"{found.group(1)}@{rev}" if found else "<owner>/ftbench@<tag>"
        if not found:
            todo = "replace <owner>/ftbench@<tag> with the Action's repository and tag"
        text = GITHUB.format(branch=branch, uses=uses, install=_yaml(install))
        text = text if install else text.replace(f"        with: {{ install: {_yaml('')} }}\n", "")
    elif kind == "gitlab":
        text = GITLAB.format(url=url, rev=rev, install=_yaml(install))
        text = text if install else text.replace(f"  FTBENCH_INSTALL: {_yaml('')}\n", "")
    elif kind == "pre-commit":
        text = PRE_COMMIT.format(url=url, rev=rev)
    else:
        raise ValueError(kind)
    return Recipe(FILES[kind], text, todo)


def lines(text: str) -> int:
    """Configuration lines: neither blank nor a comment."""
    return sum(
        1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )
