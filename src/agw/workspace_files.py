"""``agw invoke``'s files: ``--files`` read inline, ``--workspace`` zipped for upload, and
``--out`` writing the files the run changed (never outside the directory)."""

from __future__ import annotations

import io
import os
import sys
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agw.client import AgwClient

__all__ = ["inline_files", "write_changed_files", "zip_directory"]

#: Directories never sent with ``--workspace`` (VCS data, caches, virtual environments).
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules"})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _workspace_name(path: Path, base: Path) -> str:
    relative = os.path.relpath(path.resolve(), base.resolve())
    name = PurePosixPath(*Path(relative).parts).as_posix()
    if name == ".." or name.startswith("../") or Path(relative).is_absolute():
        raise ValueError(f"{path} is outside {base}; --files takes paths under it")
    return name


def inline_files(paths: Iterable[str], base: Path | None = None) -> dict[str, str]:
    """``--files``: each file (or every file under a directory) by its path relative to the
    current directory, as UTF-8 text (binary files need ``--workspace``)."""
    root = base or Path.cwd()
    files: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        found = sorted(_walk(path)) if path.is_dir() else [path]
        for item in found:
            if not item.is_file():
                raise ValueError(f"{item}: no such file")
            data = item.read_bytes()
            try:
                if b"\0" in data:
                    raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
                files[_workspace_name(item, root)] = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(
                    f"{item} is not UTF-8 text; send binary files with --workspace DIR"
                ) from None
    return files


def _walk(directory: Path) -> Iterable[Path]:
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in names:
            path = Path(current, name)
            if not path.is_symlink():
                yield path


def zip_directory(directory: Path) -> bytes:
    """``--workspace DIR``: the directory's regular files as a zip (symlinks and
    :data:`SKIPPED_DIRS` left out), names relative to ``DIR``."""
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(_walk(directory)):
            info = zipfile.ZipInfo(_workspace_name(path, directory), date_time=_ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _target(out_dir: Path, path: str) -> Path:
    """``out_dir / path``, refusing anything that would land outside ``out_dir``."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or ".." in parts or "\\" in path or "\0" in path:
        raise ValueError(f"refusing to write {path!r}: not a relative workspace path")
    target = out_dir.joinpath(*parts)
    if not target.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"refusing to write {path!r}: it leaves {out_dir}")
    return target


def write_changed_files(
    client: AgwClient, invocation: Mapping[str, Any], out_dir: Path
) -> list[str]:
    """``--out DIR``: write every added or modified file of the run; the paths written.

    Deleted files are named on stderr, not removed.
    """
    invocation_id = str(invocation.get("id") or "")
    written: list[str] = []
    for change in invocation.get("files_changed") or []:
        path = str(change.get("path") or "")
        if change.get("change") == "deleted":
            print(f"deleted by the run: {path}", file=sys.stderr)
            continue
        target = _target(out_dir, path)
        data = client.get_result_file(invocation_id, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(path)
    return written
