"""Redrive the dead-letter queue: peek (never losing a message), find, delete, redrive.

:meth:`DeadLetters.peek` receives with a short visibility timeout and never deletes; every
message it saw is made visible again at the end (if the process dies, SQS does it when the
timeout ends). Redrive = ``store.requeue_failed`` (FAILED -> QUEUED; a permanent failure
needs ``force``) then a message on the invocation queue: SQS's message-move task, or a
receive/send/delete loop (decision 5.5). ``agw dlq`` is the CLI; docs/operations.md the
runbook.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from agents.dead_letter_entries import DlqEntry, RedriveItem, RedriveReport, classify
from agents.errors import BadRequest, Conflict, GatewayError, InvocationNotFound
from agents.records import InvocationRecord, is_valid_id
from agents.types import InvocationStatus

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from agents.store import InvocationStore

__all__ = ["DeadLetters", "Method"]

#: Seconds a peeked message stays hidden while the command runs (then released).
PEEK_HOLD_S = 30
#: Upper bound of messages one command reads.
MAX_PEEK = 1000
#: Seconds to wait for a message-move task to finish before reporting it as running.
MOVE_TASK_WAIT_S = 60.0
_UNSUPPORTED_CODES = frozenset(
    {"InvalidAction", "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation"}
)

Method = Literal["auto", "move-task", "loop"]


class DeadLetters:
    """The DLQ of one deployment (or the local stack)."""

    def __init__(
        self,
        *,
        dlq_url: str,
        queue_url: str,
        store: InvocationStore,
        sqs: SQSClient,
        hold_s: int = PEEK_HOLD_S,
    ) -> None:
        if not dlq_url:
            raise BadRequest("no DLQ URL (set DLQ_URL or pass --dlq-url)")
        self.dlq_url = dlq_url
        self.queue_url = queue_url
        self.store = store
        self.sqs = sqs
        self.hold_s = hold_s

    # --- reading -------------------------------------------------------------------

    def peek(self, *, limit: int = MAX_PEEK, lookup: bool = True) -> list[DlqEntry]:
        """Every message currently visible (up to ``limit``), hidden for ``hold_s`` seconds.

        Call :meth:`release` (or use :meth:`entries`) to make them visible again at once.
        """
        from agents.queue_peek import peek_messages

        messages = peek_messages(self.sqs, self.dlq_url, limit=limit, hold_s=self.hold_s)
        seen = {entry.message_id: entry for entry in map(self._entry, messages)}
        entries = list(seen.values())
        if lookup:
            self._lookup(entries)
        entries.sort(key=lambda e: (e.failed_at or "", e.sent_at_ms or 0))
        return entries

    def entries(self, *, limit: int = MAX_PEEK) -> list[DlqEntry]:
        """Peek and release: the DLQ's messages, left where they were."""
        entries = self.peek(limit=limit)
        self.release(entries)
        return entries

    def release(self, entries: Iterable[DlqEntry]) -> None:
        """Make peeked messages visible again now."""
        from agents.queue_peek import release_messages

        release_messages(self.sqs, self.dlq_url, (e.receipt_handle for e in entries))

    def find(self, wanted: str) -> tuple[DlqEntry | None, InvocationRecord | None]:
        """The DLQ entry (by invocation id or message id) and the invocation record."""
        entry = next((e for e in self.entries() if e.matches(wanted)), None)
        invocation_id = entry.invocation_id if entry else wanted
        record = None
        if invocation_id and is_valid_id(invocation_id):
            try:
                record = self.store.get(invocation_id, hydrate=False)
            except InvocationNotFound:
                record = None
        return entry, record

    # --- changing ----------------------------------------------------------------------

    def delete(self, ids: Sequence[str], *, force: bool = False) -> list[RedriveItem]:
        """Delete DLQ messages (poison / unknown / stale; an invocation's needs ``force``)."""
        entries = self.peek()
        items: list[RedriveItem] = []
        done: set[str] = set()
        try:
            for wanted in ids:
                entry = next((e for e in entries if e.matches(wanted)), None)
                if entry is None:
                    items.append(RedriveItem(wanted, "not-found", "no such message in the DLQ"))
                    continue
                live = entry.record_status in {"FAILED", "QUEUED", "RUNNING"}
                if entry.kind in {"invocation", "queue-redrive"} and live and not force:
                    items.append(
                        RedriveItem(
                            wanted,
                            "refused",
                            f"the dead letter of invocation {entry.invocation_id} "
                            f"({entry.record_status}); redrive it, or delete with --force",
                            entry.message_id,
                        )
                    )
                    continue
                self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=entry.receipt_handle)
                done.add(entry.message_id)
                items.append(RedriveItem(wanted, "deleted", entry.kind, entry.message_id))
        finally:
            self.release(e for e in entries if e.message_id not in done)
        return items

    def redrive(
        self,
        ids: Sequence[str] | None,
        *,
        force: bool = False,
        method: Method = "auto",
        wait_s: float = MOVE_TASK_WAIT_S,
    ) -> RedriveReport:
        """Redrive ``ids`` (invocation or message ids), or everything redrivable (None)."""
        if not self.queue_url:
            raise BadRequest("no invocation queue URL (set INVOCATION_QUEUE_URL or --queue-url)")
        entries = self.peek()
        released = False
        deleted: set[str] = set()
        try:
            if ids is None:
                selected = [e for e in entries if e.kind in {"invocation", "queue-redrive"}]
                left = [e for e in entries if e not in selected]
            else:
                selected = [e for e in entries if any(e.matches(i) for i in ids)]
                left = [e for e in entries if e not in selected]
            report_items = [
                RedriveItem(
                    e.invocation_id or e.message_id,
                    "left",
                    f"{e.kind}: stays in the DLQ",
                    e.message_id,
                )
                for e in left
                if ids is None
            ]
            plans = [self._prepare(entry, force=force) for entry in selected]
            missing: list[str] = []
            if ids is not None:
                found = {i for i in ids if any(e.matches(i) for e in selected)}
                missing = [i for i in ids if i not in found]
            use_task = method == "move-task" or (
                method == "auto"
                and ids is None
                and not left
                and selected
                and all(item.action in {"requeued", "resent"} for item, _ in plans)
                and self.move_task_supported()
            )
            if use_task:
                if method == "move-task" and not self.move_task_supported():
                    raise GatewayError("this SQS endpoint does not support message-move tasks")
                self.release(entries)
                released = True
                report = self._move_task(wait_s)
                report.items = [item for item, _ in plans] + report_items
                return report
            report = RedriveReport(method="loop" if selected or missing else "none")
            for item, entry in plans:
                if self._finish(item, entry):
                    deleted.add(entry.message_id)
                report.items.append(item)
            for wanted in missing:
                report.items.append(self._redrive_from_store(wanted, force=force))
            report.items.extend(report_items)
            return report
        finally:
            if not released:
                # Everything not deleted becomes visible again now.
                self.release(e for e in entries if e.message_id not in deleted)

    # --- internals ---------------------------------------------------------------------

    def _entry(self, message: Any) -> DlqEntry:
        attributes = message.get("Attributes") or {}
        body = message.get("Body", "")
        fields = classify(message["MessageId"], body)
        sent = attributes.get("SentTimestamp")
        return DlqEntry(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=body,
            sent_at_ms=int(sent) if sent and sent.isdigit() else None,
            dlq_receive_count=int(attributes.get("ApproximateReceiveCount", "0") or 0),
            **fields,
        )

    def _lookup(self, entries: list[DlqEntry]) -> None:
        for entry in entries:
            if entry.invocation_id and is_valid_id(entry.invocation_id):
                try:
                    record = self.store.get(entry.invocation_id, hydrate=False)
                except InvocationNotFound:
                    continue
                entry.record_status = record.status.value
                if entry.kind == "queue-redrive":
                    entry.attempts = record.attempts
                    entry.agent = entry.agent or record.agent
                    entry.tenant = entry.tenant or record.tenant

    def _prepare(self, entry: DlqEntry, *, force: bool) -> tuple[RedriveItem, DlqEntry]:
        """Requeue the entry's record where needed; what is left to do goes in the item."""
        ident = entry.invocation_id or entry.message_id
        item = RedriveItem(ident, "error", message_id=entry.message_id)
        status = entry.record_status
        if entry.kind == "queue-redrive" and status is None:
            # A raw job that never became a record: send its body back as it was.
            item.action, item.detail = "resent", "no record yet: the original message is resent"
            return item, entry
        if entry.invocation_id is None or status is None:
            item.action, item.detail = "not-found", "its invocation record does not exist"
            return item, entry
        if status in {InvocationStatus.SUCCEEDED.value, InvocationStatus.CANCELLED.value}:
            item.action, item.detail = "stale", f"the invocation is {status}: nothing to redrive"
            return item, entry
        if status in {InvocationStatus.QUEUED.value, InvocationStatus.RUNNING.value}:
            item.action, item.detail = "resent", f"the invocation is {status}"
            return item, entry
        return self._requeue(entry.invocation_id, item, force=force), entry

    def _requeue(self, invocation_id: str, item: RedriveItem, *, force: bool) -> RedriveItem:
        from agents.store import RedriveRefused

        try:
            record = self.store.requeue_failed(invocation_id, force=force)
        except RedriveRefused as exc:
            item.action, item.detail = "refused", f"{exc.detail} (use --force)"
            return item
        except Conflict as exc:
            current = self._status(invocation_id)
            if current in {InvocationStatus.QUEUED.value, InvocationStatus.RUNNING.value}:
                item.action, item.detail = "resent", f"the invocation is {current}"
            else:
                item.action, item.detail = "error", exc.detail
            return item
        item.action = "requeued"
        item.detail = f"FAILED -> QUEUED (attempts so far: {record.attempts})"
        return item

    def _status(self, invocation_id: str) -> str | None:
        try:
            return self.store.get(invocation_id, hydrate=False).status.value
        except InvocationNotFound:
            return None

    def _finish(self, item: RedriveItem, entry: DlqEntry) -> bool:
        """Loop method: send the invocation's message, then delete the dead letter (True)."""
        if item.action in {"requeued", "resent"}:
            if entry.kind == "queue-redrive" and entry.record_status is None:
                body = entry.body
            else:
                body = json.dumps({"invocation_id": entry.invocation_id})
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        elif item.action != "stale":
            return False  # refused / not-found / error: the dead letter stays
        self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=entry.receipt_handle)
        return True

    def _redrive_from_store(self, invocation_id: str, *, force: bool) -> RedriveItem:
        """An id with no dead letter in the DLQ (expired, deleted): redrive from its record."""
        item = RedriveItem(invocation_id, "not-found", "not in the DLQ and no such invocation")
        status = self._status(invocation_id) if is_valid_id(invocation_id) else None
        if status is None:
            return item
        if status == InvocationStatus.FAILED.value:
            item = self._requeue(invocation_id, item, force=force)
        elif status in {InvocationStatus.QUEUED.value, InvocationStatus.RUNNING.value}:
            item.action, item.detail = "resent", f"the invocation is {status}"
        else:
            item.action, item.detail = "stale", f"the invocation is {status}: nothing to redrive"
            return item
        if item.action in {"requeued", "resent"}:
            item.detail += " (no dead letter in the DLQ)"
            body = json.dumps({"invocation_id": invocation_id})
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        return item

    # --- message-move task ---------------------------------------------------------------

    def _arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def move_task_supported(self) -> bool:
        """True when the endpoint answers ``ListMessageMoveTasks`` (moto does not)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.sqs.list_message_move_tasks(SourceArn=self._arn(self.dlq_url), MaxResults=1)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _UNSUPPORTED_CODES or status >= 500 or status in {400, 404, 501}:
                return False
            raise
        except (BotoCoreError, NotImplementedError):
            return False
        return True

    def _move_task(self, wait_s: float) -> RedriveReport:
        """``StartMessageMoveTask`` DLQ -> invocation queue; wait (bounded) for it to end."""
        source = self._arn(self.dlq_url)
        started = self.sqs.start_message_move_task(
            SourceArn=source, DestinationArn=self._arn(self.queue_url)
        )
        report = RedriveReport(method="move-task", task_handle=started.get("TaskHandle"))
        give_up = time.monotonic() + wait_s
        while True:
            tasks = self.sqs.list_message_move_tasks(SourceArn=source, MaxResults=1).get(
                "Results", []
            )
            task = tasks[0] if tasks else {}
            report.task_status = task.get("Status")
            report.moved = task.get("ApproximateNumberOfMessagesMoved")
            if report.task_status in {"COMPLETED", "FAILED", "CANCELLED"}:
                return report
            if time.monotonic() >= give_up:
                return report
            time.sleep(1.0)
