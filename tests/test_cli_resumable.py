"""``agw invoke`` following a run past its ``Prefer: wait`` and ``agw invocations
actions|approve`` against ``agw dev`` (issue 15; the stack runs in a child process, see
tests/plugins/dev_stack.py). The parsing and printing rules: tests/test_agw_follow.py."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from local.dev_info import TOOL_DEMO_FILES, TOOL_DEMO_INPUT
from tests.plugins.dev_stack import KEY_B, AgwRun, RunningDevStack

# every command runs from a folder holding the demo files (``invoke_args`` names them)
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("tool_demo_folder")]

AGENT = "python-fixer"


@pytest.fixture
def slow_model(dev_stack: RunningDevStack) -> Iterator[None]:
    dev_stack.fake("POST", "/_fake/faults", {"latency_s": 0.25})
    try:
        yield
    finally:
        dev_stack.fake("POST", "/_fake/faults", {"reset": True})


def invoke_args(*extra: str) -> list[str]:
    return ["invoke", AGENT, TOOL_DEMO_INPUT, "--files", *sorted(TOOL_DEMO_FILES), *extra]


def test_invoke_follows_a_run_past_its_prefer_wait_to_the_end(
    agw: AgwRun, slow_model: None
) -> None:
    code, out, err = agw(*invoke_args("--prefer-wait", "1", "--json"))
    assert code == 0, err
    invocation = json.loads(out)
    assert invocation["status"] == "SUCCEEDED"
    assert [change["path"] for change in invocation["files_changed"]] == ["stats.py"]
    assert "goes on on the queue (longer than --prefer-wait 1 s); following it..." in err
    progress = re.findall(r"inv_\w+ (\w+)  segment (\d+)  checkpoint turn (\S+)", err)
    assert progress[-1][0] == "SUCCEEDED"
    assert len(progress) == len(set(progress))  # one line per change


def test_approve_and_deny_from_the_cli(agw: AgwRun, dev_stack: RunningDevStack) -> None:
    code, _, err = agw(*invoke_args("--require-approval", "Edit"))
    assert code == 3, err
    match = re.search(r"approve all: agw invocations approve (inv_\w+)", err)
    assert match, err
    invocation_id = match.group(1)
    code, out, _ = agw("invocations", "actions", invocation_id, "--json")
    (action,) = json.loads(out)
    assert action["tool"] == "Edit"
    assert action["input"]["file_path"].endswith("stats.py")
    # another tenant sees no such invocation
    code, _, err = agw("invocations", "approve", invocation_id, "--api-key", KEY_B)
    assert code == 1
    assert "(404)" in err
    code, out, err = agw(
        "invocations", "approve", invocation_id, "--deny", action["id"], "--message", "not now"
    )
    assert code == 0, err
    assert f"{invocation_id} QUEUED: 0 approved, 1 denied" in out
    with dev_stack.client() as client:
        final = client.get(f"/invocations/{invocation_id}").json()
        for _ in range(100):
            if final["status"] in {"SUCCEEDED", "FAILED"}:
                break
            time.sleep(0.1)
            final = client.get(f"/invocations/{invocation_id}").json()
    assert final["status"] == "SUCCEEDED"
    assert not final.get("files_changed")
    code, _, err = agw("invocations", "approve", invocation_id)
    assert code == 1
    assert "is SUCCEEDED, not WAITING" in err
