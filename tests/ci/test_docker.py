"""The Docker recipes, hadolint clean, their build steps proven without a Docker engine (none
runs on our CI machine): each Dockerfile's COPY and RUN steps run in a clean virtualenv (the
image's Python; apt-get left out), then its ENTRYPOINT/CMD against a generated foreign
repository (tests/foreign.py).

* ftbench's image (Dockerfile), built from a clean copy of ftbench's repository (the context,
  as ``docker build URL`` has it) while the current directory is the foreign repository: the
  mounted project installed by FTBENCH_INSTALL is the commands' interpreter, never ftbench's
  own venv; run twice with one archive directory (the volume): the second run has a baseline.
* the user's own project image (docs/ci.md's recipe, verbatim but for where ftbench comes
  from), built in the foreign repository: the project, pytest and ftbench in the image's
  Python, the guide's ``ft_bench_run.sh`` as its CMD.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci.kit import ROOT, recipe, runner_env, tool

pytestmark = pytest.mark.ci_runners
DOCKERFILE = ROOT / "Dockerfile"
#: the parts of a RUN step that change the system (a package, the system git configuration):
#: left out here, where they would change this machine
SYSTEM = ("apt-get ", "rm -rf /var/lib/apt/lists", "git config --system")


def _without_system(script: str) -> str:
    parts = [p.strip() for p in script.split("&&")]
    kept = [p for p in parts if not p.startswith(SYSTEM)]
    assert not any(word in " ".join(kept) for word in SYSTEM), script
    return " && ".join(kept) or "true"


def _instructions(text: str) -> list[tuple[str, str]]:
    text = text.replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0], line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _hadolint(path: Path) -> None:
    proc = subprocess.run([tool("hadolint"), str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_is_clean(tmp_path: Path) -> None:
    _hadolint(DOCKERFILE)
    (tmp_path / "Dockerfile").write_text(recipe("docker"))
    _hadolint(tmp_path / "Dockerfile")


def test_dockerignore_keeps_what_the_copy_lines_need() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    steps = _instructions(DOCKERFILE.read_text())
    copied = [name for op, args in steps if op == "COPY" for name in args.split()[:-1]]
    assert copied
    for name in copied:
        assert f"!{name.rstrip('/')}" in {line.rstrip("/") for line in ignore}, name


class Image:
    """A Dockerfile's steps played in ``image`` (a folder standing for the image's file
    system), the image's Python a clean virtualenv first on PATH."""

    def __init__(self, image: Path, context: Path, replace: dict[str, str]) -> None:
        self.image, self.context, self.replace = image, context, replace
        self.python = image / "usr-local"
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(self.python)], check=True)
        self.env = runner_env()
        self.env["PATH"] = f"{self.python / 'bin'}{os.pathsep}{self.env['PATH']}"
        self.workdir = image
        self.entrypoint: list[str] = []
        self.cmd: list[str] = []

    def _path(self, path: str) -> str:
        for old, new in self.replace.items():
            path = path.replace(old, new)
        return path

    def build(self, dockerfile: str) -> None:
        for op, args in _instructions(dockerfile):
            args = self._path(args)
            if op == "WORKDIR":  # always inside the image's folder, never this machine's /
                where = Path(args)
                if not where.is_relative_to(self.image):
                    where = (
                        (self.image / args.lstrip("/"))
                        if where.is_absolute()
                        else self.workdir / where
                    )
                self.workdir = where
                self.workdir.mkdir(parents=True, exist_ok=True)
            elif op == "COPY":
                *sources, dest = args.split()
                for src in sources:
                    target = self.workdir / dest
                    origin = self.context / src
                    if origin.is_dir():
                        ignore = shutil.ignore_patterns("*.egg-info", "__pycache__", ".venv")
                        shutil.copytree(origin, target, ignore=ignore, dirs_exist_ok=True)
                    else:
                        target.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(origin, target / origin.name)
            elif op == "RUN":
                script = _without_system(args)
                script = script.replace("python -m venv", f"{sys.executable} -m venv --clear")
                subprocess.run(
                    ["/bin/sh", "-c", script], cwd=self.workdir, check=True, env=self.env
                )
            elif op == "ENV":
                for name, value in re.findall(r'(\w+)=("[^"]*"|\S+)', args):
                    self.env[name] = value.strip('"').replace("$PATH", self.env["PATH"])
            elif op == "ENTRYPOINT":
                self.entrypoint = json.loads(args)
            elif op == "CMD":
                self.cmd = json.loads(args)

    def run(self, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        argv = [*self.entrypoint, *(args or self.cmd)]
        program = shutil.which(argv[0], path=self.env["PATH"]) or argv[0]
        return subprocess.run(
            [program, *argv[1:]],
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=600,
        )


def test_ftbench_image_runs_the_mounted_project(
    sample: Path, ftbench_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(sample)  # `docker build URL` from another repository
    opt = tmp_path / "image" / "opt" / "ftbench"
    image = Image(
        tmp_path / "image",
        ftbench_repo,
        {"/opt/ftbench": str(opt), "/archive": str(tmp_path / "volume")},
    )
    image.build(DOCKERFILE.read_text())
    venv_bin = tmp_path / "image" / "opt" / "ftbench" / "venv" / "bin"
    assert image.env["PATH"].startswith(str(venv_bin))  # ftbench's own venv first on PATH
    assert image.cmd == ["run"]
    project = str(tmp_path / "project-venv")
    for run in range(2):  # a new container each time: only the volume is kept
        shutil.rmtree(sample / ".firsttry", ignore_errors=True)
        done = image.run(
            sample,
            *image.cmd,
            "--mode",
            "fast",
            FTBENCH_INSTALL="pip install -q -e . pytest",
            FTBENCH_PROJECT_VENV=project,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "checks tier" in done.stdout  # the tier init wrote: pytest ran in the project
        assert ("No baseline" in done.stdout) == (run == 0), done.stdout
    assert list((tmp_path / "volume").rglob("*.json"))
    # without FTBENCH_INSTALL: never ftbench's own venv (it has no pytest)
    tiers = image.run(sample, "tiers")
    assert f"ftbench's own environment {venv_bin.parent} skipped" in tiers.stdout, tiers.stdout


def test_project_image_recipe(sample: Path, ftbench_repo: Path, tmp_path: Path) -> None:
    text = recipe("docker")
    spec = "ftbench[s3] @ git+https://<host>/<owner>/ftbench.git@<tag>"
    assert spec in text
    # the line a user changes: where ftbench comes from
    text = text.replace(spec, f"ftbench[s3] @ file://{ftbench_repo}")
    image = Image(tmp_path / "image", sample, {})
    image.build(text)
    app = tmp_path / "image" / "app"
    assert (app / "pyproject.toml").is_file() and (app / ".git").is_dir()
    assert image.cmd == ["ft_bench_run.sh", "--upload-s3"]
    done = image.run(app)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "checks tier" in out and "S3 upload skipped" in out
