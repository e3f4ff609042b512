"""A tool run's record: its fields, the transcript in S3, a large patch offloaded, the
``/transcript`` read, and the budgets a record gets (moto server over HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from agents import aws
from agents.config import Settings
from agents.definitions import parse_definition
from agents.records import InvocationRecord, ToolRunOutcome
from agents.service import get_service
from agents.store import InvocationStore, get_store
from agents.tool_runs import budgets_for
from tests.plugins.stack import InvocationStack

pytestmark = pytest.mark.integration

TURNS: list[dict[str, Any]] = [
    {
        "turn": 1,
        "assistant": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}],
        "tool_calls": [
            {"id": "toolu_1", "name": "Read", "input": {}, "result": "x", "is_error": False}
        ],
        "usage": {"input_tokens": 10},
        "stop_reason": "tool_use",
    },
    {"turn": 2, "assistant": [{"type": "text", "text": "done"}], "stop_reason": "end_turn"},
]


@pytest.fixture
def store(invocation_tables: InvocationStack) -> InvocationStore:
    return get_store()


def _completed(store: InvocationStore, patch: str) -> InvocationRecord:
    record = store.create(InvocationRecord.new(tenant="tenant-a", agent="fixer", input="fix"))
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    outcome = ToolRunOutcome(
        turns=2,
        tool_calls={"Read": 1},
        tools_unavailable=["Task"],
        files_changed=[{"path": "app.py", "change": "modified", "bytes": 12}],
        patch=patch,
        transcript=TURNS,
    )
    return store.complete(record.id, "w1", output="done", model="m", tool_run=outcome)


def test_the_transcript_goes_to_s3_and_the_view_shows_the_run(
    store: InvocationStore, invocation_tables: InvocationStack
) -> None:
    done = _completed(store, "diff --git a/app.py b/app.py\n")
    key = f"payloads/{done.id}/transcript.json"
    assert done.transcript_ref == f"s3://{invocation_tables.bucket}/{key}"
    aws.client("s3").head_object(Bucket=invocation_tables.bucket, Key=key)
    view = get_service().get_invocation("tenant-a", done.id)
    assert view.turns == 2
    assert view.tool_calls == {"Read": 1}
    assert view.tools_unavailable == ["Task"]
    assert view.files_changed == [{"path": "app.py", "change": "modified", "bytes": 12}]
    assert view.patch == "diff --git a/app.py b/app.py\n"
    transcript = get_service().transcript("tenant-a", done.id)
    assert transcript.turns == TURNS


def test_a_large_patch_is_offloaded_and_read_back(
    store: InvocationStore, invocation_tables: InvocationStack
) -> None:
    patch = "+" + "x" * 200_000 + "\n"
    done = _completed(store, patch)
    shallow = store.get(done.id, hydrate=False)
    assert shallow.patch is None
    assert shallow.patch_ref == f"s3://{invocation_tables.bucket}/payloads/{done.id}/patch.diff"
    assert store.get(done.id).patch == patch
    listed, _ = store.list("tenant-a")
    assert listed[0].patch is None


def test_a_single_call_has_no_transcript(store: InvocationStore) -> None:
    record = store.create(InvocationRecord.new(tenant="tenant-a", agent="plain", input="hi"))
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    store.complete(record.id, "w1", output="hello", model="m")
    view = get_service().get_invocation("tenant-a", record.id)
    assert view.turns is None
    assert get_service().transcript("tenant-a", record.id).turns == []


AGENT = """---
name: fixer
description: Fixes.
tools: Read
{extra}---
Fix.
"""


@pytest.mark.parametrize(
    ("extra", "requested", "expected"),
    [
        ("", None, 25),
        ("maxTurns: 7\n", None, 7),
        ("max_turns: 9\n", None, 9),
        ("maxTurns: 7\n", 3, 3),
        ("maxTurns: nope\n", None, 25),
    ],
)
def test_max_turns_comes_from_the_request_the_definition_or_the_setting(
    extra: str, requested: int | None, expected: int
) -> None:
    definition = parse_definition(AGENT.format(extra=extra))
    record = InvocationRecord.new(
        tenant="t", agent="fixer", input="x", max_turns=requested, max_cost_usd=0.5
    )
    budgets = budgets_for(record, definition, Settings())
    assert budgets.max_turns == expected
    assert budgets.max_cost_usd == 0.5
    assert budgets.max_tool_calls is None
