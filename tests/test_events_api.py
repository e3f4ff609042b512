"""``GET /invocations/{id}/events`` through ``handlers.api.handler`` (moto server and the
fake Messages API over HTTP): a tool run's log from seq 1 with no gaps, the long-poll, SSE
with a ``Last-Event-ID`` reconnect, the tenant rule and the parameter problems."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agents import aws, container
from local.dev_info import TOOL_DEMO_FILES, TOOL_DEMO_INPUT
from tests.plugins.api import TENANT_B, ApiClient, ApiStack, seed_invocation

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SSE = {"Accept": "text/event-stream"}


@pytest.fixture
def events_api(api_stack: ApiStack, event_table: str, api: ApiClient) -> ApiClient:
    text = (ROOT / "definitions" / "python-fixer.md").read_bytes()
    aws.client("s3").put_object(
        Bucket=api_stack.agents_bucket, Key="agents/python-fixer.md", Body=text
    )
    container.reset()
    return api


def _tool_run(api: ApiClient) -> str:
    answer = api.post(
        "/agents/python-fixer/invocations",
        {"input": TOOL_DEMO_INPUT, "files": dict(TOOL_DEMO_FILES)},
    )
    assert answer.status == 200, answer.text
    return str(answer.json["id"])


def _sse_frames(text: str) -> list[dict[str, str]]:
    frames = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in {"id", "event", "data", "retry"}:
                fields[name] = value
        if "id" in fields:
            frames.append(fields)
    return frames


def test_a_tool_run_logs_consecutive_events_from_one(events_api: ApiClient) -> None:
    invocation_id = _tool_run(events_api)
    page = events_api.get(f"/invocations/{invocation_id}/events", query={"limit": "500"})
    assert page.status == 200, page.text
    body = page.json
    events = body["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert body["next_after"] == len(events)
    assert body["status"] == "SUCCEEDED"
    types = [e["type"] for e in events]
    statuses = [e["data"]["status"] for e in events if e["type"] == "status"]
    assert statuses == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert types[-1] == "completed"
    assert {"turn.started", "turn.finished", "tool.called", "tool.result", "text"} <= set(types)
    view = events_api.get(f"/invocations/{invocation_id}").json
    assert types.count("turn.started") == types.count("turn.finished") == view["turns"]
    calls = [e["data"] for e in events if e["type"] == "tool.called"]
    assert sum(view["tool_calls"].values()) == len(calls)
    assert all("content" not in str(call.get("target")) for call in calls)
    finished = [e["data"] for e in events if e["type"] == "turn.finished"]
    assert finished[-1]["usage"]["output_tokens"] == view["usage"]["output_tokens"]
    assert events[-1]["data"]["cost_usd"] == pytest.approx(view["cost_usd"], abs=1e-6)
    # another tenant sees nothing, not even that it exists
    other = ApiClient(TENANT_B).get(f"/invocations/{invocation_id}/events")
    assert other.status == 404
    assert other.json["type"] == "/problems/invocation-not-found"
    _check_sse_reconnects(events_api, f"/invocations/{invocation_id}/events", events)


def _check_sse_reconnects(
    events_api: ApiClient, path: str, everything: list[dict[str, Any]]
) -> None:
    """An SSE client reading pages of 4 (the URL unchanged, as EventSource reconnects) with
    ``Last-Event-ID`` sees every event exactly once."""
    seen: list[int] = []
    last_id: str | None = None
    for _ in range(len(everything) + 2):
        headers = dict(SSE) | ({"Last-Event-ID": last_id} if last_id else {})
        answer = events_api.get(path, query={"limit": "4", "after": "0"}, headers=headers)
        assert answer.status == 200
        assert str(answer.header("Content-Type")).startswith("text/event-stream")
        assert answer.text.startswith("retry: ")
        frames = _sse_frames(answer.text)
        seen += [int(frame["id"]) for frame in frames]
        if ": end of log" in answer.text:
            break
        assert frames, "a page of a finished run is never empty before the end"
        last_id = frames[-1]["id"]
    assert seen == [e["seq"] for e in everything]
    last = _sse_frames(answer.text)[-1]
    assert last["event"] == "completed"


def test_a_long_poll_answers_when_the_next_events_are_written(events_api: ApiClient) -> None:
    from agents.store import get_store

    seed_invocation("inv_longpoll_0001", status="QUEUED")
    store = get_store()
    assert store.claim("inv_longpoll_0001", "w", lease_seconds=60) is not None
    written: list[float] = []

    def finish() -> None:
        time.sleep(0.5)
        store.complete("inv_longpoll_0001", "w", output="done", model="m")
        written.append(time.monotonic())

    thread = threading.Thread(target=finish)
    thread.start()
    started = time.monotonic()
    answer = events_api.get(
        "/invocations/inv_longpoll_0001/events", query={"after": "2", "wait": "10"}
    )
    answered = time.monotonic()
    thread.join(timeout=10)
    assert answer.status == 200, answer.text
    assert [e["type"] for e in answer.json["events"]] == ["status", "completed"]
    assert written  # answered after the write, long before the 10 s wait ran out
    assert answered - started < 8
    # Last-Event-ID wins over after; a finished run's read ends at once when nothing is new
    path = "/invocations/inv_longpoll_0001/events"
    started = time.monotonic()
    answer = events_api.get(path, query={"after": "0", "wait": "5"}, headers={"Last-Event-ID": "4"})
    assert answer.json == {"events": [], "next_after": 4, "status": "SUCCEEDED"}
    assert time.monotonic() - started < 2.5
    _check_bad_parameters(events_api, path)


BAD_PARAMETERS: list[tuple[dict[str, str], dict[str, str], str]] = [
    ({"after": "-1"}, {}, "invalid-event-cursor"),
    ({"after": "abc"}, {}, "invalid-event-cursor"),
    ({"after": "1"}, {"Last-Event-ID": "x1"}, "invalid-event-cursor"),
    ({"wait": "21"}, {}, "invalid-wait"),
    ({"wait": "nan"}, {}, "invalid-wait"),
    ({"wait": "soon"}, {}, "invalid-wait"),
    ({"limit": "0"}, {}, "validation-error"),
    ({"limit": "501"}, {}, "validation-error"),
]


def _check_bad_parameters(events_api: ApiClient, path: str) -> None:
    for query, headers, problem in BAD_PARAMETERS:
        answer = events_api.get(path, query=query, headers=headers)
        assert answer.status in {400, 422}, (query, headers, answer.text)
        assert answer.header("Content-Type") == "application/problem+json"
        body: dict[str, Any] = answer.json
        assert body["type"] == f"/problems/{problem}", (query, headers)
