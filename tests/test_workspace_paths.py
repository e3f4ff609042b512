"""normalize_path and Workspace.resolve: the one rule for names inside a workspace."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.workspace import Workspace, WorkspaceLimits, WorkspacePathError, normalize_path

LIMITS = WorkspaceLimits()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("src/app.py", "src/app.py"),
        ("./src//app.py", "src/app.py"),
        ("src/./app.py/", "src/app.py"),
        ("a b/c-d_e.f", "a b/c-d_e.f"),
        ("naïve/ünïcode.txt", "naïve/ünïcode.txt"),
        ("backup~", "backup~"),
        ("...", "..."),
        ("..foo", "..foo"),
    ],
)
def test_valid_paths_normalize(raw: str, expected: str) -> None:
    assert normalize_path(raw, LIMITS) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "./",
        "/etc/passwd",
        "//etc/passwd",
        "../etc/passwd",
        "src/../../etc/passwd",
        "src/..",
        "~/.aws/credentials",
        "src/~root",
        "a\\b",
        "..\\..\\windows",
        "a\0b",
        "a\nb",
        "a\x7fb",
        "C:/Windows",
        "x" * 300,
        "d/" + "y" * 256,
    ],
)
def test_invalid_paths_are_rejected(raw: str) -> None:
    with pytest.raises(WorkspacePathError) as caught:
        normalize_path(raw, LIMITS)
    assert caught.value.error_type == "workspace-invalid"
    assert caught.value.status == 422


def test_path_length_limit_comes_from_the_limits() -> None:
    short = WorkspaceLimits(max_path_chars=10)
    assert normalize_path("abcdefghij", short) == "abcdefghij"
    with pytest.raises(WorkspacePathError, match="limit is 10"):
        normalize_path("abcdefghijk", short)


_segment = st.sampled_from(["", ".", "..", "~", "a", "b.txt", "~x", "\\", "\0", "/", "é", " "])


@given(st.lists(_segment, max_size=8).map("/".join) | st.text(max_size=40))
def test_a_normalized_path_never_leaves_the_root(raw: str) -> None:
    try:
        path = normalize_path(raw, LIMITS)
    except WorkspacePathError:
        return
    assert path
    assert not path.startswith("/")
    assert "\\" not in path
    assert "\0" not in path
    assert len(path) <= LIMITS.max_path_chars
    parts = path.split("/")
    assert ".." not in parts
    assert "." not in parts
    assert "" not in parts
    assert not any(part.startswith("~") for part in parts)
    # joined under a root, it stays under it
    assert posixpath.normpath(posixpath.join("/workspace", path)).startswith("/workspace/")
    # idempotent
    assert normalize_path(path, LIMITS) == path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/workspace/src/app.py", "src/app.py"),
        ("src/app.py", "src/app.py"),
        ("./src/app.py", "src/app.py"),
        ("/workspace", ""),
        ("/workspace/", ""),
        (".", ""),
        ("", ""),
    ],
)
def test_resolve_accepts_workspace_forms(raw: str, expected: str) -> None:
    workspace = Workspace({"src/app.py": b"x"}, LIMITS)
    assert workspace.resolve(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "../../etc/passwd",
        "/etc/hostname",
        "~/.aws/credentials",
        "/workspace/../etc/passwd",
        "/workspacefoo/x",
        "/proc/self/environ",
        "..",
    ],
)
def test_resolve_rejects_anything_outside(raw: str) -> None:
    workspace = Workspace({"src/app.py": b"x"}, LIMITS)
    with pytest.raises(WorkspacePathError):
        workspace.resolve(raw)
    with pytest.raises(WorkspacePathError):
        workspace.read_bytes(raw)
