"""The fake Messages API, exercised with the real anthropic SDK over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from agents.contracts import OutputContract
from agents.prompting import build_contract_instruction, build_repair_turn
from local.fake_anthropic import (
    OFFLINE_BANNER,
    FakeAnthropicServer,
    estimate_tokens,
    key_fingerprint,
)
from tests.plugins.model import FAKE_API_KEY, FakeModel

REPO = Path(__file__).resolve().parents[1]
MODEL = "claude-sonnet-4-6"
LONG_SYSTEM = "You are a careful engineer. " * 400  # ~2700 tokens: above the cache floor
REVIEW_CONTRACT = OutputContract.model_validate(
    {
        "required_sections": [
            {"name": "VERDICT", "pattern": "^## VERDICT: (PASS|FAIL|NEEDS_DISCUSSION)$"},
            {"name": "Summary", "pattern": "^## Summary"},
            {"name": "Issues", "pattern": "^## Issues"},
        ],
        "verdict_values": ["PASS", "FAIL", "NEEDS_DISCUSSION"],
    }
)


@pytest.fixture
def client(fake_model_sdk: anthropic.Anthropic) -> anthropic.Anthropic:
    return fake_model_sdk


def _system(*, cached: bool = True, extra: str | None = None) -> list[dict[str, Any]]:
    block: dict[str, Any] = {"type": "text", "text": LONG_SYSTEM}
    if cached:
        block["cache_control"] = {"type": "ephemeral"}
    blocks = [block]
    if extra is not None:
        blocks.append({"type": "text", "text": extra, "cache_control": {"type": "ephemeral"}})
    return blocks


def _post(url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- the Messages API shape -----------------------------------------------------------


def test_non_streaming_message_says_it_is_offline(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=1000, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    text = message.content[0].text  # type: ignore[union-attr]
    assert text.startswith(OFFLINE_BANNER)
    assert message.usage.output_tokens == estimate_tokens(text)
    assert message.usage.input_tokens > 0
    assert fake_model.stats()["non_streamed"] == 1


def test_answers_are_deterministic(client: anthropic.Anthropic) -> None:
    def ask() -> str:
        message = client.messages.create(
            model=MODEL, max_tokens=1000, messages=[{"role": "user", "content": "Same question"}]
        )
        return message.content[0].text  # type: ignore[union-attr]

    assert ask() == ask()


def test_sse_events_come_in_the_order_the_sdk_expects(client: anthropic.Anthropic) -> None:
    stream = client.messages.create(
        model=MODEL,
        max_tokens=1000,
        stream=True,
        messages=[{"role": "user", "content": "Stream please"}],
    )
    types = [event.type for event in stream]
    assert types[0] == "message_start"
    assert types[1] == "content_block_start"
    deltas = [t for t in types if t == "content_block_delta"]
    assert len(deltas) >= 3
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(types[2:-3]) == {"content_block_delta"}


def test_sse_framing_names_each_event_after_its_type(fake_model: FakeModel) -> None:
    body = {
        "model": MODEL,
        "max_tokens": 500,
        "stream": True,
        "messages": [{"role": "user", "content": "frame check"}],
    }
    headers = {"x-api-key": FAKE_API_KEY, "anthropic-version": "2023-06-01"}
    with (
        httpx2.Client() as http,
        http.stream("POST", fake_model.url + "/v1/messages", json=body, headers=headers) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = list(anthropic.Stream.raw_events(resp))
    names = [event.event for event in events]
    assert "ping" in names
    for event in events:
        assert event.json()["type"] == event.event


def test_stream_accumulates_to_the_same_message(client: anthropic.Anthropic) -> None:
    params: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": "compare"}],
    }
    with client.messages.stream(**params) as stream:
        streamed = stream.get_final_message()
    plain = client.messages.create(**params)
    assert streamed.content[0].text == plain.content[0].text  # type: ignore[union-attr]
    assert streamed.stop_reason == "end_turn"
    assert streamed.usage.output_tokens == plain.usage.output_tokens


def test_max_tokens_truncates_and_says_so(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "long answer please"}]
    )
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens <= 10


# --- authentication and validation ----------------------------------------------------


def test_missing_credentials_is_401(fake_model: FakeModel) -> None:
    status, body = _post(
        fake_model.url + "/v1/messages",
        {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        {"anthropic-version": "2023-06-01"},
    )
    assert status == 401
    assert body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("header", ["x-api-key", "authorization"])
def test_both_auth_headers_are_accepted(fake_model: FakeModel, header: str) -> None:
    value = FAKE_API_KEY if header == "x-api-key" else f"Bearer {FAKE_API_KEY}"
    status, body = _post(
        fake_model.url + "/v1/messages",
        {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "x"}]},
        {header: value, "anthropic-version": "2023-06-01"},
    )
    assert status == 200, body
    stats = fake_model.stats()
    assert stats["last_auth"]["key_sha256_12"] == key_fingerprint(FAKE_API_KEY)
    assert stats["last_headers"][header] == "<redacted>"
    assert FAKE_API_KEY not in json.dumps(stats)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"model": MODEL, "max_tokens": 5, "messages": []}, 400, "messages"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x"}]}, 400, "max_tokens"),
        (
            {"model": "gpt-4", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
            404,
            "model",
        ),
    ],
)
def test_invalid_requests_are_rejected(
    fake_model: FakeModel, body: dict[str, Any], status: int, fragment: str
) -> None:
    got, answer = _post(
        fake_model.url + "/v1/messages",
        body,
        {"x-api-key": FAKE_API_KEY, "anthropic-version": "2023-06-01"},
    )
    assert got == status
    assert fragment in answer["error"]["message"]


# --- prompt cache emulation -----------------------------------------------------------


def _usage(client: anthropic.Anthropic, system: list[dict[str, Any]]) -> anthropic.types.Usage:
    with client.messages.stream(
        model=MODEL,
        max_tokens=500,
        system=system,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "cache me"}],
    ) as stream:
        return stream.get_final_message().usage


def test_cacheable_prefix_is_written_then_read(client: anthropic.Anthropic) -> None:
    first = _usage(client, _system())
    second = _usage(client, _system())
    prefix = estimate_tokens(LONG_SYSTEM)
    assert first.cache_creation_input_tokens == prefix
    assert first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == prefix
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens  # the uncached rest is unchanged


def test_without_cache_control_nothing_is_cached(client: anthropic.Anthropic) -> None:
    _usage(client, _system(cached=False))
    usage = _usage(client, _system(cached=False))
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation_input_tokens == 0


def test_short_prefixes_are_not_cached(client: anthropic.Anthropic) -> None:
    short = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    _usage(client, short)
    usage = _usage(client, short)
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation_input_tokens == 0


def test_second_breakpoint_reads_the_first_and_writes_the_rest(
    client: anthropic.Anthropic,
) -> None:
    _usage(client, _system(extra="contract A"))
    usage = _usage(client, _system(extra="contract B, a different one"))
    assert usage.cache_read_input_tokens == estimate_tokens(LONG_SYSTEM)
    assert usage.cache_creation_input_tokens == estimate_tokens("contract B, a different one")


def test_cache_entries_expire_after_their_ttl() -> None:
    with FakeAnthropicServer(cache_ttl_s=0.2) as server:
        sdk = anthropic.Anthropic(api_key=FAKE_API_KEY, base_url=server.url, max_retries=0)
        try:
            _usage(sdk, _system())
            time.sleep(0.3)
            usage = _usage(sdk, _system())
        finally:
            sdk.close()
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation_input_tokens == estimate_tokens(LONG_SYSTEM)


# --- following the output contract ----------------------------------------------------


def test_answer_satisfies_the_stated_contract(client: anthropic.Anthropic) -> None:
    instruction = build_contract_instruction(REVIEW_CONTRACT, "review this")
    assert instruction is not None
    message = client.messages.create(
        model=MODEL,
        max_tokens=2000,
        system=[
            {"type": "text", "text": "You review code."},
            {"type": "text", "text": instruction},
        ],
        messages=[{"role": "user", "content": "review this"}],
    )
    text = message.content[0].text  # type: ignore[union-attr]
    result = REVIEW_CONTRACT.check(text, "review this")
    assert result.valid, result
    assert result.verdict in {"PASS", "FAIL", "NEEDS_DISCUSSION"}


def test_omit_sections_then_repair_turn_gets_the_complete_set(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    instruction = build_contract_instruction(REVIEW_CONTRACT, "review")
    assert instruction is not None
    system = [{"type": "text", "text": instruction}]
    fake_model.fault(omit_sections=["Issues"], count=1)
    first = client.messages.create(
        model=MODEL,
        max_tokens=2000,
        system=system,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "review"}],
    )
    first_text = first.content[0].text  # type: ignore[union-attr]
    assert REVIEW_CONTRACT.check(first_text, "review").missing == ["Issues"]
    second = client.messages.create(
        model=MODEL,
        max_tokens=2000,
        system=system,  # type: ignore[arg-type]
        messages=[
            {"role": "user", "content": "review"},
            {"role": "assistant", "content": first_text},
            {"role": "user", "content": build_repair_turn(["Issues"])},
        ],
    )
    assert REVIEW_CONTRACT.check(second.content[0].text, "review").valid  # type: ignore[union-attr]
    assert fake_model.stats()["repair_turns"] == 1


# --- fault injection ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "exc_type"),
    [
        (529, "overloaded_error", anthropic.OverloadedError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
        (400, "invalid_request_error", anthropic.BadRequestError),
        (403, "permission_error", anthropic.PermissionDeniedError),
    ],
)
def test_status_faults_answer_proper_error_bodies(
    client: anthropic.Anthropic,
    fake_model: FakeModel,
    status: int,
    error_type: str,
    exc_type: type[anthropic.APIStatusError],
) -> None:
    fake_model.fault(status=status, count=2, retry_after=3)
    for _ in range(2):
        with pytest.raises(exc_type) as caught:
            client.messages.create(
                model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.type == error_type
        assert caught.value.response.headers["retry-after"] == "3"
    ok = client.messages.create(
        model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "x"}]
    )
    assert ok.stop_reason in {"end_turn", "max_tokens"}
    stats = fake_model.stats()
    assert stats["calls"] == 3
    assert stats["by_status"] == {str(status): 2, "200": 1}


def test_invalid_fault_spec_is_rejected(fake_model: FakeModel) -> None:
    status, body = _post(fake_model.url + "/_fake/faults", {"status": 529, "bogus": 1})
    assert status == 400
    assert "bogus" in body["error"]["message"]
    status, _ = _post(fake_model.url + "/_fake/faults", {})
    assert status == 400


def test_reset_clears_every_fault(client: anthropic.Anthropic, fake_model: FakeModel) -> None:
    fake_model.fault(status=529, count=5)
    fake_model.fault(latency_s=2)
    assert len(fake_model.faults()) == 2
    fake_model.fault(reset=True)
    assert fake_model.faults() == []
    started = time.monotonic()
    client.messages.create(model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "x"}])
    assert time.monotonic() - started < 1.9  # the 2 s latency fault is gone


def test_latency_applies_to_every_call_until_reset(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    fake_model.fault(latency_s=0.3)
    for _ in range(2):
        started = time.monotonic()
        client.messages.create(
            model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "x"}]
        )
        assert time.monotonic() - started >= 0.3
    assert fake_model.stats()["faults_injected"]["latency"] == 2


def test_cut_stream_closes_mid_way_without_message_stop(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    fake_model.fault(cut_stream=True, count=1)
    seen: list[str] = []
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        client.messages.stream(
            model=MODEL, max_tokens=2000, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        seen.extend(event.type for event in stream)
    assert "message_stop" not in seen
    assert seen.count("content_block_delta") == 3
    assert fake_model.stats()["cut_streams"] == 1
    # the next stream is whole again
    with client.messages.stream(
        model=MODEL, max_tokens=2000, messages=[{"role": "user", "content": "x"}]
    ) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"


def test_refusal_fault(client: anthropic.Anthropic, fake_model: FakeModel) -> None:
    fake_model.fault(refusal=True, refusal_reason="policy says no", count=1)
    with client.messages.stream(
        model=MODEL, max_tokens=500, messages=[{"role": "user", "content": "x"}]
    ) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "refusal"
    assert message.stop_details is not None
    assert message.stop_details.explanation == "policy says no"


def _random_statuses(client: anthropic.Anthropic, calls: int) -> list[int]:
    seen: list[int] = []
    for _ in range(calls):
        try:
            client.messages.create(
                model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
            seen.append(200)
        except anthropic.APIStatusError as exc:
            seen.append(exc.status_code)
    return seen


def test_random_faults_follow_their_seed(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    fake_model.fault(rate=0.5, statuses=[429, 529, 500], seed=7)
    first = _random_statuses(client, 20)
    fake_model.fault(reset=True)
    fake_model.fault(rate=0.5, statuses=[429, 529, 500], seed=7)
    second = _random_statuses(client, 20)
    assert first == second
    assert {429, 529, 500} & set(first)
    assert 200 in first
    assert set(first) <= {200, 429, 529, 500}


def test_random_fault_kinds_include_latency_and_cut_stream(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    fake_model.fault(rate=1.0, kinds=["cut_stream"], seed=1, count=1)
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        client.messages.stream(
            model=MODEL, max_tokens=2000, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        list(stream)
    fake_model.fault(rate=1.0, kinds=["latency"], latency_s=0.2, seed=1, count=1)
    started = time.monotonic()
    client.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert time.monotonic() - started >= 0.2
    assert fake_model.faults() == []  # both counts used up


# --- stats and request log ------------------------------------------------------------


def test_stats_count_calls_and_reset(client: anthropic.Anthropic, fake_model: FakeModel) -> None:
    client.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    with client.messages.stream(
        model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "y"}]
    ) as stream:
        stream.get_final_message()
    stats = fake_model.stats()
    assert stats["calls"] == 2
    assert stats["streamed"] == 1
    assert stats["non_streamed"] == 1
    assert stats["models"] == {MODEL: 2}
    assert stats["last_headers"]["anthropic-version"]
    status, reset = _post(fake_model.url + "/_fake/stats/reset", {})
    assert status == 200
    assert reset["calls"] == 0


def test_request_log_keeps_bodies(client: anthropic.Anthropic, fake_model: FakeModel) -> None:
    _usage(client, _system())
    requests = fake_model.requests(limit=5)
    assert len(requests) == 1
    body = requests[0]["body"]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert requests[0]["status"] == 200
    assert requests[0]["stream"] is True


# --- standalone process ---------------------------------------------------------------


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_ready_and_stops_on_signal(stop_signal: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.fake_anthropic", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'src'}"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        url = line.split(" ", 1)[1]
        with urllib.request.urlopen(url + "/_fake/stats", timeout=5) as response:
            assert json.loads(response.read())["calls"] == 0
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
