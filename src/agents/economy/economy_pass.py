"""One scheduled pass of the economy pipeline: collect, then submit, with the container's
store, registry and model client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents.economy.collector import Collector, CollectReport
from agents.economy.queue import EconomyQueue
from agents.economy.submitter import SubmitReport, Submitter

__all__ = ["PassReport", "economy_pass"]


@dataclass(frozen=True)
class PassReport:
    collect: CollectReport
    submit: SubmitReport


def economy_pass(*, after_create: Callable[[str], None] | None = None) -> PassReport:
    """Collect the ended batches (freeing items to resubmit), then submit what waits."""
    from agents.config import get_settings
    from agents.registry import get_registry
    from agents.runner import get_runner
    from agents.store import get_store

    settings = get_settings()
    store = get_store()
    registry = get_registry()
    client = get_runner().client
    queue = EconomyQueue(settings)
    collected = Collector(
        store=store, registry=registry, client=client, settings=settings, queue=queue
    ).run_once()
    submitted = Submitter(
        store=store,
        registry=registry,
        client=client,
        settings=settings,
        queue=queue,
        after_create=after_create,
    ).run_once()
    return PassReport(collected, submitted)
