"""Nothing is written or deleted through a symbolic link or outside the repository (issue 16,
item 1): ftbench.paths, and every place ``ft-bench run`` writes, each with a planted link."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from ftbench import cli, paths
from ftbench.errors import UnsafePathError

RID = "testrepo"
QUICK = ["--skip-cold", "--runs", "1", "--warmup", "0", "--baseline", "none", "--repo-id", RID]
RUN = ["run", "--cmd", "true", "--quiet", "--progress", "never", *QUICK]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("S3_", "AWS_", "FTBENCH_", "GITHUB_", "CI_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the repository holding files that must survive."""
    place = tmp_path / "outside"
    (place / "sub").mkdir(parents=True)
    (place / "precious.txt").write_text("keep me")
    (place / "sub" / "deep.txt").write_text("keep me too")
    return place


def untouched(place: Path) -> bool:
    """``place`` holds exactly what the ``outside`` fixture put there."""
    found = sorted(str(p.relative_to(place)) for p in place.rglob("*"))
    return found == ["precious.txt", "sub", "sub/deep.txt"] and (
        (place / "precious.txt").read_text() == "keep me"
    )


def ftbench_run(
    repo: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[str]]:
    code = cli.main([*RUN, "--repo", str(repo), *args])
    _, err = capsys.readouterr()
    return code, err.splitlines()


# --- the helper --------------------------------------------------------------------------------


def test_directory_makes_the_path_and_returns_it_from_the_real_anchor(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    made = paths.directory(root / ".firsttry" / "a" / "b", root)
    assert made == root.resolve() / ".firsttry" / "a" / "b" and made.is_dir()
    assert paths.directory(made, root) == made  # again: nothing to do


@pytest.mark.parametrize("level", [0, 1, 2])
def test_a_link_at_any_level_is_refused_wherever_it_points(
    tmp_path: Path, outside: Path, level: int
) -> None:
    root = tmp_path / "repo"
    names = [".firsttry", "archive", "benchmarks"]
    (root / "inside").mkdir(parents=True)
    real = root.joinpath(*names[:level])
    real.mkdir(parents=True, exist_ok=True)
    for target in (outside, root / "inside"):  # out of the repository, and into it
        link = real / names[level]
        link.symlink_to(target, target_is_directory=True)
        with pytest.raises(UnsafePathError, match="symbolic link") as refused:
            paths.directory(root.joinpath(*names, "x"), root)
        assert str(link) in str(refused.value) and "\n" not in str(refused.value)
        with pytest.raises(UnsafePathError):
            paths.check(root.joinpath(*names), root)
        with pytest.raises(UnsafePathError):
            paths.remove(root.joinpath(*names, "x"), root)
        link.unlink()
    assert untouched(outside)
    assert list((root / "inside").iterdir()) == []


def test_check_stops_where_the_path_ends_or_meets_a_file(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    (root / "file").write_text("x")
    paths.check(root / "a" / "missing" / "deeper", root)
    paths.check(root / "file" / "below", root)
    assert not (root / "a" / "missing").exists()
    with pytest.raises(NotADirectoryError):
        paths.directory(root / "file" / "below", root)


def test_remove_removes_a_link_itself_and_follows_none_inside(
    tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "repo"
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "e" / "out").symlink_to(outside, target_is_directory=True)
    (root / "d" / "f").write_text("x")
    (root / "link").symlink_to(outside, target_is_directory=True)
    paths.remove(root / "link", root)
    paths.remove(root / "d", root)
    paths.remove(root / "missing" / "x", root)
    assert sorted(root.iterdir()) == []
    assert untouched(outside)
    with pytest.raises(UnsafePathError, match="never removes"):
        paths.remove(root, root)


def test_places_outside_the_anchor_are_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    for place in (outside, root / ".." / "outside" / "sub", Path("/")):
        with pytest.raises(UnsafePathError, match="outside"):
            paths.remove(place, root)
        with pytest.raises(UnsafePathError, match="outside"):
            paths.directory(place / "new", root)
    assert untouched(outside)


def test_anchor_is_the_repository_unless_the_place_is_named_outside_it(
    tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "repo"
    (root / ".firsttry").mkdir(parents=True)
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    assert paths.anchor(root / ".firsttry" / "archive", root) == root
    assert paths.anchor(alias / ".firsttry", root) == root  # the repository through a link
    assert paths.anchor(alias / ".firsttry", alias) == root
    assert paths.anchor(outside / "archive", root) == outside / "archive"
    # a link the user made outside the repository that leads into it: judged from the root
    into = tmp_path / "into"
    into.symlink_to(root / ".firsttry", target_is_directory=True)
    assert paths.anchor(into / "archive", root) == root
    assert paths.directory(into / "archive", root) == root / ".firsttry" / "archive"
    # the repository reached through a link is fine: everything is judged from the real root
    assert paths.directory(alias / ".firsttry" / "x", alias) == root / ".firsttry" / "x"


def test_names_in_messages_are_printable(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a\nb\x1b[31m").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError) as refused:
        paths.directory(root / "a\nb\x1b[31m" / "x", root)
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)


# --- ft-bench run, a link planted at each place it writes --------------------------------------


PLANTED = {
    ".firsttry": ".firsttry",
    "bench_artifacts": ".firsttry/bench_artifacts",
    "archive": ".firsttry/archive",
    "repo-id folder": f".firsttry/archive/benchmarks/{RID}",
    "prefix folder": ".firsttry/archive/benchmarks",
    "pending markers": ".firsttry/archive/.pending",
    "calibrations": ".firsttry/archive/.calibration",
    "calibrations of the repository": f".firsttry/archive/.calibration/{RID}",
    "A/B base logs": ".firsttry/bench_artifacts/base",
}


@pytest.mark.parametrize("where", PLANTED.values(), ids=list(PLANTED))
@pytest.mark.parametrize("into", ["outside", "inside"])
def test_a_planted_link_is_refused_and_its_target_untouched(
    tmp_repo: Path, outside: Path, capsys: pytest.CaptureFixture[str], where: str, into: str
) -> None:
    link = tmp_repo / where
    link.parent.mkdir(parents=True, exist_ok=True)
    target = outside if into == "outside" else tmp_repo / "inside"
    target.mkdir(exist_ok=True)
    link.symlink_to(target, target_is_directory=True)
    code, err = ftbench_run(tmp_repo, capsys)
    assert code == 5, err
    assert err == [
        f"ft-bench: error: refusing {link}: it is a symbolic link, and ftbench never writes "
        "or deletes through one"
    ]
    assert untouched(outside)
    assert not (tmp_repo / "inside").exists() or list((tmp_repo / "inside").iterdir()) == []
    assert (tmp_repo / ".git").is_dir() and (tmp_repo / "README.md").is_file()


def test_a_link_to_the_parent_of_the_repository_deletes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_factory: Callable[..., Path]
) -> None:
    """The issue's ``-> ../..``: it used to delete the repository's .git and its siblings."""
    repo = repo_factory(tmp_path / "wrap" / "repo")
    (tmp_path / "wrap" / "next.txt").write_text("next to the repository")
    (repo / ".firsttry").mkdir()
    (repo / ".firsttry" / "bench_artifacts").symlink_to("../..")
    code, err = ftbench_run(repo, capsys)
    assert code == 5 and len(err) == 1 and "symbolic link" in err[0]
    assert (tmp_path / "wrap" / "next.txt").read_text() == "next to the repository"
    assert (repo / ".git" / "HEAD").is_file() and (repo / "README.md").is_file()


def test_a_link_on_the_way_to_the_index_is_refused(
    tmp_repo: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_repo / ".firsttry" / "archive" / "benchmarks" / "index"
    index.parent.mkdir(parents=True)
    index.symlink_to(outside, target_is_directory=True)
    code, err = ftbench_run(tmp_repo, capsys)
    assert code == 5 and len(err) == 1
    assert f"refusing {index}: it is a symbolic link" in err[0]
    assert untouched(outside)


def test_a_stale_run_folder_that_is_a_link_is_removed_as_a_link(
    tmp_repo: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = tmp_repo / ".firsttry" / "bench_artifacts"
    artifacts.mkdir(parents=True)
    (artifacts / "run-20200101T000000Z-1").symlink_to(outside, target_is_directory=True)
    (artifacts / "old.log").symlink_to(outside / "precious.txt")
    code, err = ftbench_run(tmp_repo, capsys)
    assert code == 0, err
    assert [p.name for p in artifacts.iterdir()] == [p.name for p in artifacts.glob("run-*")]
    assert not (artifacts / "run-20200101T000000Z-1").is_symlink()
    assert untouched(outside)


def test_report_files_that_are_links_are_replaced_not_followed(
    tmp_repo: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_repo / ".firsttry"
    out.mkdir()
    for name in ("bench_proof.json", "bench_proof.md", "bench_report.env", ".gitignore"):
        (out / name).symlink_to(outside / "precious.txt")
    code, err = ftbench_run(tmp_repo, capsys)
    assert code == 0, err
    assert not (out / "bench_proof.json").is_symlink() and (out / "bench_proof.md").is_file()
    assert untouched(outside)


def test_a_cache_path_below_a_link_is_refused_at_any_level(
    tmp_repo: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_repo / "src" / "cache").mkdir(parents=True)
    (tmp_repo / "src" / "cache" / "keep.txt").write_text("source")
    (tmp_repo / "build").symlink_to(tmp_repo / "src", target_is_directory=True)
    (tmp_repo / "out").symlink_to(outside, target_is_directory=True)
    for cache in ("build/cache", "out/sub", "build/cache/deeper/x"):
        code, err = ftbench_run(tmp_repo, capsys, "--cache", cache, "--cold-runs", "1")
        assert code == 5 and len(err) == 1, err
        assert "symbolic link" in err[0] or "outside" in err[0]
    assert (tmp_repo / "src" / "cache" / "keep.txt").read_text() == "source"
    assert untouched(outside)


def test_the_repository_reached_through_a_link_runs(
    tmp_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(tmp_repo, target_is_directory=True)
    code, err = ftbench_run(alias, capsys)
    assert code == 0, err
    assert (tmp_repo / ".firsttry" / "bench_proof.json").is_file()
    assert list((tmp_repo / ".firsttry" / "archive").rglob(f"{RID}/*.json"))


def test_places_named_outside_the_repository_are_written_and_checked_below(
    tmp_repo: Path, tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, archive = tmp_path / "named-out", tmp_path / "named-archive"
    named = ["--out-dir", str(out), "--archive-dir", str(archive)]
    code, err = ftbench_run(tmp_repo, capsys, *named)
    assert code == 0, err
    assert (out / "bench_proof.json").is_file() and list(archive.rglob(f"{RID}/*.json"))
    assert not (tmp_repo / ".firsttry").exists()
    # below a named place, a link is refused as anywhere else
    paths.remove(out / "bench_artifacts", out)
    (out / "bench_artifacts").symlink_to(outside, target_is_directory=True)
    code, err = ftbench_run(tmp_repo, capsys, *named)
    assert code == 5 and len(err) == 1 and "symbolic link" in err[0]
    assert untouched(outside)


def test_dashboard_and_chart_outputs_below_a_link_are_refused(
    tmp_repo: Path,
    outside: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_repo)
    (tmp_repo / "ftbench-dashboard").symlink_to(outside, target_is_directory=True)
    (tmp_repo / "charts").symlink_to(outside, target_is_directory=True)
    for args in (["dashboard"], ["trend", "--chart", "charts/trend.html"]):
        code = cli.main([*args, "--repo-id", RID])
        err = capsys.readouterr().err.splitlines()
        assert code == 5 and len(err) == 1 and "symbolic link" in err[0], (args, err)
    assert untouched(outside)


def test_the_one_writer_makes_files_users_read_readable_and_keeps_a_mode_when_asked(
    tmp_path: Path,
) -> None:
    """Issue 19: one atomic writer; reports, charts and calibrations 0644 (0.3.0 made the
    report files 0600 and the charts 0644); a file the user owns (ft-bench init) keeps its."""
    written = paths.write(tmp_path / "out" / "bench_proof.json", "{}", tmp_path)
    assert written.read_text() == "{}" and stat.S_IMODE(written.stat().st_mode) == 0o644
    mine = tmp_path / "ftbench.toml"
    mine.write_text("old")
    mine.chmod(0o600)
    paths.write(mine, b"new", tmp_path, mode=None)
    assert mine.read_text() == "new" and stat.S_IMODE(mine.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temporary file left


def test_the_one_writer_replaces_a_link_and_refuses_one_on_the_way(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("keep")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "report.md").symlink_to(outside / "victim")
    paths.write(repo / "report.md", "new", repo)
    assert (outside / "victim").read_text() == "keep" and not (repo / "report.md").is_symlink()
    (repo / ".firsttry").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        paths.write(repo / ".firsttry" / "bench_proof.json", "x", repo)
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
