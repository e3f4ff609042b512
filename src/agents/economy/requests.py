"""One economy item as a Message Batch request, and the chunks a submission is cut into.

The request is the one :meth:`agents.runner.Runner.run` sends (same system blocks, with
their cache breakpoints, so items of one agent share a cached prefix), without streaming.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from agents.errors import EconomyNotSupported
from agents.model_aliases import resolve_model

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.definitions import AgentDefinition
    from agents.records import InvocationRecord

__all__ = [
    "API_MAX_BYTES",
    "API_MAX_REQUESTS",
    "BatchRequest",
    "batch_price_factor",
    "build_request",
    "check_economy",
    "chunks",
]

#: The Message Batches API's limits per batch.
API_MAX_REQUESTS: Final = 100_000
API_MAX_BYTES: Final = 256_000_000
#: Batch prices are this fraction of the standard price (input, output and cache tokens).
BATCH_PRICE_FACTOR: Final = 0.5


def batch_price_factor() -> float:
    return BATCH_PRICE_FACTOR


def check_economy(definition: AgentDefinition) -> None:
    """An economy run is one model call: a definition that names tools cannot have one."""
    if definition.tools:
        raise EconomyNotSupported(
            f"agent {definition.name!r} names tools ({', '.join(definition.tools[:10])}); "
            "economy processing runs one model call per item, with no tools and no "
            'workspace. Submit the batch with "processing": "standard".',
            agent=definition.name,
        )


@dataclass(frozen=True)
class BatchRequest:
    """``{"custom_id": ..., "params": ...}`` and its encoded size."""

    custom_id: str
    params: dict[str, Any]
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"custom_id": self.custom_id, "params": self.params}


def build_request(
    definition: AgentDefinition, record: InvocationRecord, settings: Settings
) -> BatchRequest:
    """The Message Batch request of ``record`` (raises what ``Runner.run`` would)."""
    # lazy: the runner stays off the API's cold import (decision 13.200)
    from agents.runner.request import build_system_blocks, build_user_turn, checked_max_tokens

    check_economy(definition)
    input_text = record.input or ""
    params: dict[str, Any] = {
        "model": resolve_model(definition.model, settings),
        "max_tokens": checked_max_tokens(record.max_tokens, settings),
        "system": build_system_blocks(definition, input_text, record.invocation_context),
        "messages": [
            {
                "role": "user",
                "content": build_user_turn(definition, input_text, record.context, settings),
            }
        ],
    }
    body = {"custom_id": record.id, "params": params}
    size = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    return BatchRequest(record.id, params, size)


def chunks(
    requests: Sequence[BatchRequest], *, max_requests: int, max_bytes: int
) -> Iterator[list[BatchRequest]]:
    """``requests`` in order, cut into as few chunks as the limits allow."""
    max_requests = min(max_requests, API_MAX_REQUESTS)
    max_bytes = min(max_bytes, API_MAX_BYTES)
    current: list[BatchRequest] = []
    size = 0
    for request in requests:
        if current and (len(current) >= max_requests or size + request.size > max_bytes):
            yield current
            current, size = [], 0
        current.append(request)
        size += request.size
    if current:
        yield current
