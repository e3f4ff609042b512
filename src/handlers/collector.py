"""EventBridge Scheduler (every few minutes) -> one economy pass (:mod:`agents.economy`).

Thin: the pass collects ended Message Batches and submits the waiting economy items; the
metrics it emits feed the "batch in progress > 24 h" alarm. No Lambda shapes past here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from agents.economy.economy_pass import economy_pass
from agents.observability import logger, metrics
from handlers import _snapstart
from handlers.entry import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["handler"]


def _economy_pass(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = economy_pass()
    collect, submit = report.collect, report.submit
    metrics.add_metric(
        name="EconomyOldestBatchAgeSeconds",
        unit=MetricUnit.Seconds,
        value=collect.oldest_in_progress_s,
    )
    metrics.add_metric(name="EconomyOpenBatches", unit=MetricUnit.Count, value=collect.open_batches)
    metrics.add_metric(name="EconomySubmitted", unit=MetricUnit.Count, value=submit.submitted)
    summary = {
        "open_batches": collect.open_batches,
        "collected_batches": collect.collected_batches,
        "cancelled_batches": collect.cancelled_batches,
        "outcomes": dict(collect.outcomes),
        "received": submit.received,
        "submitted": submit.submitted,
        "failed": submit.failed,
        "batches": submit.batches,
    }
    logger.info("economy pass", extra=summary)
    return summary


handler = lambda_entry(_economy_pass, cold_start_metric=False)

_snapstart.install()
