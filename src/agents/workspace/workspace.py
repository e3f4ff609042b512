"""The invocation's workspace: files in memory, bounded, and what changed in them."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel

from agents.errors import WorkspaceError, WorkspaceLimitExceeded, WorkspacePathError
from agents.workspace.diff import file_diff, is_binary_content
from agents.workspace.limits import WorkspaceLimits
from agents.workspace.paths import ROOT, normalize_path, relative_to_root

__all__ = ["FileChange", "Workspace"]

#: The timestamp of every entry of :meth:`Workspace.to_zip` (same files -> same bytes).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class FileChange(BaseModel):
    """One file the run added, modified or deleted."""

    path: str
    change: Literal["added", "modified", "deleted"]
    bytes: int  # size after the change (0 when deleted)


class Workspace:
    """Files by normalized path, held in memory; thread-safe (tool calls run concurrently).

    Directories are implied by the file paths. Every write is checked against the limits
    before it happens; the files it was created with are kept to compute :meth:`changes`.
    """

    ROOT = ROOT

    def __init__(self, files: Mapping[str, bytes], limits: WorkspaceLimits) -> None:
        self.limits = limits
        self._lock = threading.RLock()
        checked: dict[str, bytes] = {}
        for raw_path, data in files.items():
            path = normalize_path(raw_path, limits)
            if path in checked:
                raise WorkspacePathError(f"the path {path!r} is given twice")
            checked[path] = bytes(data)
        _check_bounds(checked, limits)
        _check_tree(checked)
        self._original: dict[str, bytes] = dict(checked)
        self._files: dict[str, bytes] = checked
        self._total = sum(len(data) for data in checked.values())

    @classmethod
    def from_text_files(cls, files: Mapping[str, str], limits: WorkspaceLimits) -> Workspace:
        """A workspace from inline files (path -> UTF-8 text)."""
        return cls({path: text.encode("utf-8") for path, text in files.items()}, limits)

    @classmethod
    def from_archive(cls, data: bytes, limits: WorkspaceLimits) -> Workspace:
        """A workspace from a ``.zip`` or ``.tar.gz`` (see :mod:`agents.workspace.archives`)."""
        from agents.workspace.archives import read_archive

        return cls(read_archive(data, limits), limits)

    # --- paths --------------------------------------------------------------------

    def resolve(self, path: str) -> str:
        """The workspace path of ``"/workspace/x"``, ``"x"`` or ``"./x"``; ``""`` is the root.

        Anything that would leave the workspace raises :class:`WorkspacePathError`.
        """
        relative = relative_to_root(path)
        if relative.startswith("/"):
            raise WorkspacePathError(
                f"{path!r} is outside the workspace; paths are relative to {ROOT}"
            )
        if relative.strip("/.") == "" and ".." not in relative:
            return ""
        return normalize_path(relative, self.limits)

    def exists(self, path: str) -> bool:
        resolved = self.resolve(path)
        with self._lock:
            return resolved in self._files or self._is_dir(resolved)

    def is_dir(self, path: str) -> bool:
        resolved = self.resolve(path)
        with self._lock:
            return self._is_dir(resolved)

    def _is_dir(self, resolved: str) -> bool:
        if not resolved:
            return True
        prefix = resolved + "/"
        return any(name.startswith(prefix) for name in self._files)

    # --- files --------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes:
        resolved = self.resolve(path)
        with self._lock:
            try:
                return self._files[resolved]
            except KeyError:
                raise FileNotFoundError(f"{ROOT}/{resolved}") from None

    def is_binary(self, path: str) -> bool:
        return is_binary_content(self.read_bytes(path))

    def write_bytes(self, path: str, data: bytes) -> None:
        """Create or replace a file; :class:`WorkspaceLimitExceeded` past a bound."""
        resolved = self.resolve(path)
        if not resolved:
            raise WorkspacePathError("the workspace root is a directory, not a file")
        data = bytes(data)
        with self._lock:
            if self._is_dir(resolved):
                raise WorkspacePathError(f"{ROOT}/{resolved} is a directory")
            parts = resolved.split("/")
            for depth in range(1, len(parts)):
                parent = "/".join(parts[:depth])
                if parent in self._files:
                    raise WorkspacePathError(f"{ROOT}/{parent} is a file, not a directory")
            limits = self.limits
            if len(data) > limits.max_file_bytes:
                raise WorkspaceLimitExceeded(
                    f"{ROOT}/{resolved} would be {len(data)} bytes; the per-file limit is "
                    f"{limits.max_file_bytes}",
                    limit=limits.max_file_bytes,
                )
            previous = self._files.get(resolved)
            if previous is None and len(self._files) >= limits.max_files:
                raise WorkspaceLimitExceeded(
                    f"the workspace already has {len(self._files)} files; the limit is "
                    f"{limits.max_files}",
                    limit=limits.max_files,
                )
            total = self._total - len(previous or b"") + len(data)
            if total > limits.max_total_bytes:
                raise WorkspaceLimitExceeded(
                    f"the workspace would be {total} bytes; the limit is {limits.max_total_bytes}",
                    limit=limits.max_total_bytes,
                )
            self._files[resolved] = data
            self._total = total

    def delete(self, path: str) -> None:
        resolved = self.resolve(path)
        with self._lock:
            if resolved not in self._files:
                raise FileNotFoundError(f"{ROOT}/{resolved}")
            self._total -= len(self._files.pop(resolved))

    def paths(self) -> list[str]:
        """The file paths, sorted (directories are not listed)."""
        with self._lock:
            return sorted(self._files)

    # --- the result ---------------------------------------------------------------

    def changes(self) -> list[FileChange]:
        """Added, modified and deleted files against the input, by path."""
        with self._lock:
            current, original = dict(self._files), self._original
        found: list[FileChange] = []
        for path in sorted(current.keys() | original.keys()):
            if path not in original:
                found.append(FileChange(path=path, change="added", bytes=len(current[path])))
            elif path not in current:
                found.append(FileChange(path=path, change="deleted", bytes=0))
            elif current[path] != original[path]:
                found.append(FileChange(path=path, change="modified", bytes=len(current[path])))
        return found

    def patch(self) -> str:
        """A unified diff of every change (``git apply`` / ``patch -p1`` apply it to the input)."""
        with self._lock:
            current, original = dict(self._files), self._original
        return "".join(
            file_diff(change.path, original.get(change.path), current.get(change.path))
            for change in self.changes()
        )

    def changed_files(self) -> dict[str, bytes]:
        """The current content of every added or modified file."""
        with self._lock:
            current = dict(self._files)
        return {
            change.path: current[change.path]
            for change in self.changes()
            if change.change != "deleted"
        }

    def to_zip(self) -> bytes:
        """The whole current workspace as a zip (deterministic: same files, same bytes)."""
        with self._lock:
            current = dict(self._files)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(current):
                info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, current[path])
        return buffer.getvalue()

    def total_bytes(self) -> int:
        with self._lock:
            return self._total


def _check_bounds(files: Mapping[str, bytes], limits: WorkspaceLimits) -> None:
    if len(files) > limits.max_files:
        raise WorkspaceLimitExceeded(
            f"the workspace has {len(files)} files; the limit is {limits.max_files}",
            limit=limits.max_files,
        )
    total = 0
    for path, data in files.items():
        if len(data) > limits.max_file_bytes:
            raise WorkspaceLimitExceeded(
                f"{path!r} is {len(data)} bytes; the per-file limit is {limits.max_file_bytes}",
                limit=limits.max_file_bytes,
            )
        total += len(data)
    if total > limits.max_total_bytes:
        raise WorkspaceLimitExceeded(
            f"the workspace is {total} bytes; the limit is {limits.max_total_bytes}",
            limit=limits.max_total_bytes,
        )


def _check_tree(files: Mapping[str, bytes]) -> None:
    """No path may be both a file and a directory (``a`` and ``a/b``)."""
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise WorkspaceError(f"{parent!r} is both a file and a directory")
