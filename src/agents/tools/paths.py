"""How the tools name workspace files: ``/workspace/<path>`` or relative, nothing else.

Every path the model gives goes through ``Workspace.resolve``; anything it refuses
(absolute host paths, ``..``, ``~``, NUL...) is an ``is_error`` result that names
the path and nothing more. The workspace lives in memory: no tool opens a host file.
"""

from __future__ import annotations

from collections.abc import Iterable

from agents.errors import GatewayError
from agents.tools.base import ToolInputError, WorkspaceFiles
from agents.tools.session import ToolSession

__all__ = ["ROOT", "files_under", "in_listing_order", "resolve_dir", "resolve_file", "shown"]

#: How the workspace appears to the model (``Workspace.ROOT``).
ROOT = "/workspace"
_ROOT_NAMES = frozenset({"", ".", "./", ROOT, ROOT + "/"})
_ECHO_CHARS = 200


def shown(path: str) -> str:
    """The path as the model sees it: ``/workspace/src/app.py``."""
    return f"{ROOT}/{path}" if path else ROOT


def _outside(raw: str) -> ToolInputError:
    echo = raw if len(raw) <= _ECHO_CHARS else raw[:_ECHO_CHARS] + "..."
    return ToolInputError(
        f"{echo!r} is not a path in the workspace: only files under {ROOT} can be "
        f"reached (use {ROOT}/<path> or a path relative to {ROOT})"
    )


def _resolve(workspace: WorkspaceFiles, raw: str) -> str:
    try:
        path = workspace.resolve(raw)
    except GatewayError:
        raise _outside(raw) from None
    if not path:
        raise _outside(raw)
    return path


def resolve_file(workspace: WorkspaceFiles, raw: str) -> str:
    """A file path in the workspace (it may not exist yet)."""
    if raw.strip() in _ROOT_NAMES:
        raise ToolInputError(f"{ROOT} is a directory, not a file")
    return _resolve(workspace, raw)


def resolve_dir(workspace: WorkspaceFiles, raw: str | None) -> str:
    """An existing directory or file to search in; ``""`` is the workspace root."""
    if raw is None or raw.strip() in _ROOT_NAMES:
        return ""
    text = raw.rstrip("/") or raw
    path = _resolve(workspace, text)
    if not workspace.is_dir(path) and not workspace.exists(path):
        raise ToolInputError(f"Path does not exist: {shown(path)}")
    return path


def files_under(workspace: WorkspaceFiles, directory: str) -> list[str]:
    """Files at or below ``directory`` (a file path names just that file), sorted."""
    if directory and not workspace.is_dir(directory):
        return [directory] if workspace.exists(directory) else []
    prefix = f"{directory}/" if directory else ""
    return [path for path in workspace.paths() if path.startswith(prefix)]


def in_listing_order(paths: Iterable[str], session: ToolSession) -> list[str]:
    """Untouched files by name, then the files this session wrote, oldest write first."""
    return sorted(paths, key=lambda path: (session.write_order(path) or 0, path))
