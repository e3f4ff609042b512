"""Fault injection: the ``POST /_fake/faults`` specs and what they decide for a call."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_CUT_AFTER_DELTAS",
    "DEFAULT_RANDOM_LATENCY_S",
    "CallPlan",
    "FaultBook",
    "FaultEffect",
    "FaultKind",
    "FaultSpec",
]

#: Text deltas emitted before a ``cut_stream`` fault closes the connection.
DEFAULT_CUT_AFTER_DELTAS = 3
#: Latency used by a random ``latency`` fault when the spec gives no ``latency_s``.
DEFAULT_RANDOM_LATENCY_S = 1.0

#: What a random (``rate``) spec may inject.
FaultKind = Literal["status", "latency", "cut_stream"]


class FaultSpec(BaseModel):
    """One ``POST /_fake/faults`` body (see ``docs/runner.md`` for the semantics)."""

    model_config = ConfigDict(extra="forbid")

    reset: bool = False
    status: int | None = Field(default=None, ge=400, le=599)
    count: int | None = Field(default=None, ge=1)
    #: Let this many calls pass untouched before the spec starts to apply.
    skip: int = Field(default=0, ge=0)
    retry_after: float | None = Field(default=None, ge=0)
    message: str | None = None
    latency_s: float | None = Field(default=None, ge=0, le=600)
    cut_stream: bool = False
    cut_after_deltas: int = Field(default=DEFAULT_CUT_AFTER_DELTAS, ge=0)
    omit_sections: list[str] | None = None
    refusal: bool = False
    refusal_reason: str | None = None
    rate: float | None = Field(default=None, ge=0, le=1)
    #: Answer with exactly this many characters (the offline answer, then filler lines),
    #: whatever ``max_tokens`` says: a stand-in for a very long answer.
    output_chars: int | None = Field(default=None, ge=1, le=8_000_000)
    #: Wait this long before each streamed text delta (a slow, trickling stream).
    delta_delay_s: float | None = Field(default=None, ge=0, le=5)
    statuses: list[int] | None = None
    kinds: list[FaultKind] | None = None
    seed: int | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FaultSpec:
        if self.reset:
            return self
        kinds = [
            self.status is not None,
            self.cut_stream,
            self.omit_sections is not None,
            self.refusal,
            self.rate is not None,
            self.output_chars is not None or self.delta_delay_s is not None,
        ]
        if sum(kinds) > 1:
            raise ValueError(
                "one fault per request: status, cut_stream, omit_sections, refusal, rate or "
                "output_chars/delta_delay_s"
            )
        if sum(kinds) == 0 and self.latency_s is None:
            raise ValueError(
                "nothing to inject: give status, latency_s, cut_stream, omit_sections, "
                "refusal, rate, output_chars, delta_delay_s or reset"
            )
        if self.rate is not None:
            kinds_wanted = self.kinds or ["status"]
            if "status" in kinds_wanted and not self.statuses:
                object.__setattr__(self, "statuses", [429, 529, 500])
            for status in self.statuses or []:
                if not 400 <= status <= 599:
                    raise ValueError(f"statuses must be 4xx/5xx, got {status}")
        return self


class FaultEffect(StrEnum):
    """What an active spec does (its ``kind`` in ``GET /_fake/faults``)."""

    RANDOM = "random"
    STATUS = "status"
    CUT_STREAM = "cut_stream"
    OMIT_SECTIONS = "omit_sections"
    REFUSAL = "refusal"
    SHAPE = "shape"
    LATENCY = "latency"


@dataclass
class ActiveFault:
    """A registered spec with its remaining count and skip, and its random generator."""

    spec: FaultSpec
    remaining: int | None  # None: until reset
    rng: random.Random | None = None
    injected: int = 0
    skip_left: int = 0

    @property
    def kind(self) -> FaultEffect:
        spec = self.spec
        if spec.rate is not None:
            return FaultEffect.RANDOM
        if spec.status is not None:
            return FaultEffect.STATUS
        if spec.cut_stream:
            return FaultEffect.CUT_STREAM
        if spec.omit_sections is not None:
            return FaultEffect.OMIT_SECTIONS
        if spec.refusal:
            return FaultEffect.REFUSAL
        if spec.output_chars is not None or spec.delta_delay_s is not None:
            return FaultEffect.SHAPE
        return FaultEffect.LATENCY

    def live(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def consume(self) -> None:
        self.injected += 1
        if self.remaining is not None:
            self.remaining -= 1

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "remaining": self.remaining,
            "injected": self.injected,
            "skip_left": self.skip_left,
            **self.spec.model_dump(exclude_defaults=True),
        }


@dataclass
class CallPlan:
    """What the faults decided for one ``/v1/messages`` call."""

    latency_s: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    cut_after_deltas: int | None = None
    omit_sections: list[str] = field(default_factory=list)
    refusal: str | None = None
    output_chars: int | None = None
    delta_delay_s: float = 0.0
    injected: list[str] = field(default_factory=list)


class FaultBook:
    """The active fault specs. Thread-safe; one per server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[ActiveFault] = []

    def add(self, spec: FaultSpec) -> None:
        with self._lock:
            if spec.reset:
                self._faults.clear()
                return
            if spec.rate is not None:
                remaining = spec.count
                rng: random.Random | None = random.Random(spec.seed)  # noqa: S311 (not crypto)
            else:
                remaining = spec.count if spec.count is not None else None
                if remaining is None and spec.latency_s is None:
                    remaining = 1
                rng = None
            self._faults.append(
                ActiveFault(spec=spec, remaining=remaining, rng=rng, skip_left=spec.skip)
            )

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults if fault.live()]

    def plan(self, *, streaming: bool) -> CallPlan:
        """Decide the faults for one call, consuming counts (see precedence in the docs)."""
        plan = CallPlan()
        with self._lock:
            live: list[ActiveFault] = []
            for fault in self._faults:
                if not fault.live():
                    continue
                if fault.skip_left > 0:
                    fault.skip_left -= 1
                    continue
                live.append(fault)
            # 1. latency specs: all of them add up, on every call.
            for fault in live:
                if fault.kind is FaultEffect.LATENCY and fault.spec.latency_s:
                    plan.latency_s += fault.spec.latency_s
                    fault.consume()
                    plan.injected.append("latency")
            # 2. status specs, first registered first.
            for fault in live:
                if fault.kind is FaultEffect.STATUS and plan.status is None:
                    assert fault.spec.status is not None
                    plan.status = fault.spec.status
                    plan.retry_after = fault.spec.retry_after
                    plan.message = fault.spec.message
                    fault.consume()
                    plan.injected.append(f"status:{plan.status}")
            # 3. random specs roll once per call each.
            for fault in live:
                if fault.kind is FaultEffect.RANDOM:
                    self._roll(fault, plan, streaming=streaming)
            if plan.status is None:
                # 4.-6. answer-shaping faults only apply to calls that get an answer.
                for fault in live:
                    if fault.kind is FaultEffect.REFUSAL and plan.refusal is None:
                        plan.refusal = fault.spec.refusal_reason or (
                            "The offline model was told to refuse this request (fault injection)."
                        )
                        fault.consume()
                        plan.injected.append("refusal")
                    elif (
                        fault.kind is FaultEffect.CUT_STREAM
                        and streaming
                        and plan.cut_after_deltas is None
                    ):
                        plan.cut_after_deltas = fault.spec.cut_after_deltas
                        fault.consume()
                        plan.injected.append("cut_stream")
                    elif fault.kind is FaultEffect.OMIT_SECTIONS and not plan.omit_sections:
                        plan.omit_sections = list(fault.spec.omit_sections or [])
                        fault.consume()
                        plan.injected.append("omit_sections")
                    elif fault.kind is FaultEffect.SHAPE and "shape" not in plan.injected:
                        plan.output_chars = fault.spec.output_chars
                        plan.delta_delay_s = fault.spec.delta_delay_s or 0.0
                        fault.consume()
                        plan.injected.append("shape")
            self._faults = [fault for fault in self._faults if fault.live()]
        return plan

    @staticmethod
    def _roll(fault: ActiveFault, plan: CallPlan, *, streaming: bool) -> None:
        spec = fault.spec
        assert fault.rng is not None
        assert spec.rate is not None
        if fault.rng.random() >= spec.rate:
            return
        kind = fault.rng.choice(spec.kinds or ["status"])
        if kind == "status":
            if plan.status is not None:
                return
            plan.status = fault.rng.choice(spec.statuses or [529])
            plan.retry_after = spec.retry_after
            plan.injected.append(f"random:status:{plan.status}")
        elif kind == "latency":
            plan.latency_s += (
                spec.latency_s if spec.latency_s is not None else DEFAULT_RANDOM_LATENCY_S
            )
            plan.injected.append("random:latency")
        else:
            if not streaming or plan.cut_after_deltas is not None:
                return
            plan.cut_after_deltas = spec.cut_after_deltas
            plan.injected.append("random:cut_stream")
        fault.consume()
