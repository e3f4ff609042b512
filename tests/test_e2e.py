"""End to end through ``agw dev``: a real HTTP client against the API shim on loopback.

The stack (moto, the offline model, the API shim, the SQS poller feeding the
worker) runs in a child process (``tests/plugins/dev_stack.py``); nothing here
calls a handler in-process.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.fake_anthropic import OFFLINE_BANNER
from local.invoke import OFFLINE_API_KEY
from tests.plugins.children import checkout_environment, python_output
from tests.plugins.dev_stack import AGW, KEY_A, KEY_B, REPO, RunningDevStack, child_environment
from tests.plugins.events import EVENTS, documented_statuses

pytestmark = pytest.mark.integration

FLAGSHIP = "backend-engineer-python"
REVIEWER = "code-reviewer-fast"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def poll_invocation(client: httpx.Client, path: str, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in TERMINAL or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{kind}"
    assert problem["status"] == status
    assert problem["detail"]
    assert "Traceback" not in response.text
    return problem


def test_health_needs_a_known_key(dev_stack: RunningDevStack) -> None:
    with dev_stack.client() as api:
        assert api.get("/health").json()["status"] == "ok"
    # KEYS mode: no key and a malformed key are the authorizer's 401 (docs/security.md)
    assert httpx.get(dev_stack.api_url + "/health", timeout=10).status_code == 401
    unknown = httpx.get(dev_stack.api_url + "/health", headers={"x-api-key": "nope"}, timeout=10)
    assert unknown.status_code == 401


def test_sync_invocation_of_the_flagship(dev_stack: RunningDevStack) -> None:
    with dev_stack.client() as api:
        response = api.post(
            f"/agents/{FLAGSHIP}/invocations",
            json={"input": "Add a /health endpoint to a FastAPI app, with a test."},
        )
    assert response.status_code == 200, response.text
    invocation = response.json()
    assert invocation["status"] == "SUCCEEDED"
    assert invocation["agent"] == FLAGSHIP
    assert invocation["mode"] == "sync"
    assert invocation["output"].startswith(OFFLINE_BANNER)
    assert invocation["contract"]["valid"] is True
    assert invocation["contract"]["missing"] == []
    assert invocation["usage"]["output_tokens"] > 0
    assert invocation["cost_usd"] > 0
    assert invocation["model"].startswith("claude-")


def test_async_invocation_is_run_by_the_worker(dev_stack: RunningDevStack) -> None:
    with dev_stack.client() as api:
        response = api.post(
            f"/agents/{REVIEWER}/invocations",
            json={"input": "def add(a, b):\n    return a - b\n", "context": {"language": "python"}},
            headers={"Prefer": "respond-async"},
        )
        assert response.status_code == 202, response.text
        location = response.headers["location"]
        assert location == f"/invocations/{response.json()['id']}"
        assert response.json()["status"] == "QUEUED"
        done = poll_invocation(api, location)
    assert done["status"] == "SUCCEEDED", done
    assert done["mode"] == "async"
    assert done["contract"]["verdict"] in {"PASS", "FAIL", "NEEDS_DISCUSSION"}
    assert done["input"].startswith("def add")


def test_batch_of_twenty_runs_to_completion(dev_stack: RunningDevStack) -> None:
    run = uuid.uuid4().hex[:8]
    items = [
        {
            "input": f"def f{n}(x):\n    return x + {n}\n",
            "context": {"language": "python"},
            "idempotency_key": f"{run}-{n}",
        }
        for n in range(20)
    ]
    with dev_stack.client() as api:
        submitted = api.post("/batches", json={"agent": REVIEWER, "items": items})
        assert submitted.status_code == 202, submitted.text
        batch = submitted.json()
        assert batch["item_count"] == 20
        assert [ref["index"] for ref in batch["items"]] == list(range(20))
        deadline = time.monotonic() + 45
        view = batch
        while not view["done"] and time.monotonic() < deadline:
            time.sleep(0.3)
            view = api.get(submitted.headers["location"]).json()
        assert view["done"], view
        assert view["counts"] == {
            "QUEUED": 0,
            "RUNNING": 0,
            "SUCCEEDED": 20,
            "FAILED": 0,
            "CANCELLED": 0,
            "WAITING": 0,
        }
        listed = api.get("/invocations", params={"batch_id": batch["id"], "limit": 50}).json()
    assert sorted(i["id"] for i in listed["items"]) == sorted(
        r["invocation_id"] for r in batch["items"]
    )
    assert {i["status"] for i in listed["items"]} == {"SUCCEEDED"}


def test_an_economy_batch_of_fifty_ends_within_a_minute_through_the_batches_endpoints(
    dev_stack: RunningDevStack,
) -> None:
    before = dev_stack.fake("GET", "/_fake/batches")
    calls_before = dev_stack.fake("GET", "/_fake/stats")["calls"]
    run = uuid.uuid4().hex[:8]
    items = [
        {"input": f"def g{n}(x):\n    return x * {n}\n  # {run}", "context": {"language": "python"}}
        for n in range(50)
    ]
    body = {"agent": REVIEWER, "items": items, "processing": "economy"}
    with dev_stack.client() as api:
        submitted = api.post("/batches", json=body)
        assert submitted.status_code == 202, submitted.text
        assert submitted.json()["processing"] == "economy"
        deadline = time.monotonic() + 60
        view = submitted.json()
        while not view["done"] and time.monotonic() < deadline:
            time.sleep(0.5)
            view = api.get(submitted.headers["location"]).json()
    assert view["counts"]["SUCCEEDED"] == 50, view
    after = dev_stack.fake("GET", "/_fake/batches")
    assert 1 <= after["creations"] - before["creations"] <= 2
    stats = dev_stack.fake("GET", "/_fake/stats")
    assert stats["calls"] - calls_before <= stats["repair_turns"]


def test_idempotency_key_replays_the_first_answer(dev_stack: RunningDevStack) -> None:
    key = f"e2e-{uuid.uuid4()}"
    body = {"input": "def g(): return 1\n", "context": {"language": "python"}}
    with dev_stack.client() as api:
        url = f"/agents/{REVIEWER}/invocations"
        first = api.post(url, json=body, headers={"Idempotency-Key": key})
        again = api.post(url, json=body, headers={"Idempotency-Key": key})
        other = api.post(
            url, json={**body, "input": "something else"}, headers={"Idempotency-Key": key}
        )
    assert first.status_code == 200, first.text
    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["output"] == first.json()["output"]
    assert_problem(other, 422, "idempotency-key-reused")


def test_malformed_body_is_a_problem_document(dev_stack: RunningDevStack) -> None:
    with dev_stack.client() as api:
        response = api.post(
            f"/agents/{FLAGSHIP}/invocations",
            content=b'{"input": "unterminated',
            headers={"Content-Type": "application/json"},
        )
    problem = assert_problem(response, 400, "bad-request")
    assert problem["instance"] == f"/agents/{FLAGSHIP}/invocations"


def test_unknown_agent_is_404(dev_stack: RunningDevStack) -> None:
    with dev_stack.client() as api:
        response = api.post("/agents/no-such-agent/invocations", json={"input": "hi"})
    assert_problem(response, 404, "agent-not-found")


def test_tenants_see_only_their_own_invocations(dev_stack: RunningDevStack) -> None:
    key = f"shared-{uuid.uuid4()}"
    body = {"input": "def h(): ...\n", "context": {"language": "python"}}
    url = f"/agents/{REVIEWER}/invocations"
    with dev_stack.client(KEY_A) as a, dev_stack.client(KEY_B) as b:
        mine = a.post(url, json=body, headers={"Idempotency-Key": key}).json()
        assert_problem(b.get(f"/invocations/{mine['id']}"), 404, "invocation-not-found")
        theirs = b.post(url, json=body, headers={"Idempotency-Key": key})
        assert theirs.status_code == 200
        assert "idempotent-replayed" not in theirs.headers
        assert theirs.json()["id"] != mine["id"]
        listed_b = {i["id"] for i in b.get("/invocations", params={"limit": 200}).json()["items"]}
        listed_a = {i["id"] for i in a.get("/invocations", params={"limit": 200}).json()["items"]}
    assert mine["id"] in listed_a
    assert mine["id"] not in listed_b
    assert theirs.json()["id"] in listed_b
    assert dev_stack.tenant(KEY_A) != dev_stack.tenant(KEY_B)


def _dlq_messages_for(dev_stack: RunningDevStack, invocation_id: str) -> list[dict[str, Any]]:
    """Every DLQ message about ``invocation_id``: receive until the queue has nothing
    visible left (others stay invisible for their visibility timeout, then return)."""
    sqs = dev_stack.sqs()
    found: list[dict[str, Any]] = []
    for _ in range(20):
        messages = sqs.receive_message(
            QueueUrl=dev_stack.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        if not messages and found:
            break
        for message in messages:
            body = json.loads(message["Body"])
            if body.get("invocation_id") == invocation_id:
                found.append(body)
                sqs.delete_message(
                    QueueUrl=dev_stack.dlq_url, ReceiptHandle=message["ReceiptHandle"]
                )
    return found


def test_a_permanent_model_failure_is_recorded_and_dead_lettered_once(
    dev_stack: RunningDevStack,
) -> None:
    dev_stack.fake("POST", "/_fake/faults", {"reset": True})
    dev_stack.fake("POST", "/_fake/faults", {"status": 400, "count": 1, "message": "e2e fault"})
    try:
        with dev_stack.client() as api:
            response = api.post(
                f"/agents/{FLAGSHIP}/invocations",
                json={"input": "this one fails", "mode": "async"},
            )
            assert response.status_code == 202, response.text
            failed = poll_invocation(api, response.headers["location"])
    finally:
        dev_stack.fake("POST", "/_fake/faults", {"reset": True})
    assert failed["status"] == "FAILED", failed
    assert failed["error"]["type"] == "model-error"
    assert failed["error"]["retryable"] is False
    messages = _dlq_messages_for(dev_stack, failed["id"])
    assert len(messages) == 1, messages
    assert messages[0]["kind"] == "invocation"
    assert messages[0]["error_type"] == "model-error"
    assert messages[0]["tenant"] == dev_stack.tenant(KEY_A)


def test_the_local_invoke_stand_in_runs_every_event_file(
    dev_stack: RunningDevStack, tmp_path: Path
) -> None:
    files = sorted(p for p in EVENTS.glob("*.json") if p.name != "env.json")
    assert files
    documented = documented_statuses()
    out = tmp_path / "results.json"
    env = child_environment(
        {
            "ANTHROPIC_BASE_URL": dev_stack.model_url,
            "ANTHROPIC_API_KEY": OFFLINE_API_KEY,
        }
    )
    runner = ["-m", "tests.local_invoke_runner", "--aws-endpoint", dev_stack.aws_url]
    python_output(
        [*runner, "--out", str(out), *map(str, files)], env=checkout_environment(base=env)
    )
    results = json.loads(out.read_text())
    assert set(results) == {p.name for p in files}
    for name, result in results.items():
        assert result["error"] is None, (name, result["error"])
        response = result["response"]
        if result["function"] == "ApiFunction":
            assert response["statusCode"] == documented[name], (name, response.get("body"))
            assert "Traceback" not in (response.get("body") or "")
        else:
            # events/README.md: every sample SQS event is processed or dead-lettered as a
            # permanent failure, never left for redelivery
            assert isinstance(response, dict), (name, response)
            assert response.get("batchItemFailures") == [], (name, response)


#: Events run through `agw local invoke` as a user runs it (each is its own process).
CLI_EVENTS = [
    "api-invoke-sync.json",
    "api-invoke-idempotent.json",
    "api-health.json",
    "api-list-agents.json",
    "sqs-raw-job.json",
]


def agw_with_dev_file(dev_stack: RunningDevStack, *argv: str) -> subprocess.CompletedProcess[str]:
    """`agw <argv>` with nothing set but the dev file's path (no endpoint, no model URL,
    no key: it must find the running stack by itself)."""
    return subprocess.run(
        [str(AGW), *argv],
        cwd=REPO,
        env=child_environment({"AGW_DEV_FILE": str(dev_stack.dev_file)}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def local_invoke(
    dev_stack: RunningDevStack, event: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`agw local invoke <fn> -e events/<event>`, finding the dev stack by its file."""
    function = "ApiFunction" if event.startswith("api-") else "WorkerFunction"
    return agw_with_dev_file(
        dev_stack, "local", "invoke", function, "-e", f"events/{event}", *extra
    )


@pytest.mark.parametrize("event", CLI_EVENTS)
def test_agw_local_invoke_finds_the_dev_stack_and_keeps_stdout_json(
    dev_stack: RunningDevStack, event: str
) -> None:
    """Issue 12.2: the stand-in uses `.agw/dev.json` (moto, model, key source); only the
    response JSON is on stdout, the function's logs are on stderr (`| jq` works)."""
    run = local_invoke(dev_stack, event)
    assert run.returncode == 0, run.stderr[-3000:]
    response = json.loads(run.stdout)  # the whole of stdout is one JSON document
    assert '"level"' in run.stderr  # the function's JSON logs went to stderr
    if event.startswith("api-"):
        assert response["statusCode"] < 500, response
        if event.startswith("api-invoke-"):
            assert response["statusCode"] == 200, response
            invocation = json.loads(response["body"])
            assert invocation["status"] == "SUCCEEDED"
            assert invocation["output"].startswith(OFFLINE_BANNER)
    else:
        assert response == {"batchItemFailures": []}


def test_agw_local_invoke_model_endpoint_overrides_the_dev_stack(
    dev_stack: RunningDevStack,
) -> None:
    """--model-endpoint wins over the dev stack's model: a dead one makes the call fail."""
    run = local_invoke(dev_stack, "api-invoke-sync.json", "--model-endpoint", "http://127.0.0.1:9")
    assert run.returncode == 0, run.stderr[-3000:]
    response = json.loads(run.stdout)
    assert response["statusCode"] >= 500, response  # nothing answers on port 9
    assert json.loads(response["body"])["type"].startswith("/problems/model")


def test_agw_dlq_list_finds_the_dev_stack_without_flags(dev_stack: RunningDevStack) -> None:
    """Issue 12.5: `agw dlq list` with no flags and no environment uses `.agw/dev.json`."""
    run = agw_with_dev_file(dev_stack, "dlq", "list", "--json")
    assert run.returncode == 0, run.stderr
    assert isinstance(json.loads(run.stdout), list)


def _push_fixtures(dev_stack: RunningDevStack, *names: str) -> None:
    import boto3

    from agents.publish import push_paths
    from tests.plugins.agents import FIXTURE_DEFINITIONS

    s3 = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=str(dev_stack.info["region"]),
    ).client("s3", endpoint_url=dev_stack.aws_url)
    paths = [FIXTURE_DEFINITIONS / name for name in names]
    report, pushed = push_paths(paths, str(dev_stack.info["agents_bucket"]), "agents/", s3=s3)
    assert report.ok, report.to_dict()
    assert len(pushed) == len(names)


def test_dotted_agent_names_over_http(dev_stack: RunningDevStack) -> None:
    _push_fixtures(dev_stack, "powershell-5.1-expert.md")
    with dev_stack.client() as api:
        agent = api.get("/agents/powershell-5.1-expert")
        assert agent.status_code == 200, agent.text
        assert agent.json()["name"] == "powershell-5.1-expert"
        listed = {a["name"] for a in api.get("/agents").json()["items"]}
        assert "powershell-5.1-expert" in listed
        for refused in ("a..b", ".hidden", "trailing.", "powershell-5.1-expert.", "%2e%2e", "..."):
            assert_problem(api.get(f"/agents/{refused}"), 400, "invalid-agent-name")


def test_invocation_context_decides_the_required_sections(dev_stack: RunningDevStack) -> None:
    _push_fixtures(dev_stack, "ring-devops-engineer.md")
    url = "/agents/ring:devops-engineer/invocations"
    body = {
        "input": "Review the Helm chart. MODE: ANALYSIS only",
        "context": {"task_description": "standards gap analysis"},
    }
    with dev_stack.client() as api:
        plain = api.post(url, json=body)
        assert plain.status_code == 200, plain.text
        assert plain.json()["invocation_context"] is None
        assert "## Standards Compliance" not in plain.json()["output"]
        refactor = api.post(url, json={**body, "invocation_context": "ring:dev-refactor"})
        assert refactor.status_code == 200, refactor.text
        view = refactor.json()
        assert view["invocation_context"] == "ring:dev-refactor"
        assert view["contract"]["valid"] is True
        assert "## Standards Compliance" in view["output"]
        again = api.get(f"/invocations/{view['id']}").json()
        assert again["invocation_context"] == "ring:dev-refactor"
        bad = api.post(url, json={**body, "invocation_context": " x\n"})
        assert_problem(bad, 422, "validation-error")
