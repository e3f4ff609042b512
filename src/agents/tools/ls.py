"""LS: the workspace as a tree (Claude Code's LS tool)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.tools.base import ToolInputError, ToolResult, WorkspaceFiles
from agents.tools.glob_tool import relative_to
from agents.tools.paths import ROOT, files_under, resolve_dir, shown
from agents.tools.patterns import glob_matcher
from agents.tools.schema import tool_schema
from agents.tools.session import ToolSession

__all__ = ["MAX_LS_ENTRIES", "LSTool"]

MAX_LS_ENTRIES = 1000


class LSInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str
    ignore: list[str] = Field(default_factory=list)


class LSTool:
    name = "LS"

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": (
                f"Lists files and directories under a workspace directory ({ROOT} for all "
                "of it) as a tree. ignore takes glob patterns to leave out. Prefer Glob and "
                "Grep when you know what you are looking for."
            ),
            "input_schema": tool_schema(
                {
                    "path": {
                        "type": "string",
                        "description": "The absolute path to the directory to list (must be "
                        "absolute, not relative)",
                    },
                    "ignore": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "List of glob patterns to ignore",
                    },
                },
                required=["path"],
            ),
        }

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult:
        args = LSInput.model_validate(tool_input)
        base = resolve_dir(workspace, args.path)
        if base and not workspace.is_dir(base):
            raise ToolInputError(f"{shown(base)} is not a directory (use Read for a file)")
        ignored = [glob_matcher(pattern) for pattern in args.ignore]
        entries: set[str] = set()
        for path in files_under(workspace, base):
            parts = relative_to(path, base).split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if any(m(prefix) or m(parts[depth - 1]) for m in ignored):
                    break
                entries.add(prefix + ("/" if depth < len(parts) else ""))
        lines = [f"- {shown(base)}/"]
        for entry in sorted(entries, key=lambda e: e.rstrip("/").split("/"))[:MAX_LS_ENTRIES]:
            name = entry.rstrip("/").split("/")[-1] + ("/" if entry.endswith("/") else "")
            lines.append(f"{'  ' * entry.rstrip('/').count('/')}  - {name}")
        if len(entries) > MAX_LS_ENTRIES:
            lines.append(
                f"(There are more than {MAX_LS_ENTRIES} entries; the first {MAX_LS_ENTRIES} "
                "are shown. Use a more specific path, Glob or Grep.)"
            )
        return ToolResult(content="\n".join(lines))
