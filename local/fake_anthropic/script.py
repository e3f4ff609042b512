"""Scripted responses: the queue behind ``/_fake/script`` and the answer each one makes.

The next ``/v1/messages`` calls (any model, JSON or SSE) consume them in order,
after faults: a call answered with an injected error does not consume one.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.prompting import is_repair_turn
from local.fake_anthropic.answer import Completion, Usage, account_input
from local.fake_anthropic.prompt_cache import PromptCache
from local.fake_anthropic.request import estimate_tokens, last_user_text

__all__ = ["ScriptBody", "ScriptQueue", "ScriptedResponse", "scripted_completion"]

#: The top-level fields a scripted response sets that the fake frames itself.
_FRAMED_FIELDS = frozenset(
    {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "stop_details"}
)


class ContentBlock(BaseModel):
    """One content block; only ``type`` is checked, every other field is answered as given."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(min_length=1)


class ScriptedResponse(BaseModel):
    """A Messages API response object; omitted fields are filled like the offline model's."""

    model_config = ConfigDict(extra="allow")
    content: list[ContentBlock]
    stop_reason: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


class ScriptBody(BaseModel):
    """The ``POST /_fake/script`` body."""

    model_config = ConfigDict(extra="forbid")
    responses: list[ScriptedResponse]


class ScriptQueue:
    """The queued responses, consumed first in, first out (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[ScriptedResponse] = deque()
        self.consumed = 0

    def extend(self, responses: list[ScriptedResponse]) -> int:
        with self._lock:
            self._queue.extend(responses)
            return len(self._queue)

    def pop(self) -> ScriptedResponse | None:
        with self._lock:
            if not self._queue:
                return None
            self.consumed += 1
            return self._queue.popleft()

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.consumed = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


def _default_stop_reason(content: list[dict[str, Any]]) -> str:
    return "tool_use" if any(block.get("type") == "tool_use" for block in content) else "end_turn"


def scripted_completion(
    response: ScriptedResponse, body: dict[str, Any], cache: PromptCache
) -> Completion:
    """The completion a scripted response answers; usage is computed when it gives none."""
    content = [block.model_dump() for block in response.content]
    if response.usage is not None:
        usage = Usage.from_json(response.usage)
    else:
        input_tokens, cached = account_input(body, cache)
        output = sum(estimate_tokens(json.dumps(block, sort_keys=True)) for block in content)
        usage = Usage(input_tokens=input_tokens, output_tokens=max(1, output), cache=cached)
    extra = {
        name: value
        for name, value in (response.model_extra or {}).items()
        if name not in _FRAMED_FIELDS
    }
    return Completion(
        content=content,
        stop_reason=response.stop_reason or _default_stop_reason(content),
        stop_details=response.stop_details,
        usage=usage,
        repair_turn=is_repair_turn(last_user_text(body)),
        extra=extra,
    )
