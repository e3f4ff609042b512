"""SQS (invocation queue, ``ReportBatchItemFailures``) -> :func:`agents.worker.process_message`.

Thin: Powertools batch processing (``AsyncBatchProcessor`` +
``async_process_partial_response``) turns each SQS record into a
:class:`agents.worker.QueueMessage`; the records of one batch run concurrently, each on
a thread of a pool bounded by ``WORKER_CONCURRENCY`` (the model call is I/O, so a batch of
ten takes about one model latency). A record whose message must come back is reported
in ``batchItemFailures``; a batch whose every record must come back is reported the same
way (``raise_on_entire_batch_failure=False``), never as a function error.

Cold start: nothing here imports ``anthropic`` or ``boto3`` or builds a client at import;
under SnapStart the heavy imports are paid in the snapshot (``_snapstart.import_heavy``) and every
client is forgotten after a restore.
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

from agents.config import get_settings
from agents.observability import logger, metrics
from agents.runner import Deadline
from agents.worker import MessageResult, QueueMessage, process_message
from handlers import _snapstart
from handlers.entry import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["RetryLater", "handler", "to_queue_message"]


class RetryLater(Exception):
    """Raised by the record handler so Powertools reports the record as a batch item failure."""

    def __init__(self, result: MessageResult) -> None:
        super().__init__(f"{result.status}: {result.error_type or 'retry'}")
        self.result = result


def to_queue_message(record: SQSRecord) -> QueueMessage:
    """The core's view of one SQS record (no Lambda shapes past this point)."""
    attributes = {str(k): str(v) for k, v in (record.get("attributes") or {}).items()}
    try:
        count = int(record.attributes.approximate_receive_count)
    except (KeyError, TypeError, ValueError):
        count = 1
    return QueueMessage(
        message_id=record.message_id,
        body=record.body or "",
        receive_count=max(1, count),
        attributes=attributes,
    )


def _run_batch(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    deadline = Deadline.from_lambda_context(context)
    records = event.get("Records") or []
    settings = get_settings()
    request_id = str(getattr(context, "aws_request_id", "") or "local")
    workers = max(1, min(settings.worker_concurrency, len(records) or 1))
    # One processor and one pool per invocation: a process that runs several batches at
    # once (the local poller) must not share their state.
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    metrics.add_metric(name="WorkerMessages", unit=MetricUnit.Count, value=len(records))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker-record") as pool:

        async def record_handler(record: SQSRecord) -> str:
            message = to_queue_message(record)
            call = functools.partial(
                process_message,
                message,
                deadline=deadline,
                owner=f"worker:{request_id}:{message.message_id}",
                settings=settings,
            )
            # Each record's thread keeps its own copy of the context (thread-safe log keys).
            run_in_context = functools.partial(contextvars.copy_context().run, call)
            result = await asyncio.get_running_loop().run_in_executor(pool, run_in_context)
            if result.retry:
                raise RetryLater(result)
            return result.status

        response = async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    failures = len(response.get("batchItemFailures", []))
    if failures:
        metrics.add_metric(name="WorkerRetries", unit=MetricUnit.Count, value=failures)
    logger.info("batch processed", extra={"records": len(records), "retried": failures})
    return response


handler = lambda_entry(_run_batch, cold_start_metric=True)

# SnapStart: environments restored from one snapshot must not share clients, credentials
# or caches; the heavy imports are paid in the snapshot.
_snapstart.install()
