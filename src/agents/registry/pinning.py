"""Version pinning: reads by S3 ``VersionId`` (immutable, cached for good) and by
frontmatter ``version`` (mapped to the object version that carries it)."""

from __future__ import annotations

import re
from collections.abc import Callable

from agents.definitions import AgentDefinition
from agents.errors import AgentNotFound, DefinitionError
from agents.registry.cache import KeyLocks
from agents.registry.s3_objects import DefinitionObjects

__all__ = ["PinnedVersions"]

_VERSION_ID_RE = re.compile(r"[A-Za-z0-9._+=/\-]{1,1024}\Z")

#: ``latest(name, key)``: the registry's (cached) latest read.
LatestRead = Callable[[str, str], AgentDefinition]


class PinnedVersions:
    """Definitions by object version id, and frontmatter versions -> version ids."""

    def __init__(self, objects: DefinitionObjects, locks: KeyLocks) -> None:
        self._objects = objects
        self._locks = locks
        self._by_version_id: dict[tuple[str, str], AgentDefinition] = {}
        self._by_version: dict[tuple[str, str], str] = {}  # (name, version) -> version id

    def remember(self, name: str, definition: AgentDefinition | None) -> None:
        """A latest read is also that object version's read: a run pinned to the version the
        request was checked against (the API pins every run) then costs no second download."""
        source = definition.source if definition is not None else None
        if source is not None and source.version_id and source.version_id != "null":
            self._by_version_id.setdefault((name, source.version_id), definition)  # type: ignore[arg-type]

    def by_version_id(self, name: str, key: str, version_id: str) -> AgentDefinition:
        """The definition in object version ``version_id`` of ``key``."""
        if not isinstance(version_id, str) or not _VERSION_ID_RE.match(version_id):
            raise AgentNotFound(
                f"agent {name!r} has no version id {str(version_id)[:80]!r}", agent=name
            )
        cached = self._by_version_id.get((name, version_id))
        if cached is not None:
            self._objects.stats.count(cache_hits=1)
            return cached
        with self._locks.for_key(f"{key}?versionId={version_id}"):
            cached = self._by_version_id.get((name, version_id))
            if cached is not None:
                self._objects.stats.count(cache_hits=1)
                return cached
            try:
                fetched = self._objects.fetch(key, version_id=version_id)
            except AgentNotFound:
                raise AgentNotFound(
                    f"agent {name!r} has no version id {version_id!r}",
                    agent=name,
                    version_id=version_id,
                ) from None
            definition = self._objects.parse(name, key, fetched)
            self._by_version_id[(name, version_id)] = definition
            return definition

    def by_version(self, name: str, key: str, version: str, latest: LatestRead) -> AgentDefinition:
        """The newest object version of ``key`` whose frontmatter ``version`` is ``version``."""
        known = self._by_version.get((name, version))
        if known is not None:
            return self.by_version_id(name, key, known)
        try:
            current = latest(name, key)
        except (DefinitionError, AgentNotFound):
            current = None  # broken or deleted now: older versions may still match
        if current is not None and current.version == version:
            return current
        for version_id in self._objects.version_ids(key):
            try:
                candidate = self.by_version_id(name, key, version_id)
            except (DefinitionError, AgentNotFound):
                continue  # a broken or deleted old version never blocks the search
            if candidate.version is not None:
                self._by_version.setdefault((name, candidate.version), version_id)
            if candidate.version == version:
                return candidate
        raise AgentNotFound(
            f"agent {name!r} has no version {version[:80]!r}", agent=name, version=version[:80]
        )
