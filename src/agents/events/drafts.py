"""The events of a run, built from what the lifecycle and the tool loop already know: small,
bounded, and never carrying file contents, tool input bodies or secrets (decision 16.7).

A tool call shows its tool, a ``target`` (the first of ``file_path``, ``notebook_path``,
``path``, ``pattern``, ``url``, ``query`` it has, one line of at most 160 characters), the
names of its input keys and the input's size; its result shows ok or error and its size. The
assistant's text goes in ``text`` events of at most ``TEXT_CHUNK_BYTES`` each.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agents.events.model import EventDraft, EventType
from agents.types import Usage

if TYPE_CHECKING:
    from agents.records import InvocationRecord
    from agents.runner import TurnRecord

__all__ = [
    "MAX_TEXT_PARTS",
    "TEXT_CHUNK_BYTES",
    "completed_draft",
    "status_draft",
    "text_chunks",
    "tool_target",
    "turn_drafts",
    "turn_started_draft",
    "waiting_draft",
]

#: A ``text`` event carries at most this many UTF-8 bytes of the assistant's text.
TEXT_CHUNK_BYTES = 1024
#: A turn's text beyond this many events is cut (the last one says ``truncated``).
MAX_TEXT_PARTS = 32
#: Input keys whose value names what a tool acts on, in order of preference.
TARGET_KEYS = ("file_path", "notebook_path", "path", "pattern", "url", "query")
MAX_TARGET_CHARS = 160
MAX_INPUT_KEYS = 20
#: Content block types of a server tool call and the suffix of their results.
_SERVER_CALLS = frozenset({"server_tool_use", "mcp_tool_use"})
_SERVER_RESULT_SUFFIX = "_tool_result"


def tool_target(tool_input: Any) -> str | None:
    """What the call acts on (one short line), or None."""
    if not isinstance(tool_input, Mapping):
        return None
    for key in TARGET_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            line = " ".join(value.split())
            return line if len(line) <= MAX_TARGET_CHARS else line[: MAX_TARGET_CHARS - 1] + "…"
    return None


def _input_summary(tool_input: Any) -> dict[str, Any]:
    keys = sorted(str(key) for key in tool_input) if isinstance(tool_input, Mapping) else []
    size = len(json.dumps(tool_input, default=str, ensure_ascii=False).encode())
    return {
        "target": tool_target(tool_input),
        "input_keys": keys[:MAX_INPUT_KEYS],
        "input_bytes": size,
    }


def text_chunks(text: str, chunk_bytes: int = TEXT_CHUNK_BYTES) -> list[str]:
    """``text`` cut into pieces of at most ``chunk_bytes`` UTF-8 bytes (never inside a
    character)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode())
        if size + width > chunk_bytes and current:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks


def turn_started_draft(turn: int) -> EventDraft:
    return EventDraft(type=EventType.TURN_STARTED, data={"turn": turn})


def _text_drafts(turn: int, content: Sequence[Mapping[str, Any]]) -> list[EventDraft]:
    text = "".join(str(b.get("text") or "") for b in content if b.get("type") == "text")
    chunks = text_chunks(text)
    kept = chunks[:MAX_TEXT_PARTS]
    drafts = [
        EventDraft(
            type=EventType.TEXT,
            data={"turn": turn, "part": index, "parts": len(kept), "text": chunk},
        )
        for index, chunk in enumerate(kept, start=1)
    ]
    if len(chunks) > len(kept):
        drafts[-1] = EventDraft(type=EventType.TEXT, data={**drafts[-1].data, "truncated": True})
    return drafts


def _server_tool_drafts(turn: int, content: Sequence[Mapping[str, Any]]) -> list[EventDraft]:
    """Calls the model made to server tools (web search, MCP...) and their results."""
    names: dict[str, str] = {}
    drafts: list[EventDraft] = []
    for block in content:
        kind = str(block.get("type") or "")
        if kind in _SERVER_CALLS:
            call_id = str(block.get("id") or "")
            name = str(block.get("name") or kind)
            names[call_id] = name
            data = {"turn": turn, "id": call_id, "tool": name, "server": True}
            drafts.append(
                EventDraft(
                    type=EventType.TOOL_CALLED, data={**data, **_input_summary(block.get("input"))}
                )
            )
        elif kind.endswith(_SERVER_RESULT_SUFFIX) and kind != "tool_result":
            call_id = str(block.get("tool_use_id") or "")
            result = block.get("content")
            failed = bool(block.get("is_error")) or (
                isinstance(result, Mapping) and str(result.get("type", "")).endswith("_error")
            )
            size = len(json.dumps(result, default=str, ensure_ascii=False).encode())
            drafts.append(
                EventDraft(
                    type=EventType.TOOL_RESULT,
                    data={
                        "turn": turn,
                        "id": call_id,
                        "tool": names.get(call_id, kind.removesuffix(_SERVER_RESULT_SUFFIX)),
                        "server": True,
                        "ok": not failed,
                        "size": size,
                    },
                )
            )
    return drafts


def _client_tool_drafts(turn: int, calls: Iterable[Mapping[str, Any]]) -> list[EventDraft]:
    drafts: list[EventDraft] = []
    for call in calls:
        base = {"turn": turn, "id": str(call.get("id") or ""), "tool": str(call.get("name"))}
        summary = _input_summary(call.get("input") or {})
        drafts.append(EventDraft(type=EventType.TOOL_CALLED, data={**base, **summary}))
        result = call.get("result")
        ok = not call.get("is_error")
        drafts.append(
            EventDraft(
                type=EventType.TOOL_RESULT,
                data={
                    **base,
                    "target": summary["target"],
                    "ok": ok,
                    # of the result as the transcript keeps it (cut at 4000 characters)
                    "size": len(result) if isinstance(result, str) else 0,
                },
            )
        )
    return drafts


def turn_drafts(
    record: TurnRecord, *, cost_usd: float, usage_total: Usage, cost_total: float
) -> list[EventDraft]:
    """A finished turn: its text, its tool calls and results, then ``turn.finished``."""
    turn = record.turn
    drafts = _text_drafts(turn, record.assistant)
    drafts += _server_tool_drafts(turn, record.assistant)
    drafts += _client_tool_drafts(turn, record.tool_calls)
    calls = sum(1 for d in drafts if d.type is EventType.TOOL_CALLED)
    drafts.append(
        EventDraft(
            type=EventType.TURN_FINISHED,
            data={
                "turn": turn,
                "stop_reason": record.stop_reason,
                "tool_calls": calls,
                "turn_usage": record.usage.model_dump(mode="json"),
                "turn_cost_usd": round(cost_usd, 6),
                "usage": usage_total.model_dump(mode="json"),
                "cost_usd": round(cost_total, 6),
            },
        )
    )
    return drafts


def status_draft(record: InvocationRecord) -> EventDraft:
    """The record's new status (with the attempt and segment, and why for FAILED or a
    release; ``handed_off`` when a segment ended and a continuation carries the run on)."""
    data: dict[str, Any] = {"status": record.status.value, "attempts": record.attempts}
    if record.segments:
        data["segments"] = record.segments
    if record.status.value == "RUNNING" and record.lease_owner is None:
        data["handed_off"] = True
    if record.error is not None and record.status.value == "FAILED":
        data["error"] = {"type": record.error.type, "retryable": record.error.retryable}
    elif record.last_error is not None and record.status.value == "QUEUED":
        data["last_error"] = {"type": record.last_error.type}
    return EventDraft(type=EventType.STATUS, data=data)


def completed_draft(record: InvocationRecord) -> EventDraft:
    """The final summary of a terminal record (what ``GET /invocations/{id}`` shows, short)."""
    data: dict[str, Any] = {
        "status": record.status.value,
        "stop_reason": record.stop_reason,
        "incomplete": record.incomplete,
        "turns": record.turns,
        "tool_calls": dict(record.tool_calls),
        "files_changed": len(record.files_changed),
        "usage": record.usage.model_dump(mode="json"),
        "cost_usd": round(record.cost_usd, 6),
        "output_chars": len(record.output) if record.output is not None else None,
    }
    if record.contract is not None:
        data["contract"] = {
            "valid": record.contract.valid,
            "missing": list(record.contract.missing),
            "verdict": record.contract.verdict,
        }
    if record.error is not None:
        data["error"] = {
            "type": record.error.type,
            "message": record.error.message[:500],
            "retryable": record.error.retryable,
        }
    return EventDraft(type=EventType.COMPLETED, data=data)


def waiting_draft(actions: Iterable[Any]) -> EventDraft:
    """A run paused for approval: each pending action's id, tool and target (no input body).

    ``actions`` are ``PendingAction``-like objects or mappings with ``id``, ``tool``, ``input``.
    """
    pending = [
        {
            "id": str(_field(action, "id")),
            "tool": str(_field(action, "tool")),
            **_input_summary(_field(action, "input") or {}),
        }
        for action in actions
    ]
    return EventDraft(type=EventType.WAITING, data={"pending_actions": pending})


def _field(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
