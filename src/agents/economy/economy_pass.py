"""One scheduled pass of the economy pipeline: collect, then submit, with the container's
store, registry and model client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents.economy.collector import Collector, CollectReport
from agents.economy.deps import EconomyDeps
from agents.economy.submitter import SubmitReport, Submitter

__all__ = ["PassReport", "economy_pass"]


@dataclass(frozen=True)
class PassReport:
    collect: CollectReport
    submit: SubmitReport


def economy_pass(*, after_create: Callable[[str], None] | None = None) -> PassReport:
    """Collect the ended batches (freeing items to resubmit), then submit what waits."""
    deps = EconomyDeps.from_container()
    collected = Collector(deps).run_once()
    submitted = Submitter(deps, after_create=after_create).run_once()
    return PassReport(collected, submitted)
