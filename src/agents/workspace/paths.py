"""Workspace paths: the one rule for what a file name inside a workspace may be."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.errors import WorkspacePathError

if TYPE_CHECKING:
    from agents.workspace.limits import WorkspaceLimits

__all__ = ["MAX_NAME_BYTES", "ROOT", "normalize_path", "relative_to_root"]

#: How tools present the workspace to the model.
ROOT = "/workspace"
#: One path component, in UTF-8 bytes (the common file system limit).
MAX_NAME_BYTES = 255


def normalize_path(path: str, limits: WorkspaceLimits) -> str:
    """``path`` as a workspace file name: relative, posix, no ``.`` or empty components.

    ``"./src//app.py"`` -> ``"src/app.py"``. Rejected (:class:`WorkspacePathError`): empty,
    absolute, a ``..`` component, a component starting with ``~``, a backslash, NUL or any
    other control character, a drive letter (``C:``), a component over 255 bytes, or a
    result longer than ``limits.max_path_chars``.
    """
    if not isinstance(path, str) or not path:
        raise WorkspacePathError("the path is empty")
    shown = _shown(path)
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise WorkspacePathError(f"the path {shown} contains a NUL or control character")
    if "\\" in path:
        raise WorkspacePathError(f"the path {shown} contains a backslash; use '/'")
    if path.startswith("/"):
        raise WorkspacePathError(f"the path {shown} is absolute; paths are relative")
    parts = [part for part in path.split("/") if part not in {"", "."}]
    if not parts:
        raise WorkspacePathError(f"the path {shown} names no file")
    for part in parts:
        if part == "..":
            raise WorkspacePathError(f"the path {shown} leaves the workspace ('..')")
        if part.startswith("~"):
            raise WorkspacePathError(f"the path {shown} starts a component with '~'")
        if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise WorkspacePathError(f"a component of {shown} is over {MAX_NAME_BYTES} bytes")
    if len(parts[0]) == 2 and parts[0][1] == ":" and parts[0][0].isalpha():
        raise WorkspacePathError(f"the path {shown} starts with a drive letter")
    normalized = "/".join(parts)
    if len(normalized) > limits.max_path_chars:
        raise WorkspacePathError(
            f"the path {shown} is {len(normalized)} characters; the limit is "
            f"{limits.max_path_chars}",
            limit=limits.max_path_chars,
        )
    try:
        normalized.encode("utf-8")
    except UnicodeEncodeError:
        raise WorkspacePathError(f"the path {shown} is not valid Unicode") from None
    return normalized


def relative_to_root(path: str) -> str:
    """``"/workspace/x"`` -> ``"x"``, ``"/workspace"`` -> ``""``; anything else unchanged."""
    if path == ROOT or path == ROOT + "/":
        return ""
    if path.startswith(ROOT + "/"):
        return path[len(ROOT) + 1 :]
    return path


def _shown(path: str, limit: int = 80) -> str:
    """The path for a message: repr (control characters escaped), cut to ``limit``."""
    text = repr(path[:limit])
    return text + ("..." if len(path) > limit else "")
