"""The ``/_fake/*`` control endpoints: faults, scripts, stats, the request log, resets, health."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from local.fake_anthropic.faults import FaultSpec
from local.fake_anthropic.protocol import Exchange, error_body
from local.fake_anthropic.router import Router
from local.fake_anthropic.script import ScriptBody
from local.fake_anthropic.state import FakeModelState
from local.fake_anthropic.stats import REQUEST_LOG_SIZE

__all__ = ["router"]

router = Router()
_Body = TypeVar("_Body", bound=BaseModel)


@router.route("GET", "/", "/_fake/health")
def health(state: FakeModelState, exchange: Exchange) -> None:
    exchange.send_json(200, {"ok": True, "service": "fake-anthropic"})


@router.route("GET", "/_fake/stats")
def get_stats(state: FakeModelState, exchange: Exchange) -> None:
    exchange.send_json(
        200,
        state.stats.snapshot()
        | {"cache_entries": len(state.cache), "script_remaining": len(state.script)},
    )


@router.route("POST", "/_fake/stats/reset")
def reset_stats(state: FakeModelState, exchange: Exchange) -> None:
    state.stats.reset()
    exchange.send_json(200, state.stats.snapshot())


@router.route("GET", "/_fake/faults")
def get_faults(state: FakeModelState, exchange: Exchange) -> None:
    exchange.send_json(200, {"active": state.faults.active()})


@router.route("POST", "/_fake/faults")
def add_fault(state: FakeModelState, exchange: Exchange) -> None:
    spec = _parse_body(exchange, FaultSpec, "fault spec")
    if spec is None:
        return
    state.faults.add(spec)
    exchange.send_json(200, {"active": state.faults.active()})


def _parse_body(exchange: Exchange, model: type[_Body], what: str) -> _Body | None:
    """The request body as ``model``; None after a 400 "invalid <what>: ..." answer."""
    try:
        return model.model_validate_json(exchange.body or b"{}")
    except ValidationError as exc:
        exchange.send_json(400, error_body(400, f"invalid {what}: {_errors(exc)}"))
        return None


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
    )


def _script_status(state: FakeModelState) -> dict[str, int]:
    return {"script_remaining": len(state.script), "script_consumed": state.script.consumed}


@router.route("POST", "/_fake/script")
def add_script(state: FakeModelState, exchange: Exchange) -> None:
    """Queue ``{"responses": [...]}`` behind any responses already queued."""
    script = _parse_body(exchange, ScriptBody, "script")
    if script is None:
        return
    state.script.extend(script.responses)
    exchange.send_json(200, _script_status(state))


@router.route("DELETE", "/_fake/script")
def clear_script(state: FakeModelState, exchange: Exchange) -> None:
    state.script.clear()
    exchange.send_json(200, _script_status(state))


@router.route("GET", "/_fake/script")
def get_script(state: FakeModelState, exchange: Exchange) -> None:
    exchange.send_json(200, _script_status(state))


@router.route("GET", "/_fake/requests")
def get_requests(state: FakeModelState, exchange: Exchange) -> None:
    try:
        limit = max(0, int(exchange.query.get("limit", [str(REQUEST_LOG_SIZE)])[0]))
    except ValueError:
        limit = REQUEST_LOG_SIZE
    exchange.send_json(200, {"requests": state.recent_requests(limit)})


@router.route("POST", "/_fake/cache/reset")
def reset_cache(state: FakeModelState, exchange: Exchange) -> None:
    state.cache.clear()
    exchange.send_json(200, {"cache_entries": 0})


@router.route("POST", "/_fake/reset")
def reset_all(state: FakeModelState, exchange: Exchange) -> None:
    state.reset()
    exchange.send_json(200, {"ok": True})
