"""What a scenario returns: its figures (counts) and the checks it made on them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome"]


@dataclass
class Outcome:
    """One scenario's result: ``figures`` are counts; ``checks`` name each expectation."""

    scenario: str
    title: str
    figures: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: When the scenario began (``time.monotonic()``; :meth:`done` measures from it).
    started: float = field(default_factory=time.monotonic, repr=False)

    def done(self) -> Outcome:
        """The outcome, its ``seconds`` measured since it was created (a scenario's end)."""
        self.seconds = time.monotonic() - self.started
        return self

    def check(self, name: str, ok: bool) -> bool:
        self.checks[name] = bool(ok)
        return bool(ok)

    def check_refused_cleanly(self, cases: int, unwritten: Sequence[str]) -> None:
        """The hostile-input checks: all ``cases`` a clear 4xx (figure ``clear_4xx``), no
        ``5xx``, and each figure named in ``unwritten`` zero."""
        self.check("every case a clear 4xx", self["clear_4xx"] == cases)
        self.check("no 5xx", self["5xx"] == 0)
        self.check("nothing written", all(self[name] == 0 for name in unwritten))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    def __getitem__(self, name: str) -> Any:
        return self.figures[name]

    def summary(self) -> str:
        return ", ".join(f"{key} {value}" for key, value in self.figures.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "figures": self.figures,
            "checks": self.checks,
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "notes": self.notes,
        }
