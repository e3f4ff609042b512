"""The request's workspace: inline ``files`` or an uploaded ``workspace`` id, checked before
anything is written and loaded when the run starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from agents.workspace.limits import WorkspaceLimits
from agents.workspace.workspace import Workspace

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.workspace.uploads import WorkspaceUploads

__all__ = ["check_request_workspace", "load_request_workspace"]


def _uploads(settings: Settings, uploads: WorkspaceUploads | None) -> WorkspaceUploads:
    if uploads is not None:
        return uploads
    from agents.workspace.uploads import WorkspaceUploads, get_uploads

    default = get_uploads()
    if default.bucket == settings.effective_payload_bucket:
        return default
    return WorkspaceUploads.from_settings(settings)


def check_request_workspace(
    tenant: str,
    files: Mapping[str, str] | None,
    workspace_id: str | None,
    settings: Settings,
    *,
    uploads: WorkspaceUploads | None = None,
) -> None:
    """Raise the 4xx a run with these files would fail with (paths, bounds, a missing or
    oversized upload), before the invocation is written. No AWS call for inline files."""
    if files is not None:
        Workspace.from_text_files(files, WorkspaceLimits.from_settings(settings))
    if workspace_id is not None:
        _uploads(settings, uploads).check(tenant, workspace_id)


def load_request_workspace(
    tenant: str,
    files: Mapping[str, str] | None,
    workspace_id: str | None,
    settings: Settings,
    *,
    uploads: WorkspaceUploads | None = None,
) -> Workspace | None:
    """The run's workspace, or None when the request carries no files."""
    if files is not None:
        return Workspace.from_text_files(files, WorkspaceLimits.from_settings(settings))
    if workspace_id is not None:
        return _uploads(settings, uploads).load(tenant, workspace_id)
    return None
