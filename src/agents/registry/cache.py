"""The registry's per-container cache: entries of latest reads, per-key locks, counters."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

from agents.definitions import AgentDefinition
from agents.errors import DefinitionError

__all__ = ["KeyLocks", "LatestEntry", "RegistryStats"]


@dataclass
class RegistryStats:
    """Counters of S3 traffic and cache behaviour (tests and benchmarks read them)."""

    cache_hits: int = 0
    s3_gets: int = 0
    not_modified: int = 0
    body_downloads: int = 0
    list_calls: int = 0
    version_list_calls: int = 0
    stale_served: int = 0
    parse_errors: int = 0
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def count(self, **deltas: int) -> None:
        """Add ``deltas`` to the named counters (thread-safe)."""
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}


@dataclass
class LatestEntry:
    """A cached latest read: the definition (or its parse error) and its ETag."""

    etag: str
    checked_at: float
    definition: AgentDefinition | None = None
    error: DefinitionError | None = None

    def result(self) -> AgentDefinition:
        if self.error is not None:
            raise self.error
        assert self.definition is not None
        return self.definition


@dataclass
class KeyLocks:
    """One lock per S3 key, so concurrent misses for the same object make one request."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    per_key: dict[str, threading.Lock] = field(default_factory=dict)

    def for_key(self, key: str) -> threading.Lock:
        with self.lock:
            found = self.per_key.get(key)
            if found is None:
                found = self.per_key[key] = threading.Lock()
            return found
