"""DLQ entries as an operator sees them: a dead letter classified, and redrive reports.

Kinds (``DlqEntry.kind``): ``invocation`` (a FAILED invocation's dead letter), ``poison``
(a queue message that never became a record), ``queue-redrive`` (an invocation-queue
message the queue's own redrive policy moved: the worker crashed on every receive) and
``unknown``. docs/operations.md is the runbook.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agents.dead_letter_messages import DlqMessage

__all__ = ["DlqEntry", "EntryKind", "RedriveItem", "RedriveReport", "classify"]

EntryKind = Literal["invocation", "poison", "queue-redrive", "unknown"]


@dataclass
class DlqEntry:
    """One DLQ message, classified, with its invocation's current status."""

    message_id: str
    receipt_handle: str
    body: str
    kind: EntryKind
    sent_at_ms: int | None = None
    dlq_receive_count: int = 0
    invocation_id: str | None = None
    tenant: str | None = None
    agent: str | None = None
    error_type: str | None = None
    message: str | None = None
    retryable: bool | None = None
    attempts: int | None = None
    failed_at: str | None = None
    #: The record's status now (None: no record, or not looked up).
    record_status: str | None = None

    def age_s(self, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        if self.failed_at:
            from datetime import datetime

            try:
                moment = datetime.fromisoformat(self.failed_at.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None:
                return max(0.0, now - moment.timestamp())
        if self.sent_at_ms is not None:
            return max(0.0, now - self.sent_at_ms / 1000)
        return None

    def matches(self, wanted: str) -> bool:
        return wanted in {self.message_id, self.invocation_id}

    def to_dict(self, *, body: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data.pop("receipt_handle")
        if not body:
            data.pop("body")
        age = self.age_s()
        data["age_s"] = None if age is None else round(age, 1)
        return data


@dataclass
class RedriveItem:
    id: str
    #: requeued (FAILED -> QUEUED and a message sent), resent (record already QUEUED/RUNNING,
    #: message sent), refused (permanent: needs force), stale (nothing to run: message
    #: deleted), left (poison / unknown: stays), not-found, error.
    action: str
    detail: str = ""
    message_id: str | None = None


@dataclass
class RedriveReport:
    method: Literal["move-task", "loop", "none"]
    items: list[RedriveItem] = field(default_factory=list)
    task_handle: str | None = None
    task_status: str | None = None
    moved: int | None = None

    @property
    def ok(self) -> bool:
        return not any(i.action in {"refused", "not-found", "error"} for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "task_handle": self.task_handle,
            "task_status": self.task_status,
            "moved": self.moved,
            "items": [asdict(item) for item in self.items],
            "ok": self.ok,
        }


def classify(message_id: str, body: str) -> dict[str, Any]:
    """An entry's fields from its body (see the module docs for the kinds)."""
    from agents.worker_messages import RawJob, job_invocation_id, message_shape

    shape = message_shape(body)
    if shape == "dlq":
        try:
            dead = DlqMessage.model_validate_json(body)
        except ValueError:
            return {"kind": "unknown"}
        return {
            "kind": dead.kind,
            "invocation_id": dead.invocation_id,
            "tenant": dead.tenant,
            "agent": dead.agent,
            "error_type": dead.error_type,
            "message": dead.message,
            "retryable": dead.retryable,
            "attempts": dead.attempts,
            "failed_at": dead.failed_at,
        }
    crashed = {
        "kind": "queue-redrive",
        "error_type": "worker-crashed",
        "message": "the queue's redrive policy moved it: the worker crashed or timed out on "
        "every receive",
        "retryable": True,
    }
    data = json.loads(body) if shape is not None else None
    if shape == "ref" and isinstance(data, dict) and isinstance(data.get("invocation_id"), str):
        return {**crashed, "invocation_id": data["invocation_id"]}
    if shape == "job":
        try:
            job = RawJob.model_validate(data)
        except ValueError:
            return {"kind": "unknown"}
        return {
            **crashed,
            "invocation_id": job_invocation_id(job, message_id),
            "tenant": job.effective_tenant,
            "agent": job.agent,
        }
    return {"kind": "unknown"}
