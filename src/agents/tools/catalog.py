"""The client tools by name (Claude Code's names), in the order they are offered."""

from __future__ import annotations

from agents.tools.base import ClientTool
from agents.tools.edit import EditTool, MultiEditTool
from agents.tools.glob_tool import GlobTool
from agents.tools.grep import GrepTool
from agents.tools.ls import LSTool
from agents.tools.read import ReadTool
from agents.tools.write import WriteTool

__all__ = ["CLIENT_TOOL_NAMES", "READ_ONLY_TOOLS", "client_tool"]

_TOOLS: dict[str, ClientTool] = {
    tool.name: tool
    for tool in (
        ReadTool(),
        GlobTool(),
        GrepTool(),
        LSTool(),
        WriteTool(),
        EditTool(),
        MultiEditTool(),
    )
}

#: Every client tool, in the stable order of the request's ``tools``.
CLIENT_TOOL_NAMES: tuple[str, ...] = tuple(_TOOLS)
#: The tools that never change the workspace.
READ_ONLY_TOOLS: frozenset[str] = frozenset({"Read", "Glob", "Grep", "LS"})


def client_tool(name: str) -> ClientTool:
    """The client tool called ``name`` (KeyError for any other name)."""
    return _TOOLS[name]
