"""A tool run end to end through the service: the offline model's tool policy, the workspace,
the record, the transcript and the patch (moto server and the fake Messages API over HTTP)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agents import aws, container
from agents.api_models import InvokeRequest
from agents.service import GatewayService
from agents.types import InvocationStatus
from local.dev_info import TOOL_DEMO_FILES, TOOL_DEMO_INPUT
from tests.plugins.api import TENANT_A, ApiStack
from tests.scripted_model import message, text, tool_use

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def service(api_stack: ApiStack) -> GatewayService:
    text = (ROOT / "definitions" / "python-fixer.md").read_bytes()
    aws.client("s3").put_object(
        Bucket=api_stack.agents_bucket, Key="agents/python-fixer.md", Body=text
    )
    container.reset()
    return GatewayService()


def test_python_fixer_acts_on_its_files_offline(
    service: GatewayService, api_stack: ApiStack, tmp_path: Path
) -> None:
    request = InvokeRequest(input=TOOL_DEMO_INPUT, files=dict(TOOL_DEMO_FILES))
    result = service.invoke(TENANT_A, "python-fixer", request, asynchronous=False)
    assert result.failure is None, result.failure
    view = service.get_invocation(TENANT_A, result.invocation.id)
    assert view.status is InvocationStatus.SUCCEEDED
    assert view.turns is not None
    assert view.turns >= 3
    assert {"Read", "Edit"} <= set(view.tool_calls)
    assert view.files_changed
    assert view.patch
    for path, content in TOOL_DEMO_FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    (tmp_path / "fix.patch").write_text(view.patch)
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=tmp_path, check=True)
    transcript = service.transcript(TENANT_A, view.id)
    assert len(transcript.turns) == view.turns
    assert any(call["name"] == "Edit" for turn in transcript.turns for call in turn["tool_calls"])


def test_hostile_paths_give_is_error_results_and_the_run_succeeds(
    service: GatewayService, api_stack: ApiStack
) -> None:
    hostile = ["../../etc/passwd", "/etc/hostname", "~/.aws/credentials"]
    api_stack.model._call(
        "POST",
        "/_fake/script",
        {
            "responses": [
                message(
                    *(tool_use(f"toolu_{n}", "Read", file_path=p) for n, p in enumerate(hostile)),
                    stop_reason="tool_use",
                ),
                message(text("## Summary\nNo.\n## Files Changed\nNone\n## Verification\nNone")),
            ]
        },
    )
    request = InvokeRequest(input="Read those", files={"a.py": "x = 1\n"})
    result = service.invoke(TENANT_A, "python-fixer", request, asynchronous=False)
    assert result.failure is None
    transcript = service.transcript(TENANT_A, result.invocation.id)
    calls = transcript.turns[0]["tool_calls"]
    assert [call["is_error"] for call in calls] == [True, True, True]
    assert "root:" not in str(calls)
    assert result.invocation.tool_calls == {"Read": 3}


def test_max_turns_stops_the_offline_run_after_two_calls(
    service: GatewayService, api_stack: ApiStack
) -> None:
    before = int(api_stack.model.stats()["calls"])
    request = InvokeRequest(input=TOOL_DEMO_INPUT, files=dict(TOOL_DEMO_FILES), max_turns=2)
    result = service.invoke(TENANT_A, "python-fixer", request, asynchronous=False)
    assert result.failure is None
    assert int(api_stack.model.stats()["calls"]) - before == 2
    assert result.invocation.stop_reason == "max_turns"
    assert result.invocation.turns == 2
    assert result.invocation.incomplete
