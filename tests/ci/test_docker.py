"""The Dockerfile: hadolint clean, and its build steps proven without a Docker engine (none
runs on our CI machine): the COPY sources and the pip install run in a clean virtualenv, then
the ENTRYPOINT with the CMD against a mounted-like repository, twice with one archive
directory (the volume): the second run has a baseline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci.kit import ROOT, tool

pytestmark = pytest.mark.ci_runners
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0], line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_hadolint_is_clean() -> None:
    proc = subprocess.run(
        [tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerignore_keeps_what_the_copy_lines_need() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    copied = [name for op, args in _instructions() if op == "COPY" for name in args.split()[:-1]]
    assert copied
    for name in copied:
        assert f"!{name.rstrip('/')}" in {line.rstrip("/") for line in ignore}, name


def test_build_steps_in_a_clean_virtualenv(sample: Path, tmp_path: Path) -> None:
    image = tmp_path / "image"
    workdir, env = image, dict(os.environ)
    for key in [k for k in env if k.startswith(("GITHUB_", "CI", "GITLAB"))]:
        del env[key]
    entrypoint: list[str] = []
    cmd: list[str] = []
    for op, args in _instructions():
        args = args.replace("/opt/ftbench", str(image / "opt" / "ftbench"))
        if op == "WORKDIR":
            workdir = Path(args) if args.startswith(str(image)) else image / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif op == "COPY":
            *sources, dest = args.split()
            for src in sources:
                target = workdir / dest
                if (ROOT / src).is_dir():
                    shutil.copytree(
                        ROOT / src,
                        target,
                        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"),
                    )
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(ROOT / src, target / Path(src).name)
        elif op == "RUN" and "apt-get" not in args:
            # the image's python is this Python: a clean virtualenv, nothing of .venv
            script = args.replace("python -m venv", f"{sys.executable} -m venv --clear")
            subprocess.run(["/bin/sh", "-c", script], cwd=workdir, check=True, env=env)
        elif op == "ENV":
            for name, value in re.findall(r'(\w+)=("[^"]*"|\S+)', args):
                value = value.strip('"').replace("$PATH", env["PATH"])
                env[name] = value.replace("/archive", str(tmp_path / "volume"))
        elif op == "ENTRYPOINT":
            entrypoint = [str(a) for a in __import__("json").loads(args)]
        elif op == "CMD":
            cmd = [str(a) for a in __import__("json").loads(args)]
    assert entrypoint == ["ft-bench"] and cmd[:1] == ["run"]
    venv_bin = image / "opt" / "ftbench" / "venv" / "bin"
    assert env["PATH"].startswith(str(venv_bin))
    program = shutil.which(entrypoint[0], path=env["PATH"])
    assert program == str(venv_bin / "ft-bench")
    for _ in range(2):  # a new container each time: only the volume is kept
        shutil.rmtree(sample / ".firsttry", ignore_errors=True)
        proc = subprocess.run(
            [program, *cmd, "--mode", "fast"],
            cwd=sample,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No baseline" not in proc.stdout, proc.stdout
    assert list((tmp_path / "volume").rglob("*.json"))
