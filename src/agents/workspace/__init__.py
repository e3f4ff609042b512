"""The invocation's workspace: bounded in-memory files, path-safe, archives checked before
unpacking; the result as ``files_changed``, a patch and a zip (docs/api.md "Workspaces")."""

from __future__ import annotations

from agents.errors import (
    WorkspaceError,
    WorkspaceLimitExceeded,
    WorkspaceNotFound,
    WorkspacePathError,
)
from agents.workspace.limits import WorkspaceLimits
from agents.workspace.paths import ROOT, normalize_path
from agents.workspace.workspace import FileChange, Workspace

__all__ = [
    "ROOT",
    "FileChange",
    "Workspace",
    "WorkspaceError",
    "WorkspaceLimitExceeded",
    "WorkspaceLimits",
    "WorkspaceNotFound",
    "WorkspacePathError",
    "normalize_path",
]
