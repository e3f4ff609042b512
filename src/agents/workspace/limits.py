"""The bounds every workspace is held to (from the deployment's settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from agents.config import Settings

__all__ = ["WorkspaceLimits"]


class WorkspaceLimits(BaseModel):
    """File count, total and per-file bytes, and path length of one workspace."""

    model_config = ConfigDict(frozen=True)

    max_files: int = Field(default=1000, ge=1)
    max_total_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_file_bytes: int = Field(default=2 * 1024 * 1024, ge=1)
    max_path_chars: int = Field(default=256, ge=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkspaceLimits:
        """``WORKSPACE_MAX_FILES``, ``_MAX_BYTES``, ``_MAX_FILE_BYTES``, ``_MAX_PATH_CHARS``."""
        return cls(
            max_files=settings.workspace_max_files,
            max_total_bytes=settings.workspace_max_bytes,
            max_file_bytes=settings.workspace_max_file_bytes,
            max_path_chars=settings.workspace_max_path_chars,
        )
