"""The agent registry: definitions in ``s3://$AGENTS_BUCKET/$AGENTS_PREFIX<name>.md``.

Per container, each definition is cached for ``ttl_seconds``; after that it is
revalidated with a conditional GET (``If-None-Match: <ETag>``), so an unchanged
object costs a 304 and no body. Pinned reads are cached for good: an S3
``VersionId`` names immutable bytes, and a frontmatter ``version`` is mapped to
the object version that carries it (found with ``ListObjectVersions``).

Thread-safe: the worker runs records concurrently. Concurrent misses for the
same agent make a single S3 request (per-key lock). When S3 fails transiently
during a revalidation, the cached copy is served (``stats.stale_served``).
"""

from __future__ import annotations

import builtins
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agents.container import per_container
from agents.definitions import (
    MAX_DEFINITION_BYTES,
    AgentDefinition,
    DefinitionSource,
    parse_definition,
)
from agents.errors import (
    AgentNotFound,
    ConfigurationError,
    DefinitionError,
    GatewayError,
    ServiceUnavailable,
)
from agents.names import is_valid_agent_name, s3_key_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["AgentRegistry", "RegistryStats", "get_registry"]

_VERSION_ID_RE = re.compile(r"[A-Za-z0-9._+=/\-]{1,1024}\Z")
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
_NOT_MODIFIED_CODES = frozenset({"304", "NotModified"})
_MAX_VERSIONS_SCANNED = 1000
_MAX_LISTED = 10_000


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

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Entry:
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
class _Fetched:
    body: bytes | None  # None: 304 Not Modified
    etag: str = ""
    version_id: str | None = None


@dataclass
class _Locks:
    lock: threading.Lock = field(default_factory=threading.Lock)
    per_key: dict[str, threading.Lock] = field(default_factory=dict)

    def for_key(self, key: str) -> threading.Lock:
        with self.lock:
            found = self.per_key.get(key)
            if found is None:
                found = self.per_key[key] = threading.Lock()
            return found


class AgentRegistry:
    """Reads agent definitions from S3 with a per-container cache."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "agents/",
        ttl_seconds: float = 60,
        s3: S3Client | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not bucket:
            raise ConfigurationError("the agents bucket is not configured (AGENTS_BUCKET)")
        self.bucket = bucket
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._s3 = s3
        self._clock = clock
        self._latest: dict[str, _Entry] = {}
        self._by_version_id: dict[tuple[str, str], AgentDefinition] = {}
        self._by_version: dict[tuple[str, str], str] = {}  # (name, version) -> version id
        self._locks = _Locks()
        self._stats_lock = threading.Lock()
        self.stats = RegistryStats()

    # --- public --------------------------------------------------------------

    @property
    def s3(self) -> S3Client:
        if self._s3 is not None:
            return self._s3
        from agents import aws

        return aws.client("s3")

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
            return self._get_version_id(name, key, version_id)
        if version is not None:
            return self._get_frontmatter_version(name, key, version)
        return self._get_latest(name, key)

    def list(self) -> list[AgentDefinition]:
        """Every valid definition under the prefix, sorted by name (invalid ones skipped)."""
        return self.scan()[0]

    def scan(self) -> tuple[builtins.list[AgentDefinition], builtins.list[GatewayError]]:
        """``(valid definitions, errors)`` for every ``<prefix><name>.md`` object."""
        listed = builtins.list(self._list_keys())
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
        return sorted(name for name, _ in self._list_keys())

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached latest reads (one agent or all)."""
        with self._locks.lock:
            if name is None:
                self._latest.clear()
            else:
                self._latest.pop(name, None)

    # --- latest --------------------------------------------------------------

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def _fresh(self, entry: _Entry | None) -> bool:
        return entry is not None and self._clock() - entry.checked_at < self.ttl_seconds

    def _get_latest(self, name: str, key: str) -> AgentDefinition:
        entry = self._latest.get(name)
        if entry is not None and self._fresh(entry):
            self._count(cache_hits=1)
            return entry.result()
        with self._locks.for_key(key):
            entry = self._latest.get(name)  # another thread may have refreshed it
            if entry is not None and self._fresh(entry):
                self._count(cache_hits=1)
                return entry.result()
            try:
                fetched = self._fetch(key, if_none_match=entry.etag if entry else None)
            except AgentNotFound:
                self._latest.pop(name, None)
                raise
            except ServiceUnavailable:
                if entry is None:
                    raise
                self._count(stale_served=1)
                return entry.result()
            now = self._clock()
            if fetched.body is None and entry is not None:
                entry.checked_at = now
                return entry.result()
            new = self._entry(name, key, fetched, now)
            self._latest[name] = new
            self._remember_version(name, new.definition)
            return new.result()

    def _remember_version(self, name: str, definition: AgentDefinition | None) -> None:
        """A latest read is also that object version's read: a run pinned to the version the
        request was checked against (the API pins every run) then costs no second download."""
        source = definition.source if definition is not None else None
        if source is not None and source.version_id and source.version_id != "null":
            self._by_version_id.setdefault((name, source.version_id), definition)  # type: ignore[arg-type]

    def _refresh_if_same(self, name: str, etag: str) -> None:
        """A listing that shows the cached ETag counts as a revalidation."""
        entry = self._latest.get(name)
        if entry is not None and etag and entry.etag == etag:
            entry.checked_at = self._clock()

    def _entry(self, name: str, key: str, fetched: _Fetched, now: float) -> _Entry:
        try:
            definition = self._parse(name, key, fetched)
        except DefinitionError as exc:
            return _Entry(etag=fetched.etag, checked_at=now, error=exc)
        return _Entry(etag=fetched.etag, checked_at=now, definition=definition)

    def _parse(self, name: str, key: str, fetched: _Fetched) -> AgentDefinition:
        assert fetched.body is not None
        shown = f"s3://{self.bucket}/{key}"
        source = DefinitionSource(
            bucket=self.bucket,
            key=key,
            etag=fetched.etag.strip('"') or None,
            version_id=fetched.version_id,
        )
        try:
            definition = parse_definition(fetched.body, path=shown, source=source)
        except DefinitionError:
            self._count(parse_errors=1)
            raise
        if definition.name != name:
            self._count(parse_errors=1)
            raise DefinitionError(
                f"the frontmatter name {definition.name!r} does not match the key's name {name!r}",
                path=shown,
                line=definition.line_of("name"),
                hint="push with `agw agents push`, which stores each file as <name>.md",
            )
        return definition

    # --- pinned ----------------------------------------------------------------

    def _get_version_id(self, name: str, key: str, version_id: str) -> AgentDefinition:
        if not isinstance(version_id, str) or not _VERSION_ID_RE.match(version_id):
            raise AgentNotFound(
                f"agent {name!r} has no version id {str(version_id)[:80]!r}", agent=name
            )
        cached = self._by_version_id.get((name, version_id))
        if cached is not None:
            self._count(cache_hits=1)
            return cached
        with self._locks.for_key(f"{key}?versionId={version_id}"):
            cached = self._by_version_id.get((name, version_id))
            if cached is not None:
                self._count(cache_hits=1)
                return cached
            try:
                fetched = self._fetch(key, version_id=version_id)
            except AgentNotFound:
                raise AgentNotFound(
                    f"agent {name!r} has no version id {version_id!r}",
                    agent=name,
                    version_id=version_id,
                ) from None
            definition = self._parse(name, key, fetched)
            self._by_version_id[(name, version_id)] = definition
            return definition

    def _get_frontmatter_version(self, name: str, key: str, version: str) -> AgentDefinition:
        known = self._by_version.get((name, version))
        if known is not None:
            return self._get_version_id(name, key, known)
        try:
            latest = self._get_latest(name, key)
        except (DefinitionError, AgentNotFound):
            latest = None  # broken or deleted now: older versions may still match
        if latest is not None and latest.version == version:
            return latest
        for version_id in self._version_ids(key):
            try:
                candidate = self._get_version_id(name, key, version_id)
            except (DefinitionError, AgentNotFound):
                continue  # a broken or deleted old version never blocks the search
            if candidate.version is not None:
                self._by_version.setdefault((name, candidate.version), version_id)
            if candidate.version == version:
                return candidate
        raise AgentNotFound(
            f"agent {name!r} has no version {version[:80]!r}", agent=name, version=version[:80]
        )

    def _version_ids(self, key: str) -> Iterator[str]:
        """Object version ids of ``key``, newest first (bounded)."""
        seen = 0
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": key}
        while seen < _MAX_VERSIONS_SCANNED:
            self._count(version_list_calls=1)
            page = self._call(self.s3.list_object_versions, **kwargs)
            for item in page.get("Versions", []):
                if item.get("Key") == key and "VersionId" in item:
                    seen += 1
                    yield item["VersionId"]
            if not page.get("IsTruncated"):
                return
            kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
            kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker", "")

    # --- S3 ------------------------------------------------------------------

    def _list_keys(self) -> Iterator[tuple[str, str]]:
        """``(name, etag)`` of each ``<prefix><name>.md`` directly under the prefix."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix}
        listed = 0
        while listed < _MAX_LISTED:
            self._count(list_calls=1)
            page = self._call(self.s3.list_objects_v2, **kwargs)
            for item in page.get("Contents", []):
                key = item.get("Key", "")
                rest = key[len(self.prefix) :]
                if not rest.endswith(".md"):
                    continue
                name = rest[:-3]
                if is_valid_agent_name(name):
                    listed += 1
                    yield name, item.get("ETag", "")
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    def _fetch(
        self, key: str, *, if_none_match: str | None = None, version_id: str | None = None
    ) -> _Fetched:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if if_none_match:
            kwargs["IfNoneMatch"] = if_none_match
        if version_id:
            kwargs["VersionId"] = version_id
        self._count(s3_gets=1)
        try:
            response = self._call(self.s3.get_object, **kwargs)
        except _NotModified:
            self._count(not_modified=1)
            return _Fetched(body=None, etag=if_none_match or "")
        length = int(response.get("ContentLength", 0) or 0)
        stream = response["Body"]
        try:
            if length > MAX_DEFINITION_BYTES:
                raise DefinitionError(
                    f"the definition is {length} bytes; the limit is {MAX_DEFINITION_BYTES}",
                    path=f"s3://{self.bucket}/{key}",
                    hint="move reference material out of the system prompt",
                )
            body = stream.read(MAX_DEFINITION_BYTES + 1)
        finally:
            stream.close()
        self._count(body_downloads=1)
        return _Fetched(
            body=body, etag=response.get("ETag", ""), version_id=response.get("VersionId")
        )

    def _call(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        from agents.awserrors import is_transient

        try:
            return operation(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            key = kwargs.get("Key", kwargs.get("Prefix", ""))
            if code in _NOT_MODIFIED_CODES or status == 304:
                raise _NotModified from None
            if code in _NOT_FOUND_CODES:
                name = key[len(self.prefix) : -3] if key.endswith(".md") else key
                raise AgentNotFound(f"no agent named {name!r}", agent=name) from None
            if code == "NoSuchBucket":
                raise ConfigurationError(
                    f"the agents bucket {self.bucket!r} does not exist (AGENTS_BUCKET)"
                ) from None
            if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
                raise ConfigurationError(
                    f"S3 denied access to the agents bucket {self.bucket!r} ({code or status})"
                ) from None
            if is_transient(exc):
                raise ServiceUnavailable(f"S3 is unavailable ({code or status})") from exc
            raise GatewayError(f"S3 refused the request ({code or status})") from exc
        except BotoCoreError as exc:
            if is_transient(exc):
                raise ServiceUnavailable(f"S3 is unreachable ({type(exc).__name__})") from exc
            raise GatewayError(f"S3 client failure ({type(exc).__name__})") from exc


class _NotModified(Exception):
    """Internal: a conditional GET answered 304."""


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
