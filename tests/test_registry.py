"""AgentRegistry against moto in server mode (real HTTP), S3 calls counted by botocore hooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents import aws, container
from agents.definitions import MAX_DEFINITION_BYTES
from agents.errors import AgentNotFound, DefinitionError, InvalidAgentName, ServiceUnavailable
from agents.registry import AgentRegistry, get_registry
from tests.plugins.agents import DEFINITIONS_DIR

pytestmark = pytest.mark.integration

REVIEWER = (DEFINITIONS_DIR / "code-reviewer-fast.md").read_text()


class S3Calls:
    """Every S3 operation the client completes: (operation, HTTP status)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, int]] = []
        client.meta.events.register("after-call.s3", self._after)

    def _after(self, http_response: Any, model: Any, **_: Any) -> None:
        self.calls.append((model.name, http_response.status_code))

    def close(self) -> None:
        self.client.meta.events.unregister("after-call.s3", self._after)

    def reset(self) -> None:
        self.calls.clear()

    def count(self, operation: str, status: int | None = None) -> int:
        return sum(1 for op, code in self.calls if op == operation and status in (None, code))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def s3_calls(agents_bucket: str) -> Iterator[S3Calls]:
    calls = S3Calls(aws.client("s3"))
    yield calls
    calls.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(agents_bucket: str, clock: Clock) -> AgentRegistry:
    return AgentRegistry(agents_bucket, "agents/", ttl_seconds=60, clock=clock)


def _put(bucket: str, name: str, text: str) -> dict[str, Any]:
    response = aws.client("s3").put_object(
        Bucket=bucket, Key=f"agents/{name}.md", Body=text.encode(), ContentType="text/markdown"
    )
    return dict(response)


def test_get_reads_the_definition_and_its_source(reg: AgentRegistry, agents_bucket: str) -> None:
    definition = reg.get("code-reviewer-fast")
    assert definition.name == "code-reviewer-fast"
    assert definition.model == "haiku"
    assert definition.source is not None
    assert definition.source.bucket == agents_bucket
    assert definition.source.key == "agents/code-reviewer-fast.md"
    assert definition.source.etag
    assert '"' not in definition.source.etag
    assert definition.source.version_id  # versioning is on
    assert definition.etag_or_version == definition.source.version_id


def test_list(reg: AgentRegistry, agents_bucket: str) -> None:
    s3 = aws.client("s3")
    s3.put_object(Bucket=agents_bucket, Key="agents/notes.txt", Body=b"not an agent")
    s3.put_object(Bucket=agents_bucket, Key="agents/nested/x.md", Body=b"---\nname: x\n---\n")
    s3.put_object(Bucket=agents_bucket, Key="agents/Bad Name.md", Body=b"---\nname: x\n---\n")
    _put(agents_bucket, "broken", "no frontmatter")
    names = [d.name for d in reg.list()]
    assert names == ["backend-engineer-python", "code-reviewer-fast", "python-fixer"]
    definitions, errors = reg.scan()
    assert [d.name for d in definitions] == names
    assert len(errors) == 1
    assert isinstance(errors[0], DefinitionError)
    assert "broken" in errors[0].path
    assert reg.names() == [
        "backend-engineer-python",
        "broken",
        "code-reviewer-fast",
        "python-fixer",
    ]


def test_cache_hit_within_ttl_makes_no_s3_call(
    reg: AgentRegistry, s3_calls: S3Calls, clock: Clock
) -> None:
    first = reg.get("code-reviewer-fast")
    assert s3_calls.count("GetObject", 200) == 1
    s3_calls.reset()
    clock.now += 59
    for _ in range(5):
        assert reg.get("code-reviewer-fast") is first
    assert s3_calls.calls == []
    assert reg.stats.cache_hits == 5


def test_unchanged_revalidation_downloads_no_body(
    reg: AgentRegistry, s3_calls: S3Calls, clock: Clock
) -> None:
    first = reg.get("code-reviewer-fast")
    downloads = reg.stats.body_downloads
    s3_calls.reset()
    clock.now += 61
    again = reg.get("code-reviewer-fast")
    assert again is first
    assert s3_calls.calls == [("GetObject", 304)]
    assert reg.stats.not_modified == 1
    assert reg.stats.body_downloads == downloads
    # The 304 restarted the TTL: no call within the next minute.
    s3_calls.reset()
    clock.now += 30
    reg.get("code-reviewer-fast")
    assert s3_calls.calls == []


def test_changed_object_is_downloaded_after_ttl(
    reg: AgentRegistry, agents_bucket: str, s3_calls: S3Calls, clock: Clock
) -> None:
    reg.get("code-reviewer-fast")
    _put(agents_bucket, "code-reviewer-fast", REVIEWER.replace("version: 1.0.0", "version: 1.1.0"))
    assert reg.get("code-reviewer-fast").version == "1.0.0"  # still fresh in the cache
    s3_calls.reset()
    clock.now += 61
    assert reg.get("code-reviewer-fast").version == "1.1.0"
    assert s3_calls.calls == [("GetObject", 200)]


def test_listing_counts_as_revalidation(
    reg: AgentRegistry, s3_calls: S3Calls, clock: Clock
) -> None:
    reg.list()
    s3_calls.reset()
    clock.now += 61
    reg.list()
    assert s3_calls.count("GetObject") == 0
    assert s3_calls.count("ListObjectsV2") == 1


def test_deleted_agent_is_not_found_after_ttl(
    reg: AgentRegistry, agents_bucket: str, clock: Clock
) -> None:
    reg.get("code-reviewer-fast")
    aws.client("s3").delete_object(Bucket=agents_bucket, Key="agents/code-reviewer-fast.md")
    clock.now += 61
    with pytest.raises(AgentNotFound):
        reg.get("code-reviewer-fast")


def test_not_found(reg: AgentRegistry) -> None:
    with pytest.raises(AgentNotFound) as info:
        reg.get("no-such-agent")
    assert info.value.status == 404
    assert "no-such-agent" in info.value.detail
    with pytest.raises(AgentNotFound):
        reg.get("code-reviewer-fast", version="9.9.9")
    with pytest.raises(AgentNotFound):
        reg.get("code-reviewer-fast", version_id="no-such-version")
    with pytest.raises(AgentNotFound):
        reg.get("code-reviewer-fast", version_id="../../x?y")


@pytest.mark.parametrize("name", ["../x", "%2e%2e", "", "x" * 200, "A", "a/b"])
def test_invalid_names_never_reach_s3(reg: AgentRegistry, s3_calls: S3Calls, name: str) -> None:
    with pytest.raises(InvalidAgentName):
        reg.get(name)
    assert s3_calls.calls == []


def test_pin_s3_version_id(reg: AgentRegistry, agents_bucket: str, s3_calls: S3Calls) -> None:
    v1 = reg.get("code-reviewer-fast")
    assert v1.source is not None
    assert v1.source.version_id
    _put(agents_bucket, "code-reviewer-fast", REVIEWER.replace("version: 1.0.0", "version: 2.0.0"))
    s3_calls.reset()
    # The latest read remembered its object version: a run pinned to it downloads nothing.
    assert reg.get("code-reviewer-fast", version_id=v1.source.version_id) is v1
    assert s3_calls.calls == []
    # A container that never read that version fetches it once, then caches it for good.
    other = AgentRegistry(agents_bucket, "agents/", ttl_seconds=60)
    pinned = other.get("code-reviewer-fast", version_id=v1.source.version_id)
    assert pinned.version == "1.0.0"
    assert s3_calls.calls == [("GetObject", 200)]
    s3_calls.reset()
    assert other.get("code-reviewer-fast", version_id=v1.source.version_id) is pinned
    assert s3_calls.calls == []  # an object version never changes: cached for good


def test_pin_frontmatter_version(
    reg: AgentRegistry, agents_bucket: str, s3_calls: S3Calls, clock: Clock
) -> None:
    for version in ("2.0.0", "3.0.0"):
        _put(
            agents_bucket,
            "code-reviewer-fast",
            REVIEWER.replace("version: 1.0.0", f"version: {version}"),
        )
    _put(agents_bucket, "code-reviewer-fast", "broken in between")
    _put(agents_bucket, "code-reviewer-fast", REVIEWER.replace("version: 1.0.0", "version: 4.0.0"))
    assert reg.get("code-reviewer-fast").version == "4.0.0"
    assert reg.get("code-reviewer-fast", version="4.0.0").version == "4.0.0"
    old = reg.get("code-reviewer-fast", version="1.0.0")
    assert old.version == "1.0.0"
    assert reg.stats.version_list_calls == 1
    # Every version seen on the way is remembered: 2.0.0 needs no listing.
    s3_calls.reset()
    assert reg.get("code-reviewer-fast", version="2.0.0").version == "2.0.0"
    assert reg.get("code-reviewer-fast", version="1.0.0") is old
    assert s3_calls.calls == []


def test_pin_survives_deletion_of_the_latest(reg: AgentRegistry, agents_bucket: str) -> None:
    v1 = reg.get("code-reviewer-fast")
    aws.client("s3").delete_object(Bucket=agents_bucket, Key="agents/code-reviewer-fast.md")
    fresh = AgentRegistry(agents_bucket, "agents/")
    with pytest.raises(AgentNotFound):
        fresh.get("code-reviewer-fast")
    assert fresh.get("code-reviewer-fast", version="1.0.0").body == v1.body
    assert v1.source is not None
    assert v1.source.version_id is not None
    assert fresh.get("code-reviewer-fast", version_id=v1.source.version_id).version == "1.0.0"


def test_invalid_definition_error_is_cached_by_etag(
    reg: AgentRegistry, agents_bucket: str, s3_calls: S3Calls, clock: Clock
) -> None:
    _put(agents_bucket, "broken", "---\nname: broken\noutput_schema: [x\n---\nbody")
    with pytest.raises(DefinitionError) as info:
        reg.get("broken")
    assert info.value.path == f"s3://{agents_bucket}/agents/broken.md"
    assert info.value.line == 3
    assert info.value.status == 422
    s3_calls.reset()
    clock.now += 61
    with pytest.raises(DefinitionError):
        reg.get("broken")
    assert s3_calls.calls == [("GetObject", 304)]


def test_name_must_match_key(reg: AgentRegistry, agents_bucket: str) -> None:
    _put(agents_bucket, "alias", REVIEWER)
    with pytest.raises(DefinitionError, match="does not match"):
        reg.get("alias")


def test_oversized_object_is_refused(reg: AgentRegistry, agents_bucket: str) -> None:
    _put(agents_bucket, "huge", REVIEWER + "x" * MAX_DEFINITION_BYTES)
    with pytest.raises(DefinitionError, match="limit"):
        reg.get("huge")


def test_concurrent_misses_make_one_request(reg: AgentRegistry, s3_calls: S3Calls) -> None:
    barrier = threading.Barrier(16)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(timeout=10)
        name = reg.get("backend-engineer-python").name
        with lock:
            results.append(name)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["backend-engineer-python"] * 16
    assert s3_calls.count("GetObject") == 1


def test_stale_copy_served_when_s3_is_unreachable(
    agents_bucket: str, clock: Clock, tmp_path: Path
) -> None:
    import boto3
    from botocore.config import Config

    reg = AgentRegistry(agents_bucket, "agents/", ttl_seconds=60, clock=clock)
    cached = reg.get("code-reviewer-fast")
    dead = boto3.session.Session().client(
        "s3",
        endpoint_url="http://127.0.0.1:9",  # discard port: connection refused
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    reg.s3 = dead
    clock.now += 61
    assert reg.get("code-reviewer-fast") is cached
    assert reg.stats.stale_served == 1
    with pytest.raises(ServiceUnavailable, match=r"unreachable|unavailable") as info:
        reg.get("backend-engineer-python")  # nothing cached: the failure shows
    assert info.value.retryable


def test_get_registry_uses_settings(agents_bucket: str) -> None:
    registry = get_registry()
    assert registry is get_registry()
    assert registry.bucket == agents_bucket
    assert registry.prefix == "agents/"
    assert registry.get("code-reviewer-fast").name == "code-reviewer-fast"
    container.reset()
    assert get_registry() is not registry


def test_invalidate(reg: AgentRegistry, s3_calls: S3Calls) -> None:
    reg.get("code-reviewer-fast")
    reg.invalidate("code-reviewer-fast")
    s3_calls.reset()
    reg.get("code-reviewer-fast")
    assert s3_calls.calls == [("GetObject", 200)]
