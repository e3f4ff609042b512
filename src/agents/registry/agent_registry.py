"""``AgentRegistry``: latest reads cached per container and revalidated by ETag, listing."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from agents.container import per_container
from agents.definitions import AgentDefinition
from agents.errors import AgentNotFound, DefinitionError, GatewayError, ServiceUnavailable
from agents.names import s3_key_for
from agents.registry.cache import KeyLocks, LatestEntry, RegistryStats
from agents.registry.pinning import PinnedVersions
from agents.registry.s3_objects import DefinitionObjects, FetchedObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["AgentRegistry", "get_registry"]


class AgentRegistry:
    """Reads agent definitions from S3 with a per-container cache (thread-safe)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "agents/",
        ttl_seconds: float = 60,
        s3: S3Client | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.stats = RegistryStats()
        self._clock = clock
        self._objects = DefinitionObjects(bucket, prefix, self.stats, s3)
        self._locks = KeyLocks()
        self._pinned = PinnedVersions(self._objects, self._locks)
        self._latest: dict[str, LatestEntry] = {}

    # --- public --------------------------------------------------------------

    @property
    def bucket(self) -> str:
        return self._objects.bucket

    @property
    def prefix(self) -> str:
        return self._objects.prefix

    @property
    def s3(self) -> S3Client:
        """The client given, else the container's (``agents.aws``)."""
        return self._objects.s3

    @s3.setter
    def s3(self, client: S3Client) -> None:
        self._objects.s3 = client

    def key_for(self, name: str) -> str:
        return s3_key_for(self.prefix, name)

    def get(
        self, name: str, *, version: str | None = None, version_id: str | None = None
    ) -> AgentDefinition:
        """The definition of ``name``: latest, or pinned by S3 ``version_id``
        or by frontmatter ``version``.

        Raises :class:`InvalidAgentName`, :class:`AgentNotFound`,
        :class:`DefinitionError` or :class:`ServiceUnavailable`.
        """
        key = self.key_for(name)
        if version_id is not None:
            return self._pinned.by_version_id(name, key, version_id)
        if version is not None:
            return self._pinned.by_version(name, key, version, self._get_latest)
        return self._get_latest(name, key)

    def list(self) -> list[AgentDefinition]:
        """Every valid definition under the prefix, sorted by name (invalid ones skipped)."""
        return self.scan()[0]

    def scan(self) -> tuple[builtins.list[AgentDefinition], builtins.list[GatewayError]]:
        """``(valid definitions, errors)`` for every ``<prefix><name>.md`` object."""
        listed = builtins.list(self._objects.list_names())
        definitions: builtins.list[AgentDefinition] = []
        errors: builtins.list[GatewayError] = []

        def load(item: tuple[str, str]) -> AgentDefinition | GatewayError:
            name, etag = item
            self._refresh_if_same(name, etag)
            try:
                return self.get(name)
            except (DefinitionError, AgentNotFound) as exc:
                return exc

        if listed:
            with ThreadPoolExecutor(max_workers=min(8, len(listed))) as pool:
                results = builtins.list(pool.map(load, listed))
            for result in results:
                if isinstance(result, AgentDefinition):
                    definitions.append(result)
                elif not isinstance(result, AgentNotFound):  # deleted since the listing
                    errors.append(result)
        return sorted(definitions, key=lambda d: d.name), errors

    def names(self) -> builtins.list[str]:
        """Agent names under the prefix (from a listing; nothing is downloaded)."""
        return sorted(name for name, _ in self._objects.list_names())

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached latest reads (one agent or all)."""
        with self._locks.lock:
            if name is None:
                self._latest.clear()
            else:
                self._latest.pop(name, None)

    # --- latest --------------------------------------------------------------

    def _fresh(self, entry: LatestEntry | None) -> bool:
        return entry is not None and self._clock() - entry.checked_at < self.ttl_seconds

    def _get_latest(self, name: str, key: str) -> AgentDefinition:
        entry = self._latest.get(name)
        if entry is not None and self._fresh(entry):
            self.stats.count(cache_hits=1)
            return entry.result()
        with self._locks.for_key(key):
            entry = self._latest.get(name)  # another thread may have refreshed it
            if entry is not None and self._fresh(entry):
                self.stats.count(cache_hits=1)
                return entry.result()
            try:
                fetched = self._objects.fetch(key, if_none_match=entry.etag if entry else None)
            except AgentNotFound:
                self._latest.pop(name, None)
                raise
            except ServiceUnavailable:
                if entry is None:
                    raise
                self.stats.count(stale_served=1)
                return entry.result()
            now = self._clock()
            if fetched.body is None and entry is not None:
                entry.checked_at = now
                return entry.result()
            new = self._entry(name, key, fetched, now)
            self._latest[name] = new
            self._pinned.remember(name, new.definition)
            return new.result()

    def _refresh_if_same(self, name: str, etag: str) -> None:
        """A listing that shows the cached ETag counts as a revalidation."""
        entry = self._latest.get(name)
        if entry is not None and etag and entry.etag == etag:
            entry.checked_at = self._clock()

    def _entry(self, name: str, key: str, fetched: FetchedObject, now: float) -> LatestEntry:
        try:
            definition = self._objects.parse(name, key, fetched)
        except DefinitionError as exc:
            return LatestEntry(etag=fetched.etag, checked_at=now, error=exc)
        return LatestEntry(etag=fetched.etag, checked_at=now, definition=definition)


@per_container
def get_registry() -> AgentRegistry:
    """The container's registry, built once from :func:`agents.config.get_settings`."""
    from agents.config import get_settings

    settings = get_settings()
    return AgentRegistry(
        bucket=settings.agents_bucket,
        prefix=settings.agents_prefix,
        ttl_seconds=settings.definition_cache_ttl_seconds,
    )
