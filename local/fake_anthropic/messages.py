"""``POST /v1/messages``: auth and validation, the fault plan, a scripted or offline answer, then
JSON or an SSE stream."""

from __future__ import annotations

import json
from typing import Any

from local.fake_anthropic.answer import Completion, complete
from local.fake_anthropic.faults import CallPlan
from local.fake_anthropic.framing import message_json, stream_events
from local.fake_anthropic.protocol import Exchange, default_error_message, error_body
from local.fake_anthropic.request import validate_request
from local.fake_anthropic.router import Router
from local.fake_anthropic.script import scripted_completion
from local.fake_anthropic.state import FakeModelState

__all__ = ["router"]

router = Router()


@router.route("POST", "/v1/messages")
def create_message(state: FakeModelState, exchange: Exchange) -> None:
    api_key = exchange.header("x-api-key")
    bearer = exchange.header("authorization")
    token = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
    try:
        body: Any = json.loads(exchange.body or b"null")
    except ValueError:
        body = None
    streaming = bool(isinstance(body, dict) and body.get("stream"))
    record = state.record_request(body, streaming)
    state.stats.count_call(
        dict(exchange.headers.items()), api_key=api_key, bearer_token=token, streaming=streaming
    )

    if not (api_key or token):
        message = "x-api-key header is required (or Authorization: Bearer <token>)"
        _send_error(state, exchange, record, 401, message)
        return
    if not exchange.header("anthropic-version"):
        _send_error(state, exchange, record, 400, "anthropic-version: header is required")
        return
    problem = validate_request(body)
    if problem:
        _send_error(state, exchange, record, 400, problem)
        return
    assert isinstance(body, dict)
    model = str(body["model"])
    if not model.startswith("claude-"):
        _send_error(state, exchange, record, 404, f"model: {model}")
        return

    plan = state.faults.plan(streaming=streaming)
    state.stats.count_faults(plan.injected, model)
    if plan.latency_s and state.stopping.wait(plan.latency_s):
        exchange.drop_connection()
        return
    if plan.status is not None:
        extra: dict[str, str] = {}
        if plan.retry_after is not None:
            extra["retry-after"] = f"{plan.retry_after:g}"
        message = plan.message or default_error_message(plan.status)
        _send_error(state, exchange, record, plan.status, message, extra_headers=extra)
        return

    scripted = state.script.pop()
    if scripted is not None:
        completion = scripted_completion(scripted, body, state.cache)
    else:
        completion = complete(
            body,
            state.cache,
            refusal=plan.refusal,
            omit_sections=plan.omit_sections,
            output_chars=plan.output_chars,
        )
    state.stats.count_completion(completion)
    message_id = f"msg_fake_{record['seq']:06d}"
    record["status"] = 200
    state.stats.count_status(200)
    if streaming:
        _stream_message(
            state,
            exchange,
            record,
            plan=plan,
            message_id=message_id,
            model=model,
            completion=completion,
        )
    else:
        exchange.send_json(
            200, message_json(message_id, model, completion), {"request-id": record["request_id"]}
        )


def _send_error(
    state: FakeModelState,
    exchange: Exchange,
    record: dict[str, Any],
    status: int,
    message: str,
    *,
    extra_headers: dict[str, str] | None = None,
) -> None:
    record["status"] = status
    state.stats.count_status(status)
    exchange.send_json(
        status,
        error_body(status, message),
        {"request-id": record["request_id"], **(extra_headers or {})},
    )


def _stream_message(
    state: FakeModelState,
    exchange: Exchange,
    record: dict[str, Any],
    *,
    plan: CallPlan,
    message_id: str,
    model: str,
    completion: Completion,
) -> None:
    """Send ``framing.stream_events``; a ``cut_stream`` fault drops the connection mid-way."""
    exchange.start_event_stream({"request-id": record["request_id"]})
    deltas = 0
    for event in stream_events(message_id, model, completion):
        if event.delta:
            if plan.cut_after_deltas is not None and deltas >= plan.cut_after_deltas:
                # Close mid-stream: no terminating chunk, no message_stop.
                state.stats.count_cut_stream()
                record["cut"] = True
                exchange.drop_connection()
                return
            deltas += 1
            delay = plan.delta_delay_s or state.delta_delay_s
            if delay and state.stopping.wait(delay):
                exchange.drop_connection()
                return
        exchange.send_event(event.name, event.payload)
    exchange.end_event_stream()
