"""Feed a handler from SQS the way Lambda's SQS event source mapping does: ``concurrency``
consumer threads long-poll the queue, build SQS events, call the handler in-process and
delete what succeeded, by Lambda's batch-failure rules. The rules, the event's shape and the
DLQ (SQS's own redrive, never this poller): docs/local.md ("SQS event source mapping").
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import KW_ONLY, InitVar, dataclass, field
from typing import TYPE_CHECKING, Any

from local.aws_stack import LOCAL_CREDENTIALS
from local.lambda_context import context_for
from local.runtime import Handler, load_handler
from local.template import FunctionSpec, Template, TemplateError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = ["PollerStats", "SqsPoller"]

log = logging.getLogger(__name__)

#: The number of concurrent batches Lambda's SQS pollers start with.
DEFAULT_CONCURRENCY = 5
_MAX_RECEIVE = 10


@dataclass
class PollerStats:
    """Counters since start (a snapshot is returned by :attr:`SqsPoller.stats`)."""

    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    handler_errors: int = 0


@dataclass(eq=False)
class SqsPoller:
    """Consumer threads that feed ``handler`` from one queue; ``start()``/``stop()``/``url``."""

    function: FunctionSpec
    _: KW_ONLY
    queue_url: str
    queue_arn: str
    endpoint_url: str
    region: str = "us-east-1"
    handler: InitVar[Handler | None] = None
    batch_size: int = 10
    batching_window_s: float = 0
    report_batch_item_failures: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    failure_visibility_timeout: int | None = None
    #: The handler's deadline instead of the template's ``Timeout`` (local only).
    function_timeout_s: float | None = None
    poll_wait_s: int = 1
    _handler: Handler | None = field(init=False, default=None, repr=False)
    _handler_lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(init=False, default_factory=threading.Event, repr=False)
    _threads: list[threading.Thread] = field(init=False, default_factory=list, repr=False)
    _stats: PollerStats = field(init=False, default_factory=PollerStats, repr=False)
    _stats_lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    _sqs: SQSClient | None = field(init=False, default=None, repr=False)

    def __post_init__(self, handler: Handler | None) -> None:
        if self.batch_size < 1 or self.concurrency < 1:
            raise ValueError("batch_size and concurrency must be at least 1")
        if not 1 <= self.poll_wait_s <= 20:
            raise ValueError("poll_wait_s must be 1..20 (SQS long polling)")
        if self.function_timeout_s is not None and self.function_timeout_s <= 0:
            raise ValueError("function_timeout_s must be positive")
        self._handler = handler

    @classmethod
    def from_template(
        cls,
        template: Template,
        function_id: str = "WorkerFunction",
        *,
        handler: Handler | None = None,
        concurrency: int | None = None,
        **options: Any,
    ) -> SqsPoller:
        """The poller for ``function_id``'s SQS event, as the template configures it.

        ``concurrency`` defaults to the event's ``ScalingConfig.MaximumConcurrency``,
        else to Lambda's initial 5 concurrent batches.
        """
        source = template.sqs_event_source(function_id)
        if source is None:
            raise TemplateError(f"{function_id} has no SQS event in the template")
        if source.queue_logical_id is None:
            raise TemplateError(f"{function_id}'s SQS event does not name a queue of the template")
        queue = template.queue(source.queue_logical_id)
        return cls(
            template.function(function_id),
            queue_url=queue.url,
            queue_arn=queue.arn,
            endpoint_url=template.endpoint_url,
            region=template.region,
            handler=handler,
            batch_size=source.batch_size,
            batching_window_s=source.maximum_batching_window_in_seconds,
            report_batch_item_failures=source.report_batch_item_failures,
            concurrency=concurrency or source.maximum_concurrency or DEFAULT_CONCURRENCY,
            **options,
        )

    # ---------------------------------------------------------------- lifecycle

    @property
    def timeout_s(self) -> float:
        """The handler's timeout: ``function_timeout_s``, else the template's ``Timeout``."""
        if self.function_timeout_s is not None:
            return self.function_timeout_s
        return float(self.function.timeout)

    @property
    def url(self) -> str:
        """The queue this poller reads."""
        return self.queue_url

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def stats(self) -> PollerStats:
        with self._stats_lock:
            return PollerStats(**vars(self._stats))

    def start(self) -> str:
        if self._threads:
            return self.url
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )
        self._sqs = session.client(
            "sqs",
            endpoint_url=self.endpoint_url,
            config=Config(
                max_pool_connections=self.concurrency + 4,
                read_timeout=self.poll_wait_s + 10,
                connect_timeout=2,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        )
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._consume, name=f"sqs-poller-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()
        return self.url

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop polling; wait for in-flight batches (at most ``timeout_s``,
        default: the function's timeout plus one long poll)."""
        self._stop.set()
        limit = timeout_s if timeout_s is not None else self.timeout_s + self.poll_wait_s + 5
        deadline = time.monotonic() + limit
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        self._threads = []
        if alive:
            log.warning("SQS poller threads still busy after %.1fs: %s", limit, ", ".join(alive))

    def __enter__(self) -> SqsPoller:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- polling

    def _handler_fn(self) -> Handler:
        if self._handler is None:
            with self._handler_lock:
                if self._handler is None:
                    self._handler = load_handler(self.function)
        return self._handler

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self._stats, name, getattr(self._stats, name) + value)

    def _consume(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._collect()
                if messages:
                    self.process(messages)
            except Exception:
                log.exception("SQS poller error; retrying in 1s")
                self._stop.wait(1.0)

    def _receive(self, count: int, wait_s: int) -> list[MessageTypeDef]:
        assert self._sqs is not None
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _collect(self) -> list[MessageTypeDef]:
        """One batch: up to ``batch_size`` messages within the batching window."""
        batch = self._receive(min(_MAX_RECEIVE, self.batch_size), self.poll_wait_s)
        if not batch or self.batching_window_s <= 0:
            return batch
        window_ends = time.monotonic() + self.batching_window_s
        while len(batch) < self.batch_size and not self._stop.is_set():
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            wait = max(0, min(self.poll_wait_s, int(remaining)))
            more = self._receive(min(_MAX_RECEIVE, self.batch_size - len(batch)), wait)
            batch.extend(more)
            if not more and wait == 0:
                # Sub-second remainder: SQS long polls in whole seconds; wait it out.
                self._stop.wait(remaining)
        return batch

    def event_for(self, messages: Sequence[MessageTypeDef]) -> dict[str, Any]:
        """The Lambda SQS event for ``messages``."""
        return {"Records": [self._record(m) for m in messages]}

    def _record(self, message: MessageTypeDef) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        for name, value in (message.get("MessageAttributes") or {}).items():
            entry: dict[str, Any] = {
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            if "StringValue" in value:
                entry["stringValue"] = value["StringValue"]
            if "BinaryValue" in value:
                entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
            attributes[name] = entry
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def failed_ids(self, messages: Sequence[MessageTypeDef], response: Any) -> set[str]:
        """Which messages failed, by Lambda's rules for a handler's response."""
        every = {m["MessageId"] for m in messages}
        if not self.report_batch_item_failures:
            return set()
        if not isinstance(response, dict):
            return set()
        failures = response.get("batchItemFailures")
        if not failures:
            return set()
        failed: set[str] = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in every:
                log.error("invalid batchItemFailures entry %r: failing the whole batch", failure)
                return every
            failed.add(identifier)
        return failed

    def process(self, messages: Sequence[MessageTypeDef]) -> set[str]:
        """Run one batch through the handler; delete successes. Returns the failed ids."""
        assert self._sqs is not None
        self._count(batches=1, received=len(messages))
        event = self.event_for(messages)
        context = context_for(self.function, timeout_seconds=self.timeout_s)
        every = {m["MessageId"] for m in messages}
        try:
            response = self._handler_fn()(event, context)
        except Exception:
            log.exception("%s raised: the whole batch will be retried", self.function.handler)
            self._count(handler_errors=1)
            failed = every
        else:
            if context.timed_out:
                log.error(
                    "%s: Task timed out after %g seconds: the whole batch will be retried",
                    self.function.logical_id,
                    self.timeout_s,
                )
                self._count(handler_errors=1)
                failed = every
            else:
                failed = self.failed_ids(messages, response)
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(succeeded), _MAX_RECEIVE):
            chunk = succeeded[start : start + _MAX_RECEIVE]
            result = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)
                ],
            )
            for error in result.get("Failed", []):
                log.error("DeleteMessage failed: %s", error)
        self._count(deleted=len(succeeded), failed=len(failed))
        if failed and self.failure_visibility_timeout is not None:
            retry = [m for m in messages if m["MessageId"] in failed]
            for start in range(0, len(retry), _MAX_RECEIVE):
                chunk = retry[start : start + _MAX_RECEIVE]
                self._sqs.change_message_visibility_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {
                            "Id": str(n),
                            "ReceiptHandle": m["ReceiptHandle"],
                            "VisibilityTimeout": self.failure_visibility_timeout,
                        }
                        for n, m in enumerate(chunk)
                    ],
                )
        return failed
