"""A ``Completion`` framed as a Messages API ``message`` or as its SSE events, block by block."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from local.fake_anthropic.answer import DELTA_CHARS, Completion, text_deltas

__all__ = ["StreamEvent", "message_json", "stream_events"]

#: Block types whose ``input`` streams as ``input_json_delta`` chunks after ``input: {}``.
_INPUT_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event; ``delta`` marks the ``content_block_delta`` events (faults count them)."""

    name: str
    payload: dict[str, Any]

    @property
    def delta(self) -> bool:
        return self.name == "content_block_delta"


def message_json(message_id: str, model: str, completion: Completion) -> dict[str, Any]:
    """The non-streaming ``message`` object."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [dict(block) for block in completion.content],
        "stop_reason": completion.stop_reason,
        "stop_sequence": None,
        "stop_details": completion.stop_details,
        "usage": completion.usage.as_json(),
        **completion.extra,
    }


def json_chunks(text: str, size: int = DELTA_CHARS) -> Iterator[str]:
    """``text`` in pieces of at most ``size`` characters (partial JSON, as the API sends it)."""
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _block_events(index: int, block: dict[str, Any]) -> Iterator[StreamEvent]:
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start = {**block, "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in text_deltas(str(block["text"]))]
    elif kind in _INPUT_BLOCKS:
        start = {**block, "input": {}}
        encoded = json.dumps(block.get("input") or {})
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in json_chunks(encoded)]
    elif kind == "thinking":
        start = {**block, "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": p}
            for p in text_deltas(str(block.get("thinking", "")))
        ]
        deltas.append({"type": "signature_delta", "signature": str(block.get("signature", ""))})
    else:  # results and other blocks arrive whole in their content_block_start
        start = dict(block)
    yield StreamEvent(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": start},
    )
    for delta in deltas:
        yield StreamEvent(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
    yield StreamEvent("content_block_stop", {"type": "content_block_stop", "index": index})


def stream_events(message_id: str, model: str, completion: Completion) -> Iterator[StreamEvent]:
    """The SDK's event order: message_start, ping, then each block's start/deltas/stop, stops."""
    start_usage = {**completion.usage.as_json(), "output_tokens": 1}
    start_usage.pop("server_tool_use", None)
    yield StreamEvent(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": start_usage,
            },
        },
    )
    for index, block in enumerate(completion.content):
        events = _block_events(index, block)
        yield next(events)  # content_block_start
        if index == 0:
            yield StreamEvent("ping", {"type": "ping"})
        yield from events
    if not completion.content:
        yield StreamEvent("ping", {"type": "ping"})
    delta: dict[str, Any] = {
        "stop_reason": completion.stop_reason,
        "stop_sequence": None,
        "stop_details": completion.stop_details,
    }
    if "container" in completion.extra:
        delta["container"] = completion.extra["container"]
    yield StreamEvent(
        "message_delta",
        {"type": "message_delta", "delta": delta, "usage": completion.usage.as_delta_json()},
    )
    yield StreamEvent("message_stop", {"type": "message_stop"})
