"""What every economy stage works with: the store, the registry, the model client, the
settings and the economy queue (the container's singletons by default)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents.economy.queue import EconomyQueue

if TYPE_CHECKING:
    import anthropic

    from agents.config import Settings
    from agents.registry import AgentRegistry
    from agents.store import InvocationStore

__all__ = ["EconomyDeps"]


@dataclass(frozen=True)
class EconomyDeps:
    store: InvocationStore
    registry: AgentRegistry
    client: Callable[[], anthropic.Anthropic]
    settings: Settings
    queue: EconomyQueue

    @classmethod
    def from_container(cls) -> EconomyDeps:
        """The container's store, registry, runner's model client and settings."""
        from agents.config import get_settings
        from agents.registry import get_registry
        from agents.runner import get_runner
        from agents.store import get_store

        settings = get_settings()
        return cls(
            store=get_store(),
            registry=get_registry(),
            client=get_runner().client,
            settings=settings,
            queue=EconomyQueue(settings),
        )
