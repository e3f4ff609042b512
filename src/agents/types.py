"""Value types shared by the runner, the store, the API and the worker."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InvocationStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    #: Paused for a person's decision on ``pending_actions`` (no lease, no message).
    WAITING = "WAITING"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {InvocationStatus.SUCCEEDED, InvocationStatus.FAILED, InvocationStatus.CANCELLED}
)


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Usage(_Value):
    """Token usage of one run (summed over its model calls, repair turn included)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    #: Server-tool requests by kind, as the API reports them (e.g. ``web_search_requests``).
    server_tool_use: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: Any, *, server_tool_use: Mapping[str, int] | None = None) -> Usage:
        """The ``usage`` object of a Messages API answer (its missing counts as 0)."""
        return cls(
            input_tokens=raw.input_tokens or 0,
            output_tokens=raw.output_tokens or 0,
            cache_creation_input_tokens=raw.cache_creation_input_tokens or 0,
            cache_read_input_tokens=raw.cache_read_input_tokens or 0,
            server_tool_use=dict(server_tool_use or {}),
        )

    def __add__(self, other: Usage) -> Usage:
        server = dict(self.server_tool_use)
        for kind, count in other.server_tool_use.items():
            server[kind] = server.get(kind, 0) + count
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens
            + other.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            server_tool_use=server,
        )


class Timings(_Value):
    """Milliseconds. ``time_to_first_token_ms`` is None when no token arrived."""

    time_to_first_token_ms: float | None = None
    total_ms: float = 0.0


class ContractResult(_Value):
    """Outcome of checking an output against an agent's output contract."""

    valid: bool
    missing: list[str] = Field(default_factory=list)
    verdict: str | None = None
    #: Set when the contract lists ``verdict_values`` and the verdict is absent or not allowed.
    verdict_error: str | None = None


class ErrorInfo(_Value):
    """A failure as stored in a record and sent to the DLQ (see ``agents.errors``)."""

    type: str
    message: str
    retryable: bool
    details: dict[str, object] | None = None
