"""The tool plan: definition names, deployment takes away, requests never add."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anthropic
import pytest

from agents.config import MCP_TOKEN_SECRET_PREFIX, ConfigError, Settings
from agents.definition_lint import lint_paths
from agents.definitions import AgentDefinition, parse_definition
from agents.tools.plan import ToolPlan, plan_tools
from agents.tools.server_tools import CODE_EXECUTION_TOOL, MCP_BETA, WEB_FETCH_TOOL, WEB_SEARCH_TOOL
from tests.infra import iam_actions

FILE_TOOLS = ["Read", "Glob", "Grep", "LS", "Write", "Edit", "MultiEdit"]


def definition(tools: str | None) -> AgentDefinition:
    line = f"tools: {tools}\n" if tools is not None else ""
    text = f"---\nname: demo\ndescription: d\n{line}---\nYou help.\n"
    return parse_definition(text.encode(), path="demo.md")


def no_secret(name: str) -> str:
    raise AssertionError(f"no secret should be read, got {name}")


def plan(tools: str | None, *, files: bool = True, **settings: object) -> ToolPlan:
    return plan_tools(
        definition(tools),
        has_files=files,
        settings=Settings.from_env({k.upper(): str(v) for k, v in settings.items()}),
        secret=no_secret,
    )


def test_no_tools_field_means_workspace_tools_with_files_and_none_without() -> None:
    assert plan(None).client_tools == FILE_TOOLS
    assert plan(None).unavailable == []
    bare = plan(None, files=False)
    assert not bare.offers_tools
    assert bare.unavailable == []
    assert bare.tool_definitions() == []
    assert not plan("[]").offers_tools


def test_named_tools_in_catalog_order_with_server_tools_after() -> None:
    p = plan("WebSearch, Edit, Read, WebFetch, Grep")
    assert p.client_tools == ["Read", "Grep", "Edit"]
    names = [d["name"] for d in p.tool_definitions()]
    assert names == ["Read", "Grep", "Edit", "web_search", "web_fetch"]
    assert p.server_tools[0] == {"type": WEB_SEARCH_TOOL, "name": "web_search", "max_uses": 5}
    assert p.server_tools[1]["type"] == WEB_FETCH_TOOL
    assert p.betas == []


def test_server_tools_take_deployment_limits_and_domains() -> None:
    p = plan("WebSearch, WebFetch", web_search_max_uses=2, web_allowed_domains="python.org, a.io")
    assert p.server_tools[0]["max_uses"] == 2
    assert p.server_tools[0]["allowed_domains"] == ["python.org", "a.io"]
    assert p.server_tools[1]["allowed_domains"] == ["python.org", "a.io"]
    blocked = plan("WebFetch", web_blocked_domains="evil.example")
    assert blocked.server_tools[0]["blocked_domains"] == ["evil.example"]
    with pytest.raises(ConfigError):
        Settings.from_env({"WEB_ALLOWED_DOMAINS": "a.io", "WEB_BLOCKED_DOMAINS": "b.io"})


def test_bash_only_with_code_execution_on() -> None:
    off = plan("Read, Bash")
    assert [d["name"] for d in off.tool_definitions()] == ["Read"]
    assert off.unavailable == ["Bash"]
    on = plan("Read, Bash(git status:*)", code_execution="true")
    assert on.server_tools == [{"type": CODE_EXECUTION_TOOL, "name": "code_execution"}]
    assert on.unavailable == []


def test_disabled_tools_take_away_single_tools_and_families() -> None:
    p = plan("Read, Write, Edit, WebSearch, WebFetch", disabled_tools="file-writes, WebSearch")
    assert p.client_tools == ["Read"]
    assert [t["name"] for t in p.server_tools] == ["web_fetch"]
    assert p.unavailable == ["Write", "Edit", "WebSearch"]
    assert plan(None, disabled_tools="files").client_tools == []
    assert plan("Bash", code_execution="true", disabled_tools="bash").unavailable == ["Bash"]


def test_session_only_unknown_and_fileless_tools_are_unavailable() -> None:
    p = plan("Task, TodoWrite, Frobnicate, Read, WebSearch", files=False)
    assert p.unavailable == ["Task", "TodoWrite", "Frobnicate", "Read"]
    assert [t["name"] for t in p.server_tools] == ["web_search"]


def test_mcp_tools_only_for_configured_servers_with_their_token() -> None:
    servers = json.dumps(
        {
            "docs": {"url": "https://mcp.example.com/docs", "token_secret": "agent-gateway/mcp/d"},
            "open": {"url": "https://mcp.example.com/open"},
        }
    )
    settings = Settings.from_env({"MCP_SERVERS": servers})
    read: list[str] = []

    def secret(name: str) -> str:
        read.append(name)
        return "tok-123"

    p = plan_tools(
        definition("mcp__docs__search, mcp__docs__fetch, mcp__open, mcp__other__x"),
        has_files=False,
        settings=settings,
        secret=secret,
    )
    assert p.mcp_servers == [
        {
            "type": "url",
            "url": "https://mcp.example.com/docs",
            "name": "docs",
            "authorization_token": "tok-123",
        },
        {"type": "url", "url": "https://mcp.example.com/open", "name": "open"},
    ]
    assert p.server_tools == [
        {
            "type": "mcp_toolset",
            "mcp_server_name": "docs",
            "default_config": {"enabled": False},
            "configs": {"fetch": {"enabled": True}, "search": {"enabled": True}},
        },
        {"type": "mcp_toolset", "mcp_server_name": "open"},
    ]
    assert p.betas == [MCP_BETA]
    assert p.unavailable == ["mcp__other__x"]
    assert read == ["agent-gateway/mcp/d"]
    assert "tok-123" not in repr(p)
    assert "tok-123" not in p.model_dump_json()
    off = plan_tools(
        definition("mcp__docs__search"),
        has_files=False,
        settings=Settings.from_env({"MCP_SERVERS": servers, "DISABLED_TOOLS": "mcp__docs"}),
        secret=no_secret,
    )
    assert off.unavailable == ["mcp__docs__search"]
    assert off.mcp_servers == []


def test_mcp_servers_need_https_and_token_secrets_under_the_iam_prefix() -> None:
    with pytest.raises(ConfigError, match="MCP_SERVERS"):
        Settings.from_env({"MCP_SERVERS": '{"x": {"url": "http://169.254.169.254/"}}'})
    with pytest.raises(ConfigError, match="MCP_SERVERS"):
        Settings.from_env(
            {"MCP_SERVERS": '{"x": {"url": "https://a.io", "token_secret": "prod/db-password"}}'}
        )
    assert MCP_TOKEN_SECRET_PREFIX == "agent-gateway/mcp/"
    assert f":secret:{MCP_TOKEN_SECRET_PREFIX}*" in iam_actions.MCP_TOKENS


def _newest(prefix: str) -> str:
    types_dir = Path(anthropic.__file__).parent / "types"
    found = {
        m.group(1)
        for path in types_dir.rglob(f"*{prefix}_*_param.py")
        if (m := re.search(rf"({prefix}_\d{{8}})_param\.py$", path.name.removeprefix("beta_")))
    }
    return max(found)


def test_server_tool_versions_are_the_newest_the_sdk_knows() -> None:
    assert _newest("web_search_tool").removeprefix("web_search_tool_") == (
        WEB_SEARCH_TOOL.removeprefix("web_search_")
    )
    assert _newest("web_fetch_tool").removeprefix("web_fetch_tool_") == (
        WEB_FETCH_TOOL.removeprefix("web_fetch_")
    )
    assert _newest("code_execution_tool").removeprefix("code_execution_tool_") == (
        CODE_EXECUTION_TOOL.removeprefix("code_execution_")
    )
    beta_header = Path(anthropic.__file__).parent / "types" / "anthropic_beta_param.py"
    assert f'"{MCP_BETA}"' in beta_header.read_text()


def test_lint_warns_for_each_tool_that_will_not_be_offered(tmp_path: Path) -> None:
    path = tmp_path / "demo.md"
    path.write_text(
        "---\nname: demo\ndescription: d\ntools: Read, Bash, Task, mcp__gh__search\n---\nHi.\n"
    )
    report = lint_paths([path], Settings())
    messages = [f.message for f in report.findings if f.severity == "warning"]
    assert messages == [
        "tools: Bash will not be offered: Bash runs only as Anthropic's code execution tool, "
        "which this deployment has off (CODE_EXECUTION)",
        "tools: Task will not be offered: Claude Code runs it in its own session; the gateway "
        "has no equivalent",
        "tools: mcp__gh__search will not be offered: MCP server 'gh' is not configured for "
        "this deployment (MCP_SERVERS)",
    ]
    assert {f.line for f in report.findings} == {4}
    assert report.ok
    quiet = lint_paths([path], Settings(code_execution=True))
    assert not any("Bash" in f.message for f in quiet.findings)
