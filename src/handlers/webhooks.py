"""SQS (webhook queue, ``ReportBatchItemFailures``) -> :mod:`agents.webhooks.processor`.

Thin: Powertools batch processing (``AsyncBatchProcessor``), each record on a thread of a
small pool (a delivery is I/O bound: up to the connect + read timeouts). A record whose
AWS calls failed is reported in ``batchItemFailures`` and comes back; the queue's redrive
policy moves a message that keeps failing to the webhook DLQ.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)

from agents.observability import logger, metrics
from agents.webhooks.runtime import get_processor
from handlers import _snapstart
from handlers.entry import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["handler"]

#: Records of one batch attempted at once.
CONCURRENCY = 10


def _run_batch(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = event.get("Records") or []
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    webhooks = get_processor()
    outcomes: list[str] = []
    with ThreadPoolExecutor(
        max_workers=max(1, min(CONCURRENCY, len(records) or 1)), thread_name_prefix="webhook"
    ) as pool:

        async def record_handler(record: SQSRecord) -> str:
            call = functools.partial(webhooks.handle, record.body or "")
            run_in_context = functools.partial(contextvars.copy_context().run, call)
            outcome = await asyncio.get_running_loop().run_in_executor(pool, run_in_context)
            outcomes.append(outcome)
            return outcome

        response = async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    for name, kind in (("WebhooksDelivered", "delivered"), ("WebhookRetries", "retry")):
        count = sum(1 for o in outcomes if o == kind)
        if count:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    dead = sum(1 for o in outcomes if o == "dead-lettered")
    if dead:
        metrics.add_metric(name="WebhooksDeadLettered", unit=MetricUnit.Count, value=dead)
    logger.info(
        "webhook batch processed",
        extra={"records": len(records), "failed": len(response.get("batchItemFailures", []))},
    )
    return response


handler = lambda_entry(_run_batch, cold_start_metric=True)

_snapstart.install()
