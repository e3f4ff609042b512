"""Workspace: bounded writes, changes, the patch (applied with real git apply / patch -p1), zip."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agents.workspace import (
    FileChange,
    Workspace,
    WorkspaceError,
    WorkspaceLimitExceeded,
    WorkspaceLimits,
    WorkspacePathError,
)

LIMITS = WorkspaceLimits()

INPUT = {
    "src/app.py": "import os\n\n\ndef main():\n    # TODO: greet\n    return 1\n",
    "src/util.py": "def helper():\n    return 2\n",
    "no_newline.txt": "last line without newline",
    "docs/old.md": "# old\n",
    "naïve name.txt": "ünïcode\n",
    "empty.txt": "",
}


def _edited() -> Workspace:
    workspace = Workspace.from_text_files(INPUT, LIMITS)
    app = workspace.read_bytes("/workspace/src/app.py").decode()
    workspace.write_bytes("src/app.py", app.replace("# TODO: greet", 'print("hi")').encode())
    workspace.write_bytes("no_newline.txt", b"last line changed, still no newline")
    workspace.write_bytes("src/new_module.py", b"VALUE = 3\n")
    workspace.write_bytes("assets/logo.bin", bytes(range(256)) * 4)
    workspace.write_bytes("naïve name.txt", "ünïcode\nmore\n".encode())
    workspace.write_bytes("created_empty.txt", b"")
    workspace.delete("docs/old.md")
    workspace.delete("empty.txt")
    return workspace


def test_changes_name_every_kind() -> None:
    changes = _edited().changes()
    assert changes == [
        FileChange(path="assets/logo.bin", change="added", bytes=1024),
        FileChange(path="created_empty.txt", change="added", bytes=0),
        FileChange(path="docs/old.md", change="deleted", bytes=0),
        FileChange(path="empty.txt", change="deleted", bytes=0),
        FileChange(path="naïve name.txt", change="modified", bytes=len("ünïcode\nmore\n".encode())),
        FileChange(path="no_newline.txt", change="modified", bytes=35),
        FileChange(path="src/app.py", change="modified", bytes=53),
        FileChange(path="src/new_module.py", change="added", bytes=10),
    ]


def test_writing_back_the_same_content_is_no_change() -> None:
    workspace = Workspace.from_text_files(INPUT, LIMITS)
    workspace.write_bytes("src/util.py", INPUT["src/util.py"].encode())
    assert workspace.changes() == []
    assert workspace.patch() == ""


def _write_input(root: Path) -> None:
    for path, text in INPUT.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode())


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_patch_applies_with_git_apply(tmp_path: Path) -> None:
    workspace = _edited()
    _write_input(tmp_path)
    (tmp_path / "result.patch").write_text(workspace.patch())
    subprocess.run(
        ["git", "apply", "--check", "result.patch"], cwd=tmp_path, check=True, capture_output=True
    )
    subprocess.run(["git", "apply", "result.patch"], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "result.patch").unlink()
    expected = {path: workspace.read_bytes(path) for path in workspace.paths()}
    assert _tree(tmp_path) == expected


@pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed")
def test_the_text_part_of_the_patch_applies_with_patch_p1(tmp_path: Path) -> None:
    workspace = Workspace.from_text_files(INPUT, LIMITS)
    workspace.write_bytes("src/util.py", b"def helper():\n    return 3\n")
    workspace.write_bytes("no_newline.txt", b"last line changed, still no newline")
    workspace.write_bytes("src/added.py", b"X = 1\n")
    workspace.delete("docs/old.md")
    _write_input(tmp_path)
    subprocess.run(
        ["patch", "-p1", "--forward", "--batch"],
        input=workspace.patch().encode(),
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "src/util.py").read_bytes() == b"def helper():\n    return 3\n"
    assert (tmp_path / "no_newline.txt").read_bytes() == b"last line changed, still no newline"
    assert (tmp_path / "src/added.py").read_bytes() == b"X = 1\n"
    assert not (tmp_path / "docs/old.md").exists()


def test_changed_files_and_zip() -> None:
    workspace = _edited()
    changed = workspace.changed_files()
    assert set(changed) == {
        "assets/logo.bin",
        "created_empty.txt",
        "naïve name.txt",
        "no_newline.txt",
        "src/app.py",
        "src/new_module.py",
    }
    archive = zipfile.ZipFile(io.BytesIO(workspace.to_zip()))
    assert sorted(archive.namelist()) == workspace.paths()
    assert archive.read("src/new_module.py") == b"VALUE = 3\n"
    assert workspace.to_zip() == workspace.to_zip()
    assert Workspace.from_archive(workspace.to_zip(), LIMITS).paths() == workspace.paths()


def test_binary_detection() -> None:
    workspace = Workspace(
        {"a.txt": b"text\n", "b.bin": b"\x00\x01", "c.latin1": "é".encode("latin-1")}, LIMITS
    )
    assert not workspace.is_binary("a.txt")
    assert workspace.is_binary("b.bin")
    assert workspace.is_binary("c.latin1")


def test_directories_and_lookup() -> None:
    workspace = Workspace.from_text_files(INPUT, LIMITS)
    assert workspace.is_dir("/workspace")
    assert workspace.is_dir("src")
    assert not workspace.is_dir("src/app.py")
    assert workspace.exists("src")
    assert workspace.exists("/workspace/src/app.py")
    assert not workspace.exists("missing.txt")
    with pytest.raises(FileNotFoundError):
        workspace.read_bytes("missing.txt")
    with pytest.raises(FileNotFoundError):
        workspace.delete("missing.txt")
    with pytest.raises(WorkspacePathError, match="is a directory"):
        workspace.write_bytes("src", b"x")
    with pytest.raises(WorkspacePathError, match="is a file"):
        workspace.write_bytes("src/app.py/inner.py", b"x")


def test_input_that_is_both_file_and_directory_is_rejected() -> None:
    with pytest.raises(WorkspaceError, match="both a file and a directory"):
        Workspace({"a": b"1", "a/b": b"2"}, LIMITS)
    with pytest.raises(WorkspacePathError, match="twice"):
        Workspace({"a": b"1", "./a": b"2"}, LIMITS)


def test_limits_bound_the_input_and_every_write() -> None:
    limits = WorkspaceLimits(max_files=3, max_total_bytes=100, max_file_bytes=60)
    with pytest.raises(WorkspaceLimitExceeded, match="4 files"):
        Workspace({f"f{i}": b"" for i in range(4)}, limits)
    with pytest.raises(WorkspaceLimitExceeded, match="per-file"):
        Workspace({"big": b"x" * 61}, limits)
    with pytest.raises(WorkspaceLimitExceeded, match="101 bytes"):
        Workspace({"a": b"x" * 60, "b": b"y" * 41}, limits)
    workspace = Workspace({"a": b"x" * 50, "b": b"y" * 40}, limits)
    with pytest.raises(WorkspaceLimitExceeded, match="per-file"):
        workspace.write_bytes("c", b"z" * 61)
    with pytest.raises(WorkspaceLimitExceeded, match="would be 101 bytes"):
        workspace.write_bytes("c", b"z" * 11)
    workspace.write_bytes("a", b"x" * 10)  # replacing frees space
    workspace.write_bytes("c", b"z" * 50)
    with pytest.raises(WorkspaceLimitExceeded, match="already has 3 files"):
        workspace.write_bytes("d", b"")
    assert workspace.total_bytes() == 100
    assert workspace.paths() == ["a", "b", "c"]


def test_concurrent_writes_respect_the_limits() -> None:
    limits = WorkspaceLimits(max_files=50, max_total_bytes=1000, max_file_bytes=100)
    workspace = Workspace({}, limits)

    def write(index: int) -> bool:
        try:
            workspace.write_bytes(f"f{index}", b"x" * 30)
        except WorkspaceLimitExceeded:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        written = sum(pool.map(write, range(100)))
    assert written == 33
    assert workspace.total_bytes() == 990
