"""ftbench.measure.cache: cache paths resolve inside the repository only; clearing; usage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftbench.errors import SetupError, UnsafePathError
from ftbench.measure import cache


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A repository root and a sibling directory holding a file that must survive."""
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    return root, outside


def test_relative_paths_and_globs_resolve_inside(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    (root / "a").mkdir()
    (root / "a" / "x.cache").write_text("1")
    (root / "a" / "y.cache").write_text("2")
    found = cache.resolve_cache_paths([".ruff_cache", "a/*.cache"], root)
    assert found == [
        root.resolve() / ".ruff_cache",
        root.resolve() / "a" / "x.cache",
        root.resolve() / "a" / "y.cache",
    ]


@pytest.mark.parametrize(
    "pattern",
    [
        "../outside",
        "../outside/precious.txt",
        "..",
        ".",
        "",
        "a/../../outside",
        "../*",
        "../outside/*",
    ],
)
def test_paths_leaving_the_root_are_refused(layout: tuple[Path, Path], pattern: str) -> None:
    root, outside = layout
    with pytest.raises(UnsafePathError):
        cache.resolve_cache_paths([pattern], root)
    assert (outside / "precious.txt").read_text() == "keep me"


def test_absolute_paths_are_refused(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    with pytest.raises(UnsafePathError):
        cache.resolve_cache_paths([str(outside)], root)
    with pytest.raises(UnsafePathError):
        cache.resolve_cache_paths([str(outside / "*")], root)
    with pytest.raises(UnsafePathError):
        cache.resolve_cache_paths(["/"], root)


def test_absolute_path_inside_the_root_is_accepted(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    assert cache.resolve_cache_paths([str(root / "c")], root) == [root.resolve() / "c"]


def test_symlink_leading_out_is_refused(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (root / "link").symlink_to(outside, target_is_directory=True)
    for pattern in ("link", "link/precious.txt", "lin*"):
        with pytest.raises(UnsafePathError, match="outside"):
            cache.resolve_cache_paths([pattern], root)
    assert (outside / "precious.txt").exists()


def test_symlinked_parent_leading_out_is_refused(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (outside / "sub").mkdir()
    (root / "up").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        cache.resolve_cache_paths(["up/sub"], root)
    assert (outside / "sub").is_dir()


def test_unsafe_path_error_is_a_setup_error() -> None:
    assert issubclass(UnsafePathError, SetupError)
    assert UnsafePathError("x").exit_code == 5


def test_clear_removes_dirs_files_and_links_but_not_link_targets(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (root / "d" / "deep").mkdir(parents=True)
    (root / "d" / "deep" / "f").write_text("x")
    # a symlink *inside* a cache directory that points outside: rmtree must not follow it
    (root / "d" / "escape").symlink_to(outside, target_is_directory=True)
    (root / "file.cache").write_text("y")
    (root / "target-in-repo").mkdir()
    (root / "inner-link").symlink_to(root / "target-in-repo")
    paths = cache.resolve_cache_paths(["d", "file.cache", "missing", "inner-link"], root)
    cache.clear(paths, root)
    assert not (root / "d").exists()
    assert not (root / "file.cache").exists()
    assert not (root / "inner-link").is_symlink()
    assert (root / "target-in-repo").is_dir()
    assert (outside / "precious.txt").read_text() == "keep me"


def test_clear_checks_again_at_removal_time(layout: tuple[Path, Path]) -> None:
    """A path that became a link out of the tree after resolution is refused, not followed."""
    root, outside = layout
    paths = cache.resolve_cache_paths(["later"], root)
    (root / "later").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        cache.clear(paths, root)
    assert (outside / "precious.txt").exists()


def test_usage_counts_files_and_bytes_without_following_links(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (root / "c" / "sub").mkdir(parents=True)
    (root / "c" / "a").write_bytes(b"x" * 10)
    (root / "c" / "sub" / "b").write_bytes(b"y" * 5)
    (root / "c" / "out").symlink_to(outside, target_is_directory=True)
    (root / "single").write_bytes(b"z" * 3)
    usage = cache.usage([root / "c", root / "single", root / "absent", root / "single"])
    assert usage.files == 3  # a, sub/b, single (counted once); the link is not followed
    assert usage.bytes == 18
    assert cache.usage([]) == cache.CacheUsage(0, 0)


_segment = st.sampled_from(["..", ".", "a", "b", "cache", "*", "x*", ""])


@settings(max_examples=200, deadline=None)
@given(st.lists(_segment, min_size=1, max_size=5), st.booleans())
def test_resolved_paths_are_always_strictly_inside(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str], absolute: bool
) -> None:
    base = tmp_path_factory.getbasetemp() / "hyp-cache"
    root = base / "repo"
    (root / "a" / "b").mkdir(parents=True, exist_ok=True)
    (root / "cache").mkdir(exist_ok=True)
    pattern = "/".join(parts)
    if absolute:
        pattern = str(root / pattern) if "*" not in pattern else "/" + pattern
    try:
        found = cache.resolve_cache_paths([pattern], root)
    except UnsafePathError as exc:
        assert "\n" not in str(exc)
        return
    resolved_root = root.resolve()
    for path in found:
        real = Path(os.path.realpath(path))
        assert resolved_root in real.parents, (pattern, path)
