"""``POST /invocations/{id}/actions``: decisions on a WAITING run's pending actions.

One conditional write (WAITING -> QUEUED with ``decisions``), then the continuation
message; if that send fails the record sits in the sweep index and the sweeper sends it
after ``HANDOFF_GRACE_SECONDS``."""

from __future__ import annotations

from collections.abc import Sequence

from agents.errors import GatewayError
from agents.observability import logger
from agents.pending_actions import ActionDecision
from agents.problems import public_view
from agents.records import InvocationView
from agents.service.core import ServiceCore

__all__ = ["ActionUseCases"]


class ActionUseCases(ServiceCore):
    """Approve or deny the tool calls a run waits on."""

    def decide_actions(
        self, tenant: str, invocation_id: str, decisions: Sequence[ActionDecision]
    ) -> InvocationView:
        """WAITING -> QUEUED with ``decisions`` and the continuation sent. 404 for an unknown
        or another tenant's id, 409 ``not-waiting``, 422 ``decisions-mismatch``."""
        from agents.continuations import send_continuation

        record = self.store.decide_actions(
            invocation_id,
            tenant,
            list(decisions),
            grace_seconds=self.settings.handoff_grace_seconds,
        )
        try:
            send_continuation(record.id, self.settings, sequence=f"decided{record.updated_at}")
        except GatewayError as exc:
            logger.warning(
                "continuation not sent; the sweeper resends it",
                extra={"invocation_id": record.id, "error_type": exc.error_type},
            )
        logger.info(
            "decisions recorded",
            extra={
                "invocation_id": record.id,
                "approved": sum(1 for d in decisions if d.decision == "approve"),
                "denied": sum(1 for d in decisions if d.decision == "deny"),
            },
        )
        return public_view(record)
