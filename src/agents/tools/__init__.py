"""Claude Code's tools for agent runs: the workspace tools, server tools, MCP, the plan.

See docs/tools.md for the mapping from frontmatter ``tools`` to what a run offers.
"""

from agents.tools.base import (
    ClientTool,
    ToolInputError,
    ToolResult,
    WorkspaceFiles,
    run_client_tool,
)
from agents.tools.catalog import CLIENT_TOOL_NAMES, client_tool
from agents.tools.session import ToolSession

__all__ = [
    "CLIENT_TOOL_NAMES",
    "ClientTool",
    "ToolInputError",
    "ToolResult",
    "ToolSession",
    "WorkspaceFiles",
    "client_tool",
    "run_client_tool",
]
