"""Scripted model answers for the tool-loop tests, over the fake Messages API's
``POST /_fake/script`` (real SDK, real HTTP, real streams), and builders of response objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.plugins.model import FakeModel


def message(
    *blocks: dict[str, Any],
    stop_reason: str = "end_turn",
    input_tokens: int = 100,
    output_tokens: int = 20,
    server_tool_use: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A Messages API response object."""
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    if server_tool_use:
        usage["server_tool_use"] = server_tool_use
    return {"content": list(blocks), "stop_reason": stop_reason, "usage": usage}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(tool_id: str, name: str, **tool_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


class ScriptedModel:
    """The fake with a script: queue responses, read the request bodies it received."""

    def __init__(self, fake: FakeModel) -> None:
        self.fake = fake

    def script(self, *responses: dict[str, Any]) -> None:
        self.fake._call("POST", "/_fake/script", {"responses": list(responses)})

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [entry["body"] for entry in self.fake.requests(limit=100)]

    def last_headers(self) -> dict[str, str]:
        found: dict[str, str] = self.fake.stats()["last_headers"]
        return found


@pytest.fixture
def scripted_model(fake_model: FakeModel) -> Iterator[ScriptedModel]:
    """The fake Messages API with an empty script (cleared again afterwards)."""
    handle = ScriptedModel(fake_model)
    handle.fake._call("DELETE", "/_fake/script")
    try:
        yield handle
    finally:
        handle.fake._call("DELETE", "/_fake/script")
