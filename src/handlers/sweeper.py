"""EventBridge Scheduler (every 5 minutes) -> one sweep (:func:`agents.sweeper.sweep`).

Thin: the sweep queries the sparse ``SweepIndex`` for runs whose lease, hand-off or approval
wait is overdue, resumes the ones that have a checkpoint (a continuation message) and fails
the rest (``abandoned`` / ``approval-timeout``, one DLQ message each). This handler only
logs the :class:`~agents.sweeper.SweepReport` and emits its counts as metrics
(docs/operations.md, "The sweeper"). No Lambda shapes past here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from agents.observability import logger, metrics
from agents.sweeper import sweep
from handlers import _snapstart
from handlers.entry import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["REPORT_METRICS", "handler"]

#: SweepReport count -> the metric it is emitted as (namespace AgentGateway).
REPORT_METRICS = {
    "scanned": "SweepScanned",
    "resumed": "SweepResumed",
    "resent": "SweepResent",
    "abandoned": "SweepAbandoned",
    "approval_timeouts": "SweepApprovalTimeouts",
    "webhook_events_resent": "SweepWebhookEventsResent",
    "skipped": "SweepSkipped",
    "errors": "SweepErrors",
}


def _sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = sweep()
    summary = {field: int(getattr(report, field)) for field in REPORT_METRICS}
    for field, metric in REPORT_METRICS.items():
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=summary[field])
    logger.info("sweep", extra=summary)
    return summary


handler = lambda_entry(_sweep, cold_start_metric=False)

_snapstart.install()
