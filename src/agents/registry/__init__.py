"""The agent registry: definitions in ``s3://$AGENTS_BUCKET/$AGENTS_PREFIX<name>.md``.

Per-container cache with ETag revalidation and immutable pinned reads; see
docs/definitions.md ("The registry") for the caching rules.
"""

from __future__ import annotations

from agents.registry.agent_registry import AgentRegistry, get_registry
from agents.registry.cache import RegistryStats

__all__ = ["AgentRegistry", "RegistryStats", "get_registry"]
