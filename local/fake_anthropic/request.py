"""Reading a Messages API request: validation, its text, and token estimates."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = [
    "CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD_TOKENS",
    "REQUEST_OVERHEAD_TOKENS",
    "PromptPiece",
    "estimate_tokens",
    "last_user_text",
    "message_text",
    "prompt_pieces",
    "system_text",
    "validate_request",
]

#: Rough token estimate: one token per this many characters (at least one token).
CHARS_PER_TOKEN = 4
#: Tokens added per message and per request (role markers, formatting).
MESSAGE_OVERHEAD_TOKENS = 4
REQUEST_OVERHEAD_TOKENS = 8

#: One piece of the flattened prompt: (fingerprint, tokens, cache ttl or None).
PromptPiece = tuple[str, int, str | None]


def estimate_tokens(text: str) -> int:
    """Token estimate from text length (~4 characters a token; 0 for no text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def validate_request(body: Any) -> str | None:
    """A message for an invalid Messages request (None when it is acceptable)."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "model: field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: must be an integer >= 1"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in {"user", "assistant"}:
            return f"messages.{index}.role: must be 'user' or 'assistant'"
        if message.get("content") in (None, "", []):
            return f"messages.{index}.content: must not be empty"
    if messages[0].get("role") != "user":
        return "messages.0.role: the first message must use the 'user' role"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: must be a string or a list of text blocks"
    return None


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, dict):
        if block.get("type") == "text":
            return str(block.get("text", ""))
        return json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)
    return json.dumps(block, sort_keys=True, default=str)


def _cache_ttl(block: Any) -> str | None:
    if isinstance(block, dict) and isinstance(block.get("cache_control"), dict):
        control = block["cache_control"]
        if control.get("type") == "ephemeral":
            return str(control.get("ttl") or "5m")
    return None


def _content_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return content
    return []


def prompt_pieces(body: dict[str, Any]) -> list[PromptPiece]:
    """The prompt in API order (tools, system blocks, message blocks) as pieces."""
    pieces: list[PromptPiece] = []
    for tool in body.get("tools") or []:
        text = json.dumps(tool, sort_keys=True, default=str)
        pieces.append((text, estimate_tokens(text), _cache_ttl(tool)))
    system = body.get("system")
    for block in _content_blocks(system) if system is not None else []:
        text = _block_text(block)
        pieces.append((text, estimate_tokens(text), _cache_ttl(block)))
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role", ""))
        pieces.append((f"<{role}>", MESSAGE_OVERHEAD_TOKENS, None))
        for block in _content_blocks(message.get("content")):
            text = _block_text(block)
            pieces.append((text, estimate_tokens(text), _cache_ttl(block)))
    return pieces


def system_text(body: dict[str, Any]) -> str:
    """The system prompt as one text (blocks joined by blank lines)."""
    system = body.get("system")
    if system is None:
        return ""
    return "\n\n".join(_block_text(block) for block in _content_blocks(system))


def message_text(message: Any) -> str:
    """One message's content blocks as one text."""
    if not isinstance(message, dict):
        return ""
    return "\n".join(_block_text(block) for block in _content_blocks(message.get("content")))


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user turn ("" when there is none)."""
    messages = body.get("messages") or []
    return next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
