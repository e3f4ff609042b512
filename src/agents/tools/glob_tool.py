"""Glob: workspace files matching a pattern (Claude Code's Glob tool)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.tools.base import ToolInputError, ToolResult, WorkspaceFiles
from agents.tools.paths import (
    ROOT,
    files_under,
    in_listing_order,
    resolve_dir,
    shown,
)
from agents.tools.patterns import glob_matcher
from agents.tools.schema import tool_schema
from agents.tools.session import ToolSession

__all__ = ["MAX_GLOB_RESULTS", "GlobTool", "relative_pattern"]

MAX_GLOB_RESULTS = 100


class GlobInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pattern: str
    path: str | None = None


def relative_pattern(pattern: str, base: str) -> tuple[str, str]:
    """``(pattern, base)`` with a ``/workspace/...`` pattern made relative to the root.

    Any other absolute, ``~`` or ``..`` pattern names files outside the workspace.
    """
    if pattern == ROOT or pattern.startswith(ROOT + "/"):
        return pattern[len(ROOT) + 1 :] or "**", ""
    segments = pattern.split("/")
    if pattern.startswith(("/", "~", "\\")) or ".." in segments or "\x00" in pattern:
        raise ToolInputError(
            f"the pattern {pattern[:200]!r} reaches outside the workspace: only files "
            f"under {ROOT} can be matched"
        )
    return pattern, base


def relative_to(path: str, base: str) -> str:
    return path[len(base) + 1 :] if base else path


class GlobTool:
    name = "Glob"

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": (
                f"Fast file pattern matching over the workspace ({ROOT}). Supports glob "
                'patterns like "**/*.js" or "src/**/*.{ts,tsx}". Returns matching file paths, '
                "files changed in this run last. Use it to find files by name."
            ),
            "input_schema": tool_schema(
                {
                    "pattern": {
                        "type": "string",
                        "description": "The glob pattern to match files against",
                    },
                    "path": {
                        "type": "string",
                        "description": "The directory to search in. If not specified, the "
                        "current working directory will be used. IMPORTANT: Omit this field to "
                        'use the default directory. DO NOT enter "undefined" or "null" - simply '
                        "omit it for the default behavior. Must be a valid directory path if "
                        "provided.",
                    },
                },
                required=["pattern"],
            ),
        }

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult:
        args = GlobInput.model_validate(tool_input)
        base = resolve_dir(workspace, args.path)
        if base and not workspace.is_dir(base):
            raise ToolInputError(f"{shown(base)} is not a directory")
        pattern, base = relative_pattern(args.pattern, base)
        matches = glob_matcher(pattern)
        found = [p for p in files_under(workspace, base) if matches(relative_to(p, base))]
        if not found:
            return ToolResult(content="No files found")
        ordered = in_listing_order(found, session)
        lines = [shown(p) for p in ordered[:MAX_GLOB_RESULTS]]
        if len(ordered) > MAX_GLOB_RESULTS:
            lines.append("(Results are truncated. Consider using a more specific path or pattern.)")
        return ToolResult(content="\n".join(lines))
