"""Write: create or overwrite a workspace file (Claude Code's Write tool)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.tools.base import ToolInputError, ToolResult, WorkspaceFiles
from agents.tools.edit_rules import require_read, write_text
from agents.tools.paths import ROOT, resolve_file, shown
from agents.tools.schema import tool_schema
from agents.tools.session import ToolSession

__all__ = ["WriteTool"]


class WriteInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file_path: str
    content: str


class WriteTool:
    name = "Write"

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": (
                f"Writes a file in the workspace ({ROOT}), replacing it if it exists. An "
                "existing file must be Read first. Prefer Edit for changes to an existing file."
            ),
            "input_schema": tool_schema(
                {
                    "file_path": {
                        "type": "string",
                        "description": "The absolute path to the file to write (must be "
                        "absolute, not relative)",
                    },
                    "content": {
                        "type": "string",
                        "description": "The content to write to the file",
                    },
                },
                required=["file_path", "content"],
            ),
        }

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult:
        args = WriteInput.model_validate(tool_input)
        path = resolve_file(workspace, args.file_path)
        with session.writing():
            if workspace.is_dir(path):
                raise ToolInputError(f"EISDIR: {shown(path)} is a directory")
            existed = workspace.exists(path)
            require_read(workspace, path, session)
            write_text(workspace, path, args.content, session)
        if existed:
            return ToolResult(content=f"The file {shown(path)} has been updated.")
        return ToolResult(content=f"File created successfully at: {shown(path)}")
