"""``Deadline``: the point in time a run must finish by (a monotonic clock underneath)."""

from __future__ import annotations

import math
import time
from typing import Protocol

__all__ = ["Deadline", "LambdaContextLike"]


class LambdaContextLike(Protocol):
    """The one method of a Lambda context a deadline needs."""

    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """A point in time the run must finish by (a monotonic clock underneath).

    Build it from an epoch in milliseconds (:meth:`at_epoch_ms`), a remaining
    time (:meth:`after_ms`) or a Lambda context (:meth:`from_lambda_context`).
    """

    __slots__ = ("_end",)

    def __init__(self, end_monotonic: float) -> None:
        self._end = end_monotonic

    @classmethod
    def after_ms(cls, remaining_ms: float) -> Deadline:
        return cls(time.monotonic() + remaining_ms / 1000)

    @classmethod
    def at_epoch_ms(cls, epoch_ms: float) -> Deadline:
        return cls.after_ms(epoch_ms - time.time() * 1000)

    @classmethod
    def from_lambda_context(cls, context: LambdaContextLike) -> Deadline:
        return cls.after_ms(context.get_remaining_time_in_millis())

    @property
    def monotonic(self) -> float:
        return self._end

    @property
    def epoch_ms(self) -> int:
        return int((time.time() + self._end - time.monotonic()) * 1000)

    def remaining_s(self) -> float:
        """Seconds left (negative once past)."""
        return self._end - time.monotonic()

    def remaining_ms(self) -> int:
        return math.floor(self.remaining_s() * 1000)

    def expired(self) -> bool:
        return self.remaining_s() <= 0

    def minus_ms(self, margin_ms: float) -> Deadline:
        """The same deadline, ``margin_ms`` earlier."""
        return Deadline(self._end - margin_ms / 1000)

    def __repr__(self) -> str:
        return f"Deadline(remaining_ms={self.remaining_ms()})"
