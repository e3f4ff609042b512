"""The tool plan: what one run offers, from the definition's ``tools`` and the deployment.

One place decides it (docs/tools.md has the table). The definition names what it
may use; the deployment (``DISABLED_TOOLS``, ``CODE_EXECUTION``, ``MCP_SERVERS``)
only takes away; a request can never add. A definition without a ``tools`` field
gets the workspace tools when the request carries files, and nothing otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.config import Settings
from agents.definitions import AgentDefinition
from agents.tools.catalog import CLIENT_TOOL_NAMES, READ_ONLY_TOOLS, client_tool
from agents.tools.server_tools import (
    MCP_BETA,
    SERVER_TOOL_NAMES,
    configured_server,
    mcp_server_entry,
    mcp_toolset,
    read_secret,
    server_tool,
)

__all__ = ["TOOL_FAMILIES", "ToolChoice", "ToolPlan", "plan_tools", "tool_choices"]

#: ``DISABLED_TOOLS`` group names besides single tool names and ``mcp``/``mcp__<server>``.
TOOL_FAMILIES: dict[str, frozenset[str]] = {
    "files": frozenset(CLIENT_TOOL_NAMES),
    "file-reads": READ_ONLY_TOOLS,
    "file-writes": frozenset(CLIENT_TOOL_NAMES) - READ_ONLY_TOOLS,
    "web": frozenset({"WebSearch", "WebFetch"}),
}
_KNOWN = {name.lower(): name for name in (*CLIENT_TOOL_NAMES, *SERVER_TOOL_NAMES)}
#: Claude Code tools that only make sense inside its own interactive session.
_SESSION_ONLY = frozenset(
    name.lower()
    for name in (
        "Task", "Agent", "TodoWrite", "TodoRead", "NotebookRead", "NotebookEdit",
        "BashOutput", "KillBash", "KillShell", "ExitPlanMode", "SlashCommand", "Skill",
        "AskUserQuestion",
    )
)  # fmt: skip


class ToolPlan(BaseModel):
    """What a run offers the model (empty: today's single model call)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_tools: list[str] = Field(default_factory=list)
    server_tools: list[dict[str, Any]] = Field(default_factory=list)
    #: MCP connector entries; they carry bearer tokens: never log or store them.
    mcp_servers: list[dict[str, Any]] = Field(default_factory=list, repr=False, exclude=True)
    betas: list[str] = Field(default_factory=list)
    unavailable: list[str] = Field(default_factory=list)

    def tool_definitions(self) -> list[dict[str, Any]]:
        """The request's ``tools``: client tools in catalog order, then the server tools."""
        client = [client_tool(name).definition() for name in self.client_tools]
        return client + [dict(entry) for entry in self.server_tools]

    @property
    def offers_tools(self) -> bool:
        return bool(self.client_tools or self.server_tools)


@dataclass(frozen=True)
class ToolChoice:
    """One frontmatter tool and what becomes of it (``reason`` set: not offered)."""

    name: str
    canonical: str | None = None
    mcp_server: str | None = None
    mcp_tool: str | None = None
    reason: str | None = None

    @property
    def offered(self) -> bool:
        return self.reason is None


def _disabled(settings: Settings, canonical: str, mcp_server: str | None) -> bool:
    switched_off = {item.lower() for item in settings.disabled_tools}
    if canonical.lower() in switched_off:
        return True
    if mcp_server is not None:
        return bool({"mcp", f"mcp__{mcp_server}".lower()} & switched_off)
    return any(f in switched_off and canonical in m for f, m in TOOL_FAMILIES.items())


def _choose(written: str, settings: Settings, *, has_files: bool) -> ToolChoice:
    base = written.split("(", 1)[0].strip()
    if base.startswith("mcp__"):
        server, _, tool = base.removeprefix("mcp__").partition("__")
        if not server:
            return ToolChoice(written, reason="not an MCP tool name (mcp__<server>__<tool>)")
        if _disabled(settings, base, server):
            return ToolChoice(written, reason="switched off for this deployment (DISABLED_TOOLS)")
        if configured_server(settings, server) is None:
            return ToolChoice(
                written,
                reason=f"MCP server {server!r} is not configured for this deployment (MCP_SERVERS)",
            )
        return ToolChoice(written, base, mcp_server=server, mcp_tool=tool or None)
    canonical = _KNOWN.get(base.lower())
    if canonical is None:
        why = (
            "Claude Code runs it in its own session; the gateway has no equivalent"
            if base.lower() in _SESSION_ONLY
            else "not a tool the gateway knows"
        )
        return ToolChoice(written, reason=why)
    if _disabled(settings, canonical, None):
        return ToolChoice(written, reason="switched off for this deployment (DISABLED_TOOLS)")
    if canonical == "Bash" and not settings.code_execution:
        return ToolChoice(
            written,
            reason="Bash runs only as Anthropic's code execution tool, which this deployment "
            "has off (CODE_EXECUTION)",
        )
    if canonical in CLIENT_TOOL_NAMES and not has_files:
        return ToolChoice(written, reason="the request carries no files (no workspace)")
    return ToolChoice(written, canonical)


def _declares_tools(definition: AgentDefinition) -> bool:
    return bool(definition.tools) or definition.line_of("tools") is not None


def tool_choices(
    definition: AgentDefinition, settings: Settings, *, has_files: bool
) -> list[ToolChoice]:
    """Each tool the definition names (or implies), offered or with the reason it is not."""
    if not _declares_tools(definition):
        names: list[str] = list(CLIENT_TOOL_NAMES) if has_files else []
    else:
        names = list(dict.fromkeys(definition.tools))
    return [_choose(name, settings, has_files=has_files) for name in names]


def plan_tools(
    definition: AgentDefinition,
    *,
    has_files: bool,
    settings: Settings,
    secret: Callable[[str], str] = read_secret,
) -> ToolPlan:
    """The plan for one run; MCP tokens are read with ``secret`` (Secrets Manager)."""
    choices = tool_choices(definition, settings, has_files=has_files)
    if not _declares_tools(definition):
        choices = [c for c in choices if c.offered]
    offered = {c.canonical for c in choices if c.offered and c.mcp_server is None}
    mcp: dict[str, list[str] | None] = {}
    for choice in choices:
        if choice.offered and choice.mcp_server is not None:
            known = mcp.setdefault(choice.mcp_server, [])
            if choice.mcp_tool is None or known is None:
                mcp[choice.mcp_server] = None
            else:
                known.append(choice.mcp_tool)
    server_tools = [server_tool(name, settings) for name in SERVER_TOOL_NAMES if name in offered]
    server_tools += [mcp_toolset(server, tools) for server, tools in sorted(mcp.items())]
    servers = []
    for name in sorted(mcp):
        setting = configured_server(settings, name)
        assert setting is not None
        servers.append(mcp_server_entry(name, setting, secret))
    return ToolPlan(
        client_tools=[name for name in CLIENT_TOOL_NAMES if name in offered],
        server_tools=server_tools,
        mcp_servers=servers,
        betas=[MCP_BETA] if servers else [],
        unavailable=[c.name for c in choices if not c.offered],
    )
