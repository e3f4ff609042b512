"""The container's event log, and the one way the run writes to it: :func:`emit`, which
never fails the run (decision 16.8).

A failed event write (DynamoDB down, throttled, the table missing, lost races) is logged
and counted (``EventWriteFailures``) and the run goes on: the event log is for watching a
run, the record stays the truth. With no ``EVENTS_TABLE`` configured nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools.metrics import MetricUnit

from agents.container import per_container
from agents.events.log import EventLog
from agents.events.model import EventDraft
from agents.observability import logger, metrics

__all__ = ["emit", "get_event_log"]


@per_container
def get_event_log() -> EventLog | None:
    """The container's event log, from settings (None: ``EVENTS_TABLE`` is not set)."""
    from agents.config import get_settings

    settings = get_settings()
    if not settings.events_table:
        return None
    return EventLog(settings.events_table, retention_days=settings.retention_days)


def emit(
    invocation_id: str,
    drafts: Sequence[EventDraft],
    *,
    expires_at: int | None = None,
    new_log: bool = False,
) -> int | None:
    """Append ``drafts`` to the invocation's log: the last seq, or None when nothing was
    written (no log configured, nothing to write, or the write failed: logged + counted)."""
    if not drafts:
        return None
    try:
        log = get_event_log()
        if log is None:
            return None
        return log.append(invocation_id, drafts, expires_at=expires_at, new_log=new_log)
    except Exception as exc:  # noqa: BLE001 - an event write never fails the run (16.8)
        metrics.add_metric(name="EventWriteFailures", unit=MetricUnit.Count, value=1)
        logger.warning(
            "could not write to the event log; the run goes on",
            extra={
                "invocation_id": invocation_id,
                "events": len(drafts),
                "error": f"{type(exc).__name__}: {exc}",
            },
        )
        return None
