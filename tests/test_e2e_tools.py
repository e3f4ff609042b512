"""Agents that act, end to end through ``agw dev`` over HTTP (issue 14's acceptance).

python-fixer with ``files`` against the offline model: tool calls, files changed, a patch that
real ``git apply`` applies, the transcript, changed-file and workspace routes; a definition
naming ``WebSearch`` sends a ``web_search`` server tool; ``Bash`` with CODE_EXECUTION off sends
nothing and is listed under ``tools_unavailable``. The stack is the session's ``agw dev``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from local.dev_info import TOOL_DEMO_AGENT, TOOL_DEMO_FILES, tool_demo_body
from tests.plugins.dev_stack import RunningDevStack

pytestmark = pytest.mark.integration

CONTRACT = """output_schema:
  format: "markdown"
  required_sections:
    - name: "Summary"
      pattern: "^## Summary"
      required: true
"""


def _push_definition(dev_stack: RunningDevStack, tmp_path: Path, name: str, tools: str) -> None:
    """Push a small definition naming ``tools`` to the running stack's bucket."""
    import boto3

    from agents.publish import push_paths

    path = tmp_path / f"{name}.md"
    path.write_text(
        f"---\nname: {name}\ndescription: Acceptance fixture naming {tools}.\n"
        f"model: haiku\ntools: {tools}\n{CONTRACT}---\n\nAnswer with a ## Summary section.\n"
    )
    s3 = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=str(dev_stack.info["region"]),
    ).client("s3", endpoint_url=dev_stack.aws_url)
    report, pushed = push_paths([path], str(dev_stack.info["agents_bucket"]), "agents/", s3=s3)
    assert report.ok, report.to_dict()
    assert len(pushed) == 1


def _requests_since(dev_stack: RunningDevStack, seq: int) -> list[dict[str, Any]]:
    """The fake's logged /v1/messages request bodies after record number ``seq``."""
    records = dev_stack.fake("GET", "/_fake/requests")["requests"]
    return [record["body"] for record in records if record["seq"] > seq]


def _last_seq(dev_stack: RunningDevStack) -> int:
    records = dev_stack.fake("GET", "/_fake/requests?limit=1")["requests"]
    return int(records[-1]["seq"]) if records else 0


@pytest.fixture(scope="module")
def fixer_run(dev_stack: RunningDevStack) -> dict[str, Any]:
    """One python-fixer invocation with the demo's files (shared by the tests below)."""
    with dev_stack.client() as api:
        response = api.post(f"/agents/{TOOL_DEMO_AGENT}/invocations", json=tool_demo_body())
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def test_python_fixer_acts_on_its_files(fixer_run: dict[str, Any], tmp_path: Path) -> None:
    assert fixer_run["status"] == "SUCCEEDED", fixer_run
    assert fixer_run["contract"]["valid"] is True
    assert fixer_run["turns"] >= 3
    assert {"Read", "Edit"} <= set(fixer_run["tool_calls"])
    changed = {change["path"] for change in fixer_run["files_changed"]}
    assert changed
    assert changed <= set(TOOL_DEMO_FILES)
    assert fixer_run["tools_unavailable"] == []
    # the patch applies with real git to the files as they were sent
    for path, content in TOOL_DEMO_FILES.items():
        (tmp_path / path).write_text(content)
    (tmp_path / "fix.patch").write_text(fixer_run["patch"])
    git = shutil.which("git")
    assert git, "git is needed to check the patch"
    subprocess.run([git, "apply", "fix.patch"], cwd=tmp_path, check=True, capture_output=True)
    for path in changed:
        assert (tmp_path / path).read_text() != TOOL_DEMO_FILES[path]


def test_transcript_changed_file_and_workspace_routes(
    dev_stack: RunningDevStack, fixer_run: dict[str, Any], tmp_path: Path
) -> None:
    invocation = fixer_run["id"]
    changed = fixer_run["files_changed"][0]["path"]
    with dev_stack.client() as api:
        transcript = api.get(f"/invocations/{invocation}/transcript")
        assert transcript.status_code == 200, transcript.text
        turns = transcript.json()["turns"]
        assert len(turns) == fixer_run["turns"]
        names = [call["name"] for turn in turns for call in turn["tool_calls"]]
        assert "Read" in names
        assert "Edit" in names
        assert turns[-1]["stop_reason"] == "end_turn"

        file = api.get(f"/invocations/{invocation}/files/{quote(changed, safe='')}")
        assert file.status_code == 200, file.text
        assert file.headers["content-type"].startswith("text/plain")
        missing = api.get(f"/invocations/{invocation}/files/{quote('nope.py', safe='')}")
        assert missing.status_code == 404

        link = api.get(f"/invocations/{invocation}/workspace")
        assert link.status_code == 200, link.text
    # the presigned URL is moto's S3: the zip holds every file, the changed one as served
    archive = httpx.get(link.json()["url"], timeout=10)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert sorted(zipped.namelist()) == sorted(TOOL_DEMO_FILES)
        assert zipped.read(changed).decode() == file.text
    # and the changed file is what the patch makes of the input
    for path, content in TOOL_DEMO_FILES.items():
        (tmp_path / path).write_text(content)
    (tmp_path / "fix.patch").write_text(fixer_run["patch"])
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / changed).read_text() == file.text


def test_web_search_is_sent_as_a_server_tool(dev_stack: RunningDevStack, tmp_path: Path) -> None:
    _push_definition(dev_stack, tmp_path, "e2e-web-searcher", "WebSearch")
    seq = _last_seq(dev_stack)
    with dev_stack.client() as api:
        response = api.post(
            "/agents/e2e-web-searcher/invocations", json={"input": "What is new in Python 3.13?"}
        )
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["status"] == "SUCCEEDED", view
    assert view["tools_unavailable"] == []
    bodies = _requests_since(dev_stack, seq)
    assert bodies
    tools = bodies[0].get("tools") or []
    searches = [tool for tool in tools if tool.get("name") == "web_search"]
    assert len(searches) == 1, tools
    assert str(searches[0]["type"]).startswith("web_search_")
    assert [tool for tool in tools if tool is not searches[0]] == []


def test_bash_without_code_execution_is_unavailable_and_not_sent(
    dev_stack: RunningDevStack, tmp_path: Path
) -> None:
    _push_definition(dev_stack, tmp_path, "e2e-bash-runner", "Bash")
    seq = _last_seq(dev_stack)
    with dev_stack.client() as api:
        response = api.post("/agents/e2e-bash-runner/invocations", json={"input": "Run ls."})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["status"] == "SUCCEEDED", view
    assert view["tools_unavailable"] == ["Bash"]
    bodies = _requests_since(dev_stack, seq)
    assert bodies
    for body in bodies:
        assert not body.get("tools"), body.get("tools")


def test_a_tenant_over_its_budget_gets_429_before_any_model_call(
    dev_stack: RunningDevStack,
) -> None:
    """Issue 14: a tenant over its spend cap gets `429 budget-exceeded` with no model call
    (the fake's stats prove it) and nothing is written; the cap is set with `agw tenants`."""
    import json

    from local.dev_info import DEMO_INPUT, FLAGSHIP_AGENT
    from tests.plugins.dev_stack import AGW, child_environment

    env = child_environment({"AGW_DEV_FILE": str(dev_stack.dev_file)})

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AGW), *argv], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    created = run("tenants", "create", "budget-probe", "--json")
    assert created.returncode == 0, created.stderr
    tenant = json.loads(created.stdout)
    budget = run("tenants", "set-budget", tenant["tenant"], "--daily", "0.000001")
    assert budget.returncode == 0, budget.stderr
    body = {"input": DEMO_INPUT}
    with dev_stack.client(tenant["key"]) as api:
        first = api.post(f"/agents/{FLAGSHIP_AGENT}/invocations", json=body)
        assert first.status_code == 200, first.text  # under the cap: it runs and is charged
        assert first.json()["cost_usd"] > 0.000001
        calls = dev_stack.fake("GET", "/_fake/stats")["calls"]
        listed = len(api.get("/invocations").json()["items"])
        refused = api.post(f"/agents/{FLAGSHIP_AGENT}/invocations", json=body)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"] == "/problems/budget-exceeded"
        assert int(refused.headers["retry-after"]) > 0
        assert dev_stack.fake("GET", "/_fake/stats")["calls"] == calls  # no model call
        assert len(api.get("/invocations").json()["items"]) == listed  # nothing written
