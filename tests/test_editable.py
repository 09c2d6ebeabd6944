"""``--against`` under editable installs (issue 20, item 1): the base side imports its own
tree's code whatever the build backend, in a generated foreign repository (tests/foreign.py)
with the project installed editable in its ``.venv``; and the mapping itself on fake probes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import foreign
from ftbench.cli import app as cli
from ftbench.measure import editable
from ftbench.measure.editable import Probe
from ftbench.pipeline import ab
from ftbench.pipeline.sides import BaseEnvironment
from ftbench.report.model import Report, Runs

TIER = (
    '[tiers.lib]\n[[tiers.lib.steps]]\nname = "work"\n'
    'cmd = ["{python}", "-c", "import samplelib; samplelib.work()"]\n'
)
#: prints the rounds of the library's code it imported, and where that code is
WHERE = (
    '[tiers.lib]\n[[tiers.lib.steps]]\nname = "where"\ncmd = ["{python}", "-c", '
    "\"import samplelib.core as c; print('ROUNDS', c.ROUNDS, c.__file__)\"]\n"
)
FEW = ["--skip-cold", "--warmup", "1", "--progress", "never", "--quiet"]


@pytest.fixture(autouse=True)
def project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own .venv is the commands' interpreter (no active virtual environment)."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "CI_", "FTBENCH_")):
            monkeypatch.delenv(name)


def _run(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Report]:
    argv = ["run", "--repo", str(repo), "--tier", "lib", "--against", "HEAD~1", *FEW, *args]
    code = cli.main(argv)
    capsys.readouterr()
    return code, Report.from_json((repo / ".firsttry" / "bench_proof.json").read_text())


def _slowed(tmp_path: Path, backend: str, tier: str = TIER) -> Path:
    repo = foreign.write(tmp_path / backend, backend, n=800_000)  # the work dominates start-up
    uv = foreign.uv_program(tmp_path) if backend == "uv" else None
    foreign.install(repo, backend, uv=uv)
    (repo / "ftbench.toml").write_text(tier)  # untracked: the current tree's configuration
    foreign.slow_library(repo)
    return repo


def _rounds(repo: Path, runs: Runs | None) -> set[str]:
    """What the ``where`` step's samples printed: ``ROUNDS n path-of-core.py`` lines."""
    assert runs is not None and runs.warm is not None
    logs = {repo / st.log for s in runs.warm.samples for st in s.steps if st.log}
    assert logs
    lines = {line for log in logs for line in log.read_text().splitlines()}
    return {line.split()[1] for line in lines if line.startswith("ROUNDS ")}


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(foreign.BACKENDS))
def test_each_side_imports_its_own_code_under_an_editable_install(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """HEAD's library does 3 rounds, REF's 2: each side's samples print the rounds of the
    code they imported (what the timings of the test below follow from)."""
    repo = _slowed(tmp_path, backend, WHERE)
    code, report = _run(repo, capsys, "--runs", "2")
    assert report.against is not None and code in (0, 4)
    imports = report.against.imports or ""
    assert imports.startswith("editable install of samplelib"), imports
    if backend == "setuptools-strict":  # a link tree under build/: nothing to map
        assert "the base side ran in an isolated environment" in imports
    else:
        assert "(PYTHONPATH)" in imports
    assert str(tmp_path) not in imports  # paths relative to the repository
    assert _rounds(repo, report.runs) == {"3"}
    assert _rounds(repo, report.against.runs) == {"2"}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["setuptools", "setuptools-strict"])
def test_a_library_slowdown_is_a_regression_under_an_editable_install(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The timings: a mapped ``PYTHONPATH`` and an isolated environment (the other backends
    map as setuptools does, the test above)."""
    repo = _slowed(tmp_path, backend)
    code, report = _run(repo, capsys, "--runs", "10")
    assert report.regression is not None
    assert code == 4, (report.regression.summary, report.against)
    warm = report.regression.phases["warm"]
    assert warm.pct_change is not None and warm.pct_change > 10


@pytest.mark.slow
def test_without_the_base_environment_both_sides_import_the_current_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What 0.3 did (issue 20: +50% was "no change", exit 0): the tests above can fail."""
    repo = _slowed(tmp_path, "hatchling", WHERE)
    monkeypatch.setattr(ab, "base_environment", lambda request, tree: BaseEnvironment(request))
    _, report = _run(repo, capsys, "--runs", "2")
    assert report.against is not None
    assert _rounds(repo, report.runs) == _rounds(repo, report.against.runs) == {"3"}


@pytest.mark.slow
def test_a_setup_that_reinstalls_per_side_leaves_the_user_environment_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``setup = "pip install -e ."`` runs in the base tree, then in this one: the user's
    environment ends pointing at the working tree, and the base side still measures its own."""
    repo = _slowed(tmp_path, "hatchling")
    (repo / "ftbench.toml").write_text(
        TIER.replace("[tiers.lib]\n", '[tiers.lib]\nsetup = "pip install -q -e ."\n')
    )
    code, report = _run(repo, capsys, "--runs", "10")
    assert report.against is not None and report.against.setup == "pip install -q -e ."
    assert "the base side imports its own tree's src/" in (report.against.imports or "")
    assert code == 4, report.regression
    pth = next((repo / ".venv").glob("lib/python*/site-packages/_editable_impl_samplelib.pth"))
    assert pth.read_text().strip() == str(repo.resolve() / "src")


# --- the mapping, on fake probes ------------------------------------------------------------


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root, tree = tmp_path / "repo", tmp_path / "ab" / "base"
    for where in (root, tree):
        (where / "src" / "pkg").mkdir(parents=True)
        (where / "src" / "pkg" / "__init__.py").write_text("")
        (where / "flat").mkdir()
        (where / "flat" / "mod.py").write_text("")
    return root, tree


def test_path_entries_and_hooks_are_mapped_into_the_base_tree(tmp_path: Path) -> None:
    root, tree = _tree(tmp_path)
    venv = root / ".venv" / "lib" / "site-packages"
    found = Probe(
        skip=(str(root / ".venv"),),
        paths=("/usr/lib/python3.11", str(venv), str(root / "src")),
        hooks={"mod": str(root / "flat" / "mod.py"), "other": "/elsewhere/other"},
        editable=(("pkg", str(root)), ("other", "/elsewhere")),
    )
    overlay = tree.parent / "imports"
    env = {"PYTHONPATH": f"{root / 'src'}{os.pathsep}/keep{os.pathsep}rel"}
    made = editable.base_imports(found, root, tree, overlay, env)
    assert made.unmapped is None
    assert made.env["PYTHONPATH"].split(os.pathsep) == [
        str(overlay),
        str(tree / "src"),
        "/keep",  # outside the repository: kept
        "rel",  # relative: found from the base tree, where its commands run
    ]
    assert (overlay / "mod.py").resolve() == (tree / "flat" / "mod.py").resolve()
    assert not (overlay / "other").exists()  # another project's editable install
    assert made.note == (
        "editable install of pkg: the base side imports its own tree's src/, "
        "mod → flat/mod.py (PYTHONPATH)"
    )
    assert set(made.checked) == {"pkg", "mod"}
    good = Probe(origins={"pkg": str(tree / "src/pkg/__init__.py"), "mod": str(overlay / "mod.py")})
    assert editable.verify(made, good, tree) is not None  # the link itself is outside the tree
    good = Probe(
        origins={"pkg": str(tree / "src/pkg/__init__.py"), "mod": str(tree / "flat/mod.py")}
    )
    assert editable.verify(made, good, tree) is None
    bad = Probe(origins={"pkg": str(root / "src/pkg/__init__.py"), "mod": None})
    assert editable.verify(made, bad, tree) == "pkg, mod still imported from elsewhere"


def test_a_place_the_base_tree_lacks_cannot_be_mapped(tmp_path: Path) -> None:
    root, tree = _tree(tmp_path)
    found = Probe(paths=(str(root / "build" / "__editable__.pkg"),), editable=(("pkg", str(root)),))
    made = editable.base_imports(found, root, tree, tree.parent / "imports", {})
    assert made.env == {} and made.note == "editable install of pkg"
    assert made.unmapped == "not in the base tree: build/__editable__.pkg/"


def test_nothing_of_the_repository_on_the_path_changes_nothing(tmp_path: Path) -> None:
    root, tree = _tree(tmp_path)
    found = Probe(skip=(str(root / ".venv"),), paths=(str(root / ".venv" / "lib"),))
    assert editable.base_imports(found, root, tree, tmp_path / "o", {}) == editable.BaseImports()
    assert editable.base_imports(None, root, tree, tmp_path / "o", {}) == editable.BaseImports()
    hooked = Probe(editable=(("pkg", str(root)),))  # installed from here, by unknown means
    made = editable.base_imports(hooked, root, tree, tmp_path / "o", {})
    assert made.unmapped == "its import hook is not one ftbench can map"
