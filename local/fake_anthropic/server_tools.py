"""Server-tool emulation: ``web_search``, ``web_fetch`` and ``code_execution``, offline.

Each offered server tool is used once per conversation, one per response, with
fixed content marked OFFLINE; while another one is still to be used the
response ends with ``stop_reason: pause_turn`` (the caller continues it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from local.fake_anthropic.conversation import first_user_text, server_tools, server_uses, tool_id

__all__ = ["OFFLINE_URL", "ServerStep", "next_server_step"]

OFFLINE_URL = "https://offline.invalid/"
_NOT_EXECUTED = (
    "offline: not executed. agent-gateway's fake Messages API runs no code; "
    "connect a real Anthropic API key for code execution."
)
_RETRIEVED_AT = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class ServerStep:
    """Server-tool blocks for this response and the request counts for ``usage``."""

    blocks: list[dict[str, Any]]
    #: True when another offered server tool is still to be used: ``pause_turn``.
    pause: bool
    #: ``usage.server_tool_use`` (None when the request offers no server tool).
    usage: dict[str, int] | None


def _tool_name(tool: dict[str, Any]) -> str | None:
    kind = str(tool.get("type", ""))
    for family in ("web_search", "web_fetch", "code_execution"):
        if kind.startswith(family + "_"):
            return family
    return None


def _query(task: str) -> str:
    return " ".join(task.split()[:8]) or "offline search"


def _web_search(call_id: str, task: str) -> list[dict[str, Any]]:
    query = _query(task)
    results = [
        {
            "type": "web_search_result",
            "url": f"{OFFLINE_URL}search/{number}",
            "title": f"OFFLINE search result {number} for: {query}",
            "encrypted_content": f"OFFLINE-{number}: fixed offline content, not from the web.",
            "page_age": None,
        }
        for number in (1, 2)
    ]
    return [
        {"type": "server_tool_use", "id": call_id, "name": "web_search", "input": {"query": query}},
        {"type": "web_search_tool_result", "tool_use_id": call_id, "content": results},
    ]


def _web_fetch(call_id: str, task: str) -> list[dict[str, Any]]:
    found = re.search(r"https?://[^\s)>\]\"']+", task)
    url = found.group(0) if found else OFFLINE_URL
    document = {
        "type": "document",
        "source": {
            "type": "text",
            "media_type": "text/plain",
            "data": f"OFFLINE: fixed content standing in for {url}; nothing was fetched.",
        },
        "title": "OFFLINE fetch",
    }
    result = {
        "type": "web_fetch_result",
        "url": url,
        "content": document,
        "retrieved_at": _RETRIEVED_AT,
    }
    return [
        {"type": "server_tool_use", "id": call_id, "name": "web_fetch", "input": {"url": url}},
        {"type": "web_fetch_tool_result", "tool_use_id": call_id, "content": result},
    ]


def _code_execution(call_id: str, tool_type: str) -> list[dict[str, Any]]:
    outcome = {"stdout": "", "stderr": _NOT_EXECUTED, "return_code": 1, "content": []}
    if tool_type == "code_execution_20250522":  # the Python-only version
        return _execution_blocks(call_id, "code_execution", {"code": "print('offline')"}, outcome)
    return _execution_blocks(call_id, "bash_code_execution", {"command": "ls"}, outcome)


def _execution_blocks(
    call_id: str, name: str, tool_input: dict[str, Any], outcome: dict[str, Any]
) -> list[dict[str, Any]]:
    """``name``'s use block and its result block (``<name>_tool_result``/``<name>_result``)."""
    return [
        {"type": "server_tool_use", "id": call_id, "name": name, "input": tool_input},
        {
            "type": f"{name}_tool_result",
            "tool_use_id": call_id,
            "content": {"type": f"{name}_result", **outcome},
        },
    ]


def next_server_step(body: dict[str, Any]) -> ServerStep:
    """The server tool this response uses, if any is offered and not used yet."""
    offered = [(tool, name) for tool in server_tools(body) if (name := _tool_name(tool))]
    if not offered:
        return ServerStep(blocks=[], pause=False, usage=None)
    used = {"code_execution" if n.endswith("code_execution") else n for n in server_uses(body)}
    pending = [(tool, name) for tool, name in offered if name not in used]
    usage = {"web_search_requests": 0, "web_fetch_requests": 0}
    if not pending:
        return ServerStep(blocks=[], pause=False, usage=usage)
    tool, name = pending[0]
    call_id = tool_id(body, "srvtoolu", 0)
    task = first_user_text(body)
    if name == "web_search":
        blocks = _web_search(call_id, task)
        usage["web_search_requests"] = 1
    elif name == "web_fetch":
        blocks = _web_fetch(call_id, task)
        usage["web_fetch_requests"] = 1
    else:
        blocks = _code_execution(call_id, str(tool.get("type")))
    return ServerStep(blocks=blocks, pause=len(pending) > 1, usage=usage)
