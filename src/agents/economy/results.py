"""Applying one Message Batch result to its item, once.

``claim_result`` (held by the submission, QUEUED -> RUNNING) is the right to apply it;
then, as for any run, ``complete`` or the failure path: a retryable failure (errored with a
transient error type, expired, canceled by a batch cancel) frees the item for the next
submission while attempts remain, anything else ends FAILED with its one DLQ message.
A contract miss gets its repair turn as one standard call, now (decision 17.3).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from agents.economy.requests import batch_price_factor, build_request
from agents.errors import (
    GatewayError,
    InvocationNotFound,
    ModelError,
    ModelRefusal,
    ModelUnavailable,
)
from agents.observability import logger
from agents.pricing import estimate_cost
from agents.prompting import build_repair_turn
from agents.runner.model_runner import INCOMPLETE_STOP_REASONS
from agents.types import ErrorInfo, InvocationStatus, Timings, Usage

if TYPE_CHECKING:
    import anthropic
    from anthropic.types.messages import MessageBatchIndividualResponse

    from agents.config import Settings
    from agents.definitions import AgentDefinition
    from agents.records import InvocationRecord
    from agents.registry import AgentRegistry
    from agents.store import InvocationStore
    from agents.store.economy import TrackingItem

__all__ = ["ResultApplier", "ResultOutcome"]

#: Anthropic error types a new submission can get past.
TRANSIENT_ERROR_TYPES: Final = frozenset(
    {"api_error", "overloaded_error", "rate_limit_error", "timeout_error"}
)
RESULT_LEASE_S: Final = 300.0
REPAIR_TIMEOUT_S: Final = 120.0

ResultOutcome = str  # "succeeded" | "failed" | "resubmitted" | "skipped"


@dataclass
class ResultApplier:
    store: InvocationStore
    registry: AgentRegistry
    client: Callable[[], anthropic.Anthropic]
    settings: Settings
    #: Frees items for the next submission (the economy queue's ``hand_off``).
    resubmit: Callable[[list[str]], None]

    def apply(
        self, tracking: TrackingItem, response: MessageBatchIndividualResponse
    ) -> ResultOutcome:
        invocation_id = response.custom_id
        try:
            record = self.store.get(invocation_id, hydrate=True)
        except InvocationNotFound:
            return "skipped"
        owner = f"economy:{tracking.submission}"
        if record.economy_submission != tracking.submission or record.status.terminal:
            if record.status is InvocationStatus.FAILED and not record.dlq_sent:
                self.store.ensure_dlq_sent(record.id)
            return "skipped"  # applied already, cancelled, or released
        claimed = self.store.claim_result(
            invocation_id, tracking.submission, owner, lease_seconds=RESULT_LEASE_S
        )
        if claimed is None:
            return "skipped"
        result = response.result
        if result.type == "succeeded":
            return self._succeeded(record, owner, result.message)
        if result.type == "errored":
            error_type = result.error.error.type
            message = result.error.error.message
            exc: GatewayError = (
                ModelUnavailable(f"batch item errored ({error_type}): {message}")
                if error_type in TRANSIENT_ERROR_TYPES
                else ModelError(f"batch item errored ({error_type}): {message}")
            )
        elif result.type == "expired":
            exc = ModelUnavailable("the Message Batch expired before the item was processed")
        else:
            exc = ModelUnavailable("the Message Batch was canceled before the item was processed")
        return self._failed(claimed, owner, tracking.submission, exc)

    # --- success -----------------------------------------------------------------------

    def _succeeded(self, record: InvocationRecord, owner: str, message: Any) -> ResultOutcome:
        started = time.monotonic()
        definition = self.registry.get(
            record.agent, version=record.agent_version, version_id=record.agent_version_id
        )
        if message.stop_reason == "refusal":
            details = getattr(message, "stop_details", None)
            reason = (getattr(details, "explanation", None) if details else None) or "refused"
            return self._failed(
                record,
                owner,
                record.economy_submission or "",
                ModelRefusal(
                    f"the model refused the request: {reason[:500]}", stop_reason="refusal"
                ),
            )
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = Usage.from_api(message.usage)
        model = str(message.model)
        cost = estimate_cost(model, usage, self.settings) * batch_price_factor()
        stop_reason = message.stop_reason
        contract = _check(definition, text, record)
        repaired = False
        if contract is not None and not contract.valid and stop_reason == "end_turn":
            repair = self._repair(
                definition, record, text, contract.missing, contract.verdict_error
            )
            if repair is not None:
                text, stop_reason, repair_usage = repair
                usage = usage + repair_usage
                cost += estimate_cost(model, repair_usage, self.settings)
                contract = _check(definition, text, record)
                repaired = True
        source = definition.source
        self.store.complete(
            record.id,
            owner,
            output=text,
            model=model,
            stop_reason=stop_reason,
            incomplete=stop_reason in INCOMPLETE_STOP_REASONS,
            repaired=repaired,
            contract=contract,
            usage=usage,
            cost_usd=round(cost, 8),
            timings=Timings(total_ms=round((time.monotonic() - started) * 1000, 1)),
            agent_version=definition.version,
            agent_etag=source.etag if source else None,
            agent_version_id=source.version_id if source else None,
        )
        return "succeeded"

    def _repair(
        self,
        definition: AgentDefinition,
        record: InvocationRecord,
        first: str,
        missing: list[str],
        verdict_error: str | None,
    ) -> tuple[str, str | None, Usage] | None:
        """The repair turn as one standard (real-time) call; None when it failed."""
        params = build_request(definition, record, self.settings).params
        params["messages"] = [
            *params["messages"],
            {"role": "assistant", "content": first},
            {"role": "user", "content": build_repair_turn(missing, verdict_error)},
        ]
        try:
            answer = self.client().with_options(timeout=REPAIR_TIMEOUT_S).messages.create(**params)
        except Exception as exc:  # noqa: BLE001 - the first answer is kept
            logger.warning(
                "economy repair turn failed; keeping the first answer",
                extra={"error": repr(exc)[:300]},
            )
            return None
        text = "".join(block.text for block in answer.content if block.type == "text")
        return text, answer.stop_reason, Usage.from_api(answer.usage)

    # --- failure -----------------------------------------------------------------------

    def _failed(
        self, record: InvocationRecord, owner: str, submission: str, exc: GatewayError
    ) -> ResultOutcome:
        info = ErrorInfo.model_validate(exc.to_dict())
        if exc.retryable and record.attempts < self.settings.max_receive_count:
            if self.store.release_submission(record.id, submission, info, owner=owner):
                self.resubmit([record.id])
                return "resubmitted"
            return "skipped"
        self.store.fail(record.id, info, owner=owner)
        return "failed"


def _check(definition: AgentDefinition, text: str, record: InvocationRecord) -> Any:
    if definition.output_contract is None:
        return None
    return definition.output_contract.check(text, record.input or "", record.invocation_context)
