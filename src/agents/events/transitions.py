"""The events of a lifecycle transition: ``status``, plus ``waiting`` (with the pending
actions) for WAITING and ``completed`` (the final summary) for a terminal status.

``LifecycleTransitions._after_transition`` calls :func:`record_transition` after each
successful conditional write; a transition that adds its own status (WAITING, a hand-off)
needs no more than that call (decision 16.9).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agents.events.drafts import completed_draft, status_draft, waiting_draft
from agents.events.emit import emit
from agents.events.model import EventDraft

if TYPE_CHECKING:
    from agents.records import InvocationRecord

__all__ = ["record_transition", "record_waiting", "transition_drafts"]


def transition_drafts(record: InvocationRecord) -> list[EventDraft]:
    """``status``, then ``waiting`` (WAITING with pending actions) or ``completed`` (terminal)."""
    drafts = [status_draft(record)]
    if record.status.value == "WAITING" and record.pending_actions:
        drafts.append(waiting_draft(record.pending_actions))
    if record.status.terminal:
        drafts.append(completed_draft(record))
    return drafts


def record_transition(record: InvocationRecord, *, created: bool = False) -> int | None:
    """Append the transition's events in one write (never raises; see ``emit``)."""
    return emit(record.id, transition_drafts(record), expires_at=record.expires_at, new_log=created)


def record_waiting(
    invocation_id: str, actions: Iterable[Any], *, expires_at: int | None = None
) -> int | None:
    """Append one ``waiting`` event for ``actions`` (``PendingAction``-like objects)."""
    return emit(invocation_id, [waiting_draft(actions)], expires_at=expires_at)
