"""Anthropic's server tools for WebSearch, WebFetch and Bash, and the MCP connector.

The versions are the newest the installed SDK knows (``anthropic.types``:
``web_search_20260318``, ``web_fetch_20260318``, ``code_execution_20260521``);
those are generally available there and need no beta header. The MCP connector
(``mcp_servers`` + ``mcp_toolset`` tools) is a beta: :data:`MCP_BETA`.
tests/tools/test_server_tools.py fails when the SDK learns a newer version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agents.config import McpServerSetting, Settings
from agents.errors import ConfigurationError

__all__ = [
    "CODE_EXECUTION_TOOL",
    "MCP_BETA",
    "SERVER_TOOL_NAMES",
    "WEB_FETCH_TOOL",
    "WEB_SEARCH_TOOL",
    "configured_server",
    "mcp_server_entry",
    "mcp_toolset",
    "read_secret",
    "server_tool",
]

WEB_SEARCH_TOOL = "web_search_20260318"
WEB_FETCH_TOOL = "web_fetch_20260318"
CODE_EXECUTION_TOOL = "code_execution_20260521"
MCP_BETA = "mcp-client-2025-11-20"

#: Frontmatter name -> the server tool's name in the request, in the order offered.
SERVER_TOOL_NAMES: dict[str, str] = {
    "WebSearch": "web_search",
    "WebFetch": "web_fetch",
    "Bash": "code_execution",
}


def _domains(settings: Settings) -> dict[str, Any]:
    if settings.web_allowed_domains:
        return {"allowed_domains": list(settings.web_allowed_domains)}
    if settings.web_blocked_domains:
        return {"blocked_domains": list(settings.web_blocked_domains)}
    return {}


def server_tool(frontmatter_name: str, settings: Settings) -> dict[str, Any]:
    """The request's tool entry for ``WebSearch``, ``WebFetch`` or ``Bash``."""
    if frontmatter_name == "WebSearch":
        return {
            "type": WEB_SEARCH_TOOL,
            "name": "web_search",
            "max_uses": settings.web_search_max_uses,
            **_domains(settings),
        }
    if frontmatter_name == "WebFetch":
        return {
            "type": WEB_FETCH_TOOL,
            "name": "web_fetch",
            "max_uses": settings.web_fetch_max_uses,
            **_domains(settings),
        }
    if frontmatter_name == "Bash":
        return {"type": CODE_EXECUTION_TOOL, "name": "code_execution"}
    raise KeyError(frontmatter_name)


def mcp_server_entry(
    name: str, server: McpServerSetting, secret: Callable[[str], str]
) -> dict[str, Any]:
    """The ``mcp_servers`` entry: URL, name and the bearer token from Secrets Manager."""
    entry: dict[str, Any] = {"type": "url", "url": server.url, "name": name}
    if server.token_secret:
        entry["authorization_token"] = secret(server.token_secret)
    return entry


def mcp_toolset(server: str, tools: list[str] | None) -> dict[str, Any]:
    """The ``mcp_toolset`` tool entry: every tool of the server, or only ``tools``."""
    entry: dict[str, Any] = {"type": "mcp_toolset", "mcp_server_name": server}
    if tools is not None:
        entry["default_config"] = {"enabled": False}
        entry["configs"] = {tool: {"enabled": True} for tool in sorted(tools)}
    return entry


def read_secret(secret_name: str) -> str:
    """A token secret's value, through the container's cached Secrets Manager provider."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    from agents.secrets import SECRET_MAX_AGE_S, _provider

    try:
        value: Any = _provider().get(secret_name, max_age=SECRET_MAX_AGE_S)
    except GetParameterError:
        raise ConfigurationError(
            f"cannot read the MCP token secret {secret_name!r} (MCP_SERVERS)"
        ) from None
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
    if not text.strip():
        raise ConfigurationError(f"the MCP token secret {secret_name!r} is empty")
    return text.strip()


def configured_server(settings: Settings, name: str) -> McpServerSetting | None:
    servers: Mapping[str, McpServerSetting] = settings.mcp_servers
    return servers.get(name)
