"""Pure pieces of resumable runs: the ``approval`` field and its lint, the ``Prefer`` parser,
the hand-off estimate, the continuation message and the crash points' inertness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.approvals import approval_tools, unknown_approval_names
from agents.config import Settings
from agents.continuations import continuation_body
from agents.crash_points import crash_point
from agents.definition_lint import lint_file
from agents.definitions import parse_definition
from agents.errors import DecisionsMismatch, DefinitionError
from agents.pending_actions import ActionDecision, PendingAction, shown_input
from agents.runner.run_state import denial_content, expected_turn_seconds, gated_calls
from agents.store.run_transitions import check_decisions
from agents.worker_messages import InvocationRef, parse_body
from handlers.caller import preferences, preferred_wait, wants_async

DEFINITION = "---\nname: fixer\ndescription: d\ntools: Read, Edit, Write\n{approval}---\nBody\n"


def test_approval_parses_a_list_a_string_and_all_writes() -> None:
    listed = parse_definition(DEFINITION.format(approval="approval: [Write, Edit]\n").encode())
    assert listed.approval == ["Write", "Edit"]
    everything = parse_definition(DEFINITION.format(approval="approval: all-writes\n").encode())
    assert approval_tools(everything.approval) == {"Write", "Edit", "MultiEdit"}
    assert approval_tools(["Edit"], ["Write"]) == {"Edit", "Write"}
    assert parse_definition(DEFINITION.format(approval="").encode()).approval == []
    with pytest.raises(DefinitionError, match="approval"):
        parse_definition(DEFINITION.format(approval="approval: {a: 1}\n").encode())


def test_lint_warns_about_a_tool_that_cannot_wait(tmp_path: Path) -> None:
    path = tmp_path / "fixer.md"
    path.write_text(DEFINITION.format(approval="approval: [Edit, Bash]\n"))
    findings = lint_file(path, Settings()).findings
    assert [f.message for f in findings if "approval" in f.message] == [
        "approval: Bash is not a client tool; its calls cannot wait for approval"
    ]
    assert unknown_approval_names(["all-writes", "Read", "WebSearch"]) == ["WebSearch"]


def test_a_pending_call_shows_its_strings_cut_and_keeps_the_rest() -> None:
    content = "x" * 5000
    shown = shown_input({"file_path": "a.py", "content": content, "edits": [{"new": content}]})
    assert shown["file_path"] == "a.py"
    assert shown["content"].startswith("x" * 1000)
    assert shown["content"].endswith("... [4000 more characters]")
    assert shown["edits"][0]["new"] == shown["content"]
    assert len(json.dumps(shown)) < 2500


def test_prefer_is_parsed_in_one_place() -> None:
    assert preferences('respond-async, wait=10; x=1, WAIT=3, return="minimal"') == {
        "respond-async": None,
        "wait": "10",
        "return": "minimal",
    }
    assert wants_async("wait=5, respond-async")
    assert preferred_wait("wait=2") == 2
    assert preferred_wait("wait=-1") is None
    assert preferred_wait("wait=soon") is None
    assert preferred_wait("wait=\u00b2") is None  # a digit to str.isdigit, not to int()
    assert preferred_wait(None) is None
    assert preferred_wait("wait=999999") == 3600


def test_the_hand_off_estimate_uses_the_slowest_recent_turn() -> None:
    assert expected_turn_seconds([]) == 0.0
    assert expected_turn_seconds([9.0, 1.0, 1.0, 1.0, 1.0, 2.0]) == 2.0
    calls = [{"id": "a", "name": "Read"}, {"id": "b", "name": "Edit"}]
    assert gated_calls(calls, frozenset({"Edit"})) == ["b"]
    denied = ActionDecision(id="b", decision="deny", message="no")
    assert (
        denial_content(denied)
        == "<tool_use_error>The user denied this tool call: no</tool_use_error>"
    )


def test_decisions_must_match_the_pending_ids_exactly_once() -> None:
    pending = [PendingAction(id="a", tool="Edit"), PendingAction(id="b", tool="Write")]
    approve = [ActionDecision(id="a", decision="approve"), ActionDecision(id="b", decision="deny")]
    check_decisions(pending, approve, "inv_x123")
    for wrong in (approve[:1], [*approve, approve[0]], [ActionDecision(id="c", decision="deny")]):
        with pytest.raises(DecisionsMismatch):
            check_decisions(pending, wrong, "inv_x123")


def test_the_continuation_is_an_invocation_ref() -> None:
    parsed = parse_body(continuation_body("inv_abc123"), Settings())
    assert parsed == InvocationRef(invocation_id="inv_abc123", continuation=True)
    assert parse_body('{"invocation_id": "inv_abc123"}', Settings()) == InvocationRef(
        invocation_id="inv_abc123"
    )


def test_crash_points_are_inert_unless_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AGW_CRASH_AT", raising=False)
    crash_point("after-checkpoint", 1)
    monkeypatch.setenv("AGW_CRASH_AT", "after-checkpoint@2")
    crash_point("after-checkpoint", 1)
    crash_point("before-model-call", 2)
    marker = tmp_path / "done"
    marker.write_text("x")
    monkeypatch.setenv("AGW_CRASH_MARKER", str(marker))
    crash_point("after-checkpoint", 2)  # the marker exists: inert


def test_require_approval_names_only_client_tools() -> None:
    from pydantic import ValidationError

    from agents.api_models import InvokeRequest

    assert InvokeRequest(input="x", require_approval=["Edit", "all-writes"]).require_approval
    with pytest.raises(ValidationError, match="WebSearch"):
        InvokeRequest(input="x", require_approval=["WebSearch"])
