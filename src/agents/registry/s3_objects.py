"""The registry's S3 side: list, conditional GET, version listing, parsing, error mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
from agents.names import is_valid_agent_name
from agents.registry.cache import RegistryStats

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["DefinitionObjects", "FetchedObject"]

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
_NOT_MODIFIED_CODES = frozenset({"304", "NotModified"})
_MAX_VERSIONS_SCANNED = 1000
_MAX_LISTED = 10_000


@dataclass
class FetchedObject:
    """One GET's answer: the body (``None``: 304 Not Modified), ETag and version id."""

    body: bytes | None
    etag: str = ""
    version_id: str | None = None


class _NotModified(Exception):
    """A conditional GET answered 304."""


class DefinitionObjects:
    """The ``<prefix><name>.md`` objects of one bucket, read through one S3 client."""

    def __init__(
        self, bucket: str, prefix: str, stats: RegistryStats, s3: S3Client | None = None
    ) -> None:
        if not bucket:
            raise ConfigurationError("the agents bucket is not configured (AGENTS_BUCKET)")
        self.bucket = bucket
        self.prefix = prefix
        self.stats = stats
        self._s3 = s3

    @property
    def s3(self) -> S3Client:
        """The client given, else the container's (``agents.aws``)."""
        from agents import aws

        return aws.s3_client(self._s3)

    @s3.setter
    def s3(self, client: S3Client) -> None:
        self._s3 = client

    def list_names(self) -> Iterator[tuple[str, str]]:
        """``(name, etag)`` of each ``<prefix><name>.md`` directly under the prefix."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix}
        listed = 0
        while listed < _MAX_LISTED:
            self.stats.count(list_calls=1)
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

    def version_ids(self, key: str) -> Iterator[str]:
        """Object version ids of ``key``, newest first (bounded)."""
        seen = 0
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": key}
        while seen < _MAX_VERSIONS_SCANNED:
            self.stats.count(version_list_calls=1)
            page = self._call(self.s3.list_object_versions, **kwargs)
            for item in page.get("Versions", []):
                if item.get("Key") == key and "VersionId" in item:
                    seen += 1
                    yield item["VersionId"]
            if not page.get("IsTruncated"):
                return
            kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
            kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker", "")

    def fetch(
        self, key: str, *, if_none_match: str | None = None, version_id: str | None = None
    ) -> FetchedObject:
        """GET ``key`` (conditional on ``if_none_match``, or pinned to ``version_id``)."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if if_none_match:
            kwargs["IfNoneMatch"] = if_none_match
        if version_id:
            kwargs["VersionId"] = version_id
        self.stats.count(s3_gets=1)
        try:
            response = self._call(self.s3.get_object, **kwargs)
        except _NotModified:
            self.stats.count(not_modified=1)
            return FetchedObject(body=None, etag=if_none_match or "")
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
        self.stats.count(body_downloads=1)
        return FetchedObject(
            body=body, etag=response.get("ETag", ""), version_id=response.get("VersionId")
        )

    def parse(self, name: str, key: str, fetched: FetchedObject) -> AgentDefinition:
        """The definition of ``name`` in a downloaded object (:class:`DefinitionError` if not)."""
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
            self.stats.count(parse_errors=1)
            raise
        if definition.name != name:
            self.stats.count(parse_errors=1)
            raise DefinitionError(
                f"the frontmatter name {definition.name!r} does not match the key's name {name!r}",
                path=shown,
                line=definition.line_of("name"),
                hint="push with `agw agents push`, which stores each file as <name>.md",
            )
        return definition

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
