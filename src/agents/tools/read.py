"""Read: a workspace file as numbered lines (Claude Code's Read tool)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.tools.base import ToolInputError, ToolResult, WorkspaceFiles
from agents.tools.paths import ROOT, resolve_file, shown
from agents.tools.schema import tool_schema
from agents.tools.session import ToolSession
from agents.tools.text import numbered, read_text

__all__ = ["DEFAULT_READ_LINES", "MAX_READ_BYTES", "ReadTool"]

#: Lines returned when no ``limit`` is given.
DEFAULT_READ_LINES = 2000
#: A larger file must be read in parts (``offset``/``limit``).
MAX_READ_BYTES = 256 * 1024


class ReadInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file_path: str
    offset: int | None = Field(default=None, ge=0)
    limit: int | None = Field(default=None, ge=1)


class ReadTool:
    name = "Read"

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": (
                f"Reads a file from the workspace ({ROOT}). file_path is {ROOT}/<path> or "
                f"relative to {ROOT}. By default up to {DEFAULT_READ_LINES} lines from the "
                "start are returned; offset and limit read a part of a long file. Lines come "
                "in cat -n format, numbered from 1; lines longer than 2000 characters are "
                "truncated. Binary files cannot be read as text. Read a file before you Edit "
                "or overwrite it."
            ),
            "input_schema": tool_schema(
                {
                    "file_path": {
                        "type": "string",
                        "description": "The absolute path to the file to read",
                    },
                    "offset": {
                        "type": "number",
                        "description": "The line number to start reading from. Only provide "
                        "if the file is too large to read at once",
                    },
                    "limit": {
                        "type": "number",
                        "description": "The number of lines to read. Only provide if the file "
                        "is too large to read at once.",
                    },
                },
                required=["file_path"],
            ),
        }

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult:
        args = ReadInput.model_validate(tool_input)
        path = resolve_file(workspace, args.file_path)
        text = read_text(workspace, path)
        size = len(text.encode("utf-8"))
        if size > MAX_READ_BYTES and args.offset is None and args.limit is None:
            raise ToolInputError(
                f"File content ({size // 1024} KB) exceeds maximum allowed size "
                f"({MAX_READ_BYTES // 1024} KB). Use offset and limit to read parts of "
                "the file, or Grep to search it."
            )
        session.mark_read(path)
        lines = text.splitlines()
        if not lines:
            return ToolResult(
                content=f"<system-reminder>Warning: {shown(path)} exists but its contents "
                "are empty.</system-reminder>"
            )
        first = max(args.offset or 1, 1)
        if first > len(lines):
            return ToolResult(
                content=f"<system-reminder>Warning: {shown(path)} exists but is shorter than "
                f"the provided offset ({first}). The file has {len(lines)} lines."
                "</system-reminder>"
            )
        count = args.limit or DEFAULT_READ_LINES
        return ToolResult(content=numbered(lines[first - 1 : first - 1 + count], first))
