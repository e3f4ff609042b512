"""``/_fake/script``: queued exact responses, answered as JSON and as SSE, via the real SDK."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import anthropic
import pytest

from tests.plugins.model import FakeModel

MODEL = "claude-sonnet-4-6"

TOOL_TURN: dict[str, Any] = {
    "content": [
        {"type": "text", "text": "Let me read it."},
        {
            "type": "tool_use",
            "id": "toolu_01scripted",
            "name": "Read",
            "input": {"file_path": "/workspace/src/app.py", "limit": 20},
        },
    ],
    "stop_reason": "tool_use",
}
FINAL_TURN: dict[str, Any] = {
    "content": [{"type": "text", "text": "Scripted final answer."}],
    "usage": {"input_tokens": 11, "output_tokens": 7},
}


def _call(url: str, method: str, payload: Any = None) -> tuple[int, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def client(fake_model_sdk: anthropic.Anthropic) -> anthropic.Anthropic:
    return fake_model_sdk


def _ask(client: anthropic.Anthropic, model: str = MODEL) -> anthropic.types.Message:
    return client.messages.create(
        model=model, max_tokens=500, messages=[{"role": "user", "content": "go"}]
    )


def test_scripted_responses_are_answered_in_order_then_the_offline_model(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    status, answer = _call(
        fake_model.url + "/_fake/script", "POST", {"responses": [TOOL_TURN, FINAL_TURN]}
    )
    assert (status, answer["script_remaining"]) == (200, 2)
    assert fake_model.stats()["script_remaining"] == 2

    first = _ask(client)
    assert first.stop_reason == "tool_use"
    tool = first.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name) == ("toolu_01scripted", "Read")
    assert tool.input == {"file_path": "/workspace/src/app.py", "limit": 20}
    assert first.usage.input_tokens > 0  # no usage given: computed from the request

    second = _ask(client, model="claude-haiku-4-5")  # whatever model is named
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "Scripted final answer."  # type: ignore[union-attr]
    assert (second.usage.input_tokens, second.usage.output_tokens) == (11, 7)
    assert fake_model.stats()["script_remaining"] == 0

    third = _ask(client)
    assert third.content[0].text.startswith("> Offline model")  # type: ignore[union-attr]


def test_streamed_script_accumulates_tool_input_from_json_deltas(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    long_input = {"file_path": "/workspace/x.py", "old_string": "a" * 200, "new_string": "b"}
    turn = {
        "content": [{"type": "tool_use", "id": "toolu_01edit", "name": "Edit", "input": long_input}]
    }
    _call(fake_model.url + "/_fake/script", "POST", {"responses": [turn]})
    with client.messages.stream(
        model=MODEL, max_tokens=500, messages=[{"role": "user", "content": "edit"}]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    starts = [e for e in events if e.type == "content_block_start"]
    assert starts[0].content_block.type == "tool_use"
    assert starts[0].content_block.input == {}
    json_deltas = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(json_deltas) > 1
    assert json.loads("".join(json_deltas)) == long_input
    assert final.stop_reason == "tool_use"  # defaulted: a tool_use block is present
    assert final.content[0].input == long_input  # type: ignore[union-attr]


def test_faults_come_first_and_do_not_consume_the_script(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    _call(fake_model.url + "/_fake/script", "POST", {"responses": [FINAL_TURN]})
    fake_model.fault(status=529, count=1)
    with pytest.raises(anthropic.APIStatusError):
        _ask(client)
    assert fake_model.stats()["script_remaining"] == 1
    assert _ask(client).content[0].text == "Scripted final answer."  # type: ignore[union-attr]


def test_delete_clears_the_queue_and_reset_does_too(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    url = fake_model.url + "/_fake/script"
    _call(url, "POST", {"responses": [FINAL_TURN, FINAL_TURN]})
    assert _call(url, "POST", {"responses": [FINAL_TURN]})[1]["script_remaining"] == 3
    status, answer = _call(url, "DELETE")
    assert (status, answer["script_remaining"]) == (200, 0)
    assert _ask(client).content[0].text.startswith("> Offline model")  # type: ignore[union-attr]
    _call(url, "POST", {"responses": [FINAL_TURN]})
    fake_model.reset()
    assert _call(url, "GET")[1]["script_remaining"] == 0


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"responses": "not a list"},
        {"responses": [{"stop_reason": "end_turn"}]},  # no content
        {"responses": [{"content": [{"text": "no type"}]}]},
        {"responses": [], "unknown": 1},
    ],
)
def test_invalid_scripts_are_rejected(fake_model: FakeModel, payload: dict[str, Any]) -> None:
    status, answer = _call(fake_model.url + "/_fake/script", "POST", payload)
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith("invalid script")
    assert fake_model.stats()["script_remaining"] == 0


def test_server_tool_blocks_and_usage_pass_through_a_stream(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    turn = {
        "content": [
            {
                "type": "server_tool_use",
                "id": "srvtoolu_01",
                "name": "web_search",
                "input": {"query": "python"},
            },
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_01",
                "content": [
                    {
                        "type": "web_search_result",
                        "url": "https://example.invalid/",
                        "title": "scripted",
                        "encrypted_content": "x",
                        "page_age": None,
                    }
                ],
            },
        ],
        "stop_reason": "pause_turn",
        "usage": {
            "input_tokens": 30,
            "output_tokens": 5,
            "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
        },
    }
    _call(fake_model.url + "/_fake/script", "POST", {"responses": [turn]})
    with client.messages.stream(
        model=MODEL, max_tokens=500, messages=[{"role": "user", "content": "search"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "pause_turn"
    assert [block.type for block in final.content] == ["server_tool_use", "web_search_tool_result"]
    assert final.content[0].input == {"query": "python"}  # type: ignore[union-attr]
    assert final.usage.server_tool_use is not None
    assert final.usage.server_tool_use.web_search_requests == 1
