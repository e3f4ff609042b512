"""Agent-definition fixtures: paths to the fixture corpus and a pushed bucket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents import aws, container
from agents.registry import AgentRegistry

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS_DIR = ROOT / "definitions"
FIXTURE_DEFINITIONS = ROOT / "tests" / "fixtures" / "definitions"


@pytest.fixture
def fixture_definitions() -> Path:
    """``tests/fixtures/definitions``: copies of ../shared/agents and ../shared/corpus."""
    return FIXTURE_DEFINITIONS


@pytest.fixture
def agents_bucket(aws_endpoint: str) -> Iterator[str]:
    """A versioned moto bucket holding the shipped ``definitions/`` under ``agents/``.

    Sets ``AGENTS_BUCKET``/``AGENTS_PREFIX`` for the test and resets the
    container registry, so ``get_registry()`` reads this bucket.
    """
    from agents.publish import push_paths

    bucket = "agents-test-bucket"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    report, pushed = push_paths([DEFINITIONS_DIR], bucket, "agents/", s3=s3)
    assert report.ok, report.to_dict()
    assert pushed
    saved = {k: os.environ.get(k) for k in ("AGENTS_BUCKET", "AGENTS_PREFIX")}
    os.environ["AGENTS_BUCKET"] = bucket
    os.environ["AGENTS_PREFIX"] = "agents/"
    container.reset()
    try:
        yield bucket
    finally:
        container.reset()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def registry(agents_bucket: str) -> AgentRegistry:
    """A fresh registry over ``agents_bucket`` (TTL 60 s)."""
    return AgentRegistry(agents_bucket, "agents/", ttl_seconds=60)
