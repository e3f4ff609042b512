"""The events of a run's turns, driven by the tool loop's ``before_turn`` / ``after_turn``
hooks: at most one event-log write per turn (decision 16.10).

``after_turn`` builds the finished turn's events (text, tool calls and results,
``turn.finished`` with the usage and cost so far) and holds them; the next ``before_turn``
writes them together with that turn's ``turn.started``, and :meth:`RunEventRecorder.flush`
(the executor calls it when the loop returns) writes what is left. The loop raises only
from a model call or a hook, i.e. after ``before_turn`` wrote what was held. The loop calls
``before_turn`` right after ``after_turn``, so holding the events delays them by no more than
the budget checks between the two. The first turn's ``turn.started`` is a write of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agents.events.drafts import turn_drafts, turn_started_draft
from agents.events.emit import emit
from agents.events.model import EventDraft
from agents.types import Usage

if TYPE_CHECKING:
    from agents.runner import TurnRecord

__all__ = ["AfterTurn", "BeforeTurn", "RunEventRecorder"]

BeforeTurn = Callable[[int], None]
AfterTurn = Callable[["TurnRecord", float], None]


class RunEventRecorder:
    """One run's turn events (one recorder per run; the loop calls it from one thread)."""

    def __init__(
        self,
        invocation_id: str,
        *,
        expires_at: int | None = None,
        usage: Usage | None = None,
        cost_usd: float = 0.0,
        counted_turn: int | None = None,
    ) -> None:
        """``usage`` / ``cost_usd``: what earlier segments of the run already used (a
        continuation passes the checkpoint's), so ``turn.finished`` shows the run's totals.
        ``counted_turn``: a turn those totals already include (the open turn an approval
        paused: its model call was counted before the pause, it closes in this segment)."""
        self.invocation_id = invocation_id
        self.expires_at = expires_at
        self.usage = usage or Usage()
        self.cost_usd = cost_usd
        self.counted_turn = counted_turn
        self._held: list[EventDraft] = []

    def before_turn(self, turn: int) -> None:
        """Write the held events of the last turn and ``turn.started`` of this one."""
        self._write([*self._held, turn_started_draft(turn)])

    def after_turn(self, record: TurnRecord, cost_usd: float) -> None:
        """Hold the finished turn's events until the next write."""
        if record.turn != self.counted_turn:
            self.usage = self.usage + record.usage
            self.cost_usd += cost_usd
        self._held += turn_drafts(
            record, cost_usd=cost_usd, usage_total=self.usage, cost_total=self.cost_usd
        )

    def flush(self) -> None:
        """Write what is held (the run ended, or is about to hand off)."""
        if self._held:
            self._write(list(self._held))

    def compose(
        self, before: BeforeTurn | None, after: AfterTurn | None
    ) -> tuple[BeforeTurn, AfterTurn]:
        """Hooks that run ``before``/``after`` (the tenant's) first, then this recorder's.

        A ``before`` that raises (the tenant's cap) stops the turn before its event."""

        def before_turn(turn: int) -> None:
            if before is not None:
                before(turn)
            self.before_turn(turn)

        def after_turn(record: TurnRecord, cost_usd: float) -> None:
            if after is not None:
                after(record, cost_usd)
            self.after_turn(record, cost_usd)

        return before_turn, after_turn

    def _write(self, drafts: list[EventDraft]) -> None:
        self._held = []
        emit(self.invocation_id, drafts, expires_at=self.expires_at)
