"""The sweeper's core: act on records that nothing else will move (docs/architecture.md,
"Resumable runs"; decisions 15.20-15.24).

It queries the sparse ``SweepIndex`` (``sweep_shard = "due"``, ``sweep_at <= now``; never a
scan) and, per record, after a strongly consistent read:

* RUNNING, lease expired, handed off (no owner) or QUEUED after decisions: the continuation
  may be lost -> send it again (``resent``);
* RUNNING, lease expired under an owner, with a checkpoint: its runner died -> continuation
  (``resumed``);
* the same without a checkpoint: FAILED ``abandoned``, one DLQ message (``abandoned``);
* WAITING past ``APPROVAL_TIMEOUT_SECONDS``: FAILED ``approval-timeout``, one DLQ message;
* first, on any record: webhook events whose send failed are sent (``webhook_events_resent``,
  ``agents.store.webhook_outbox``).

Each action is one conditional write (it loses to any runner that moved the record first).
``handlers.sweeper`` runs :func:`sweep` on a schedule; ``agw dev`` in a thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agents.awserrors import translate_aws_errors
from agents.errors import ApprovalTimeout, GatewayError, InvocationNotFound, RunAbandoned
from agents.observability import logger
from agents.record_items import item_to_python
from agents.records import InvocationRecord, utc_now
from agents.store.conditions import SWEEP_SHARD
from agents.types import ErrorInfo, InvocationStatus

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.store import InvocationStore

__all__ = ["SWEEP_INDEX", "SweepReport", "sweep"]

SWEEP_INDEX = "SweepIndex"
#: Records one sweep reads at most (``limit`` is capped to it).
MAX_SWEEP_LIMIT = 1000


class SweepReport(BaseModel):
    """What one sweep did."""

    scanned: int = 0
    resumed: int = 0
    resent: int = 0
    abandoned: int = 0
    approval_timeouts: int = 0
    #: Held webhook events sent (decision 16.65).
    webhook_events_resent: int = 0
    #: Records another runner moved first, or whose action failed (retried next sweep).
    skipped: int = 0
    errors: int = 0


def sweep(
    *, now: float | None = None, limit: int = 100, store: InvocationStore | None = None
) -> SweepReport:
    """One pass over the due records (at most ``limit``); see the module docs."""
    from agents.config import get_settings

    settings = get_settings()
    if store is None:
        from agents.store import get_store

        store = get_store()
    now = utc_now() if now is None else now
    report = SweepReport()
    for key in _due(store, now, max(1, min(limit, MAX_SWEEP_LIMIT))):
        report.scanned += 1
        try:
            _act(store, settings, key, now, report)
        except GatewayError as exc:
            report.errors += 1
            logger.warning(
                "sweeper could not act on a record; the next sweep retries",
                extra={"invocation_id": key["id"], "error_type": exc.error_type},
            )
    if report.scanned:
        logger.info("sweep finished", extra=report.model_dump())
    return report


def _due(store: InvocationStore, now: float, limit: int) -> list[dict[str, Any]]:
    """The index entries due at ``now`` (oldest first): id and ``sweep_at``."""
    found: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while len(found) < limit:
        request: dict[str, Any] = {
            "TableName": store.table,
            "IndexName": SWEEP_INDEX,
            "KeyConditionExpression": "#shard = :shard AND #at <= :now",
            "ExpressionAttributeNames": {"#shard": "sweep_shard", "#at": "sweep_at"},
            "ExpressionAttributeValues": {":shard": {"S": SWEEP_SHARD}, ":now": {"N": repr(now)}},
            "Limit": limit - len(found),
        }
        if start:
            request["ExclusiveStartKey"] = start
        with translate_aws_errors("dynamodb:Query"):
            response = store.dynamodb.query(**request)
        found.extend(item_to_python(item) for item in response.get("Items", []))
        start = response.get("LastEvaluatedKey")
        if not start:
            break
    return found[:limit]


def _act(
    store: InvocationStore,
    settings: Settings,
    key: dict[str, Any],
    now: float,
    report: SweepReport,
) -> None:
    from agents.continuations import send_continuation
    from agents.store.webhook_outbox import release_held_events

    try:
        record = store.get(str(key["id"]), hydrate=False)
    except InvocationNotFound:
        report.skipped += 1
        return
    seen = record.sweep_at
    if seen is None or seen > now:
        report.skipped += 1  # the index lagged behind a write that took it out or moved it
        return
    if record.webhook_unsent:
        report.webhook_events_resent += release_held_events(
            store, record, approval_timeout_seconds=settings.approval_timeout_seconds
        )
        if record.terminal or record.status is InvocationStatus.WAITING:
            return  # out of the index, or due again at its approval timeout
    if record.status is InvocationStatus.WAITING:
        error = _error(
            ApprovalTimeout(f"no decision within {settings.approval_timeout_seconds} s of waiting")
        )
        won = store.fail_swept(record.id, error, expect="waiting", now=now)
        _count(report, "approval_timeouts", won, record)
        return
    expired = record.lease_expires_at is None or record.lease_expires_at < now
    handed_off = record.status is InvocationStatus.QUEUED or (
        record.status is InvocationStatus.RUNNING and expired and record.lease_owner is None
    )
    crashed = record.status is InvocationStatus.RUNNING and expired and not handed_off
    if crashed and record.checkpoint_ref is None:
        error = _error(
            RunAbandoned(
                "the run's runner stopped before its first checkpoint and nothing redelivers it"
            )
        )
        won = store.fail_swept(record.id, error, expect="abandoned", now=now)
        _count(report, "abandoned", won, record)
        return
    if not (handed_off or crashed):
        report.skipped += 1  # a live lease (refreshed after the index entry was written)
        return
    marked = store.mark_resent(
        record.id,
        seen_sweep_at=seen,
        grace_seconds=settings.handoff_grace_seconds,
        new_segment=crashed and not handed_off,
        now=now,
    )
    if marked is None:
        report.skipped += 1
        return
    send_continuation(record.id, settings, sequence=f"sweep{int(now)}")
    _count(report, "resent" if handed_off else "resumed", True, record)


def _count(report: SweepReport, field: str, won: bool, record: InvocationRecord) -> None:
    if not won:
        report.skipped += 1
        return
    setattr(report, field, getattr(report, field) + 1)
    logger.warning(
        "sweeper acted on a run",
        extra={"invocation_id": record.id, "action": field, "status": record.status.value},
    )


def _error(exc: GatewayError) -> ErrorInfo:
    return ErrorInfo.model_validate(exc.to_dict())
