"""Reading a tool conversation: the tools a request offers and the calls made so far."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ToolCall",
    "client_tool_names",
    "first_user_text",
    "server_tools",
    "server_uses",
    "tool_calls",
    "tool_id",
]


@dataclass(frozen=True)
class ToolCall:
    """One client ``tool_use`` of an earlier turn and its ``tool_result`` (None: no answer)."""

    id: str
    name: str
    input: dict[str, Any]
    result: str | None
    is_error: bool


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def _messages(body: dict[str, Any]) -> list[Any]:
    messages = body.get("messages")
    return messages if isinstance(messages, list) else []


def client_tool_names(body: dict[str, Any]) -> set[str]:
    """Names of the client (custom) tools the request offers."""
    return {
        str(tool["name"])
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and "name" in tool and tool.get("type") in (None, "custom")
    }


def server_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The server tools the request offers (tools with a versioned ``type``), in order."""
    return [
        tool
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and tool.get("type") not in (None, "custom")
    ]


def tool_calls(body: dict[str, Any]) -> list[ToolCall]:
    """Every client tool call in the conversation, in order, with its result."""
    results: dict[str, tuple[str, bool]] = {}
    for message in _messages(body):
        for block in _blocks(message):
            if block.get("type") == "tool_result":
                text = _result_text(block.get("content"))
                results[str(block.get("tool_use_id"))] = (text, bool(block.get("is_error")))
    calls = []
    for message in _messages(body):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        for block in _blocks(message):
            if block.get("type") == "tool_use":
                call_id = str(block.get("id"))
                tool_input = block.get("input")
                result, is_error = results.get(call_id, (None, False))
                calls.append(
                    ToolCall(
                        id=call_id,
                        name=str(block.get("name")),
                        input=tool_input if isinstance(tool_input, dict) else {},
                        result=result,
                        is_error=is_error,
                    )
                )
    return calls


def server_uses(body: dict[str, Any]) -> list[str]:
    """Names of the server tools already used in the conversation (``server_tool_use``)."""
    return [
        str(block.get("name"))
        for message in _messages(body)
        for block in _blocks(message)
        if block.get("type") == "server_tool_use"
    ]


def first_user_text(body: dict[str, Any]) -> str:
    """The text of the first user turn: the task."""
    messages = _messages(body)
    if not messages or not isinstance(messages[0], dict):
        return ""
    content = messages[0].get("content")
    return content if isinstance(content, str) else _result_text(content)


def tool_id(body: dict[str, Any], prefix: str, index: int) -> str:
    """A deterministic id (``toolu_…``/``srvtoolu_…``), unique within the conversation."""
    seed = json.dumps(
        [len(_messages(body)), index, first_user_text(body)[:500], prefix], default=str
    )
    return f"{prefix}_01{hashlib.sha256(seed.encode()).hexdigest()[:22]}"
