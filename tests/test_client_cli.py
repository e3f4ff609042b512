"""The ``agw`` API client commands against ``agw dev`` (HTTP only; the stack runs in a
child process, see tests/plugins/dev_stack.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agw.batch_cmd import derived_key, read_batch_file
from agw.client import AgwClient, ApiError, ClientError, resolve_api_key, resolve_endpoint
from local.fake_anthropic import OFFLINE_BANNER
from tests.plugins.dev_stack import AGW, KEY_A, KEY_B, AgwRun, RunningDevStack

pytestmark = pytest.mark.integration

REVIEWER = "code-reviewer-fast"


def test_invoke_prints_raw_output_when_piped_and_the_summary(
    dev_stack: RunningDevStack,
) -> None:
    result = subprocess.run(
        [str(AGW), "invoke", REVIEWER, "def f(): pass", "--context", "language=python"],
        env=dev_stack.agw_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(OFFLINE_BANNER)  # raw Markdown, no terminal rendering
    assert "## VERDICT:" in result.stdout
    assert "SUCCEEDED" in result.stderr
    assert "contract: valid, verdict:" in result.stderr
    assert "usage:" in result.stderr
    assert "cost $" in result.stderr


def test_invoke_async_wait_json(agw: AgwRun) -> None:
    code, out, _ = agw(
        "invoke", REVIEWER, "x = 1", "--context", "language=python", "--async", "--wait", "--json"
    )
    assert code == 0
    invocation = json.loads(out)
    assert invocation["status"] == "SUCCEEDED"
    assert invocation["mode"] == "async"


def test_invoke_async_prints_the_id_then_get_and_list_find_it(agw: AgwRun) -> None:
    code, out, err = agw(
        "invoke", REVIEWER, "y = 2", "--context", "language=python", "--async",
        "--metadata", "ticket=E2E-1",
    )  # fmt: skip
    assert code == 0
    invocation_id = out.strip()
    assert invocation_id.startswith("inv_")
    assert f"agw invocations get {invocation_id}" in err
    code, out, _ = agw("invocations", "list", "--agent", REVIEWER, "--json", "--limit", "0")
    assert code == 0
    listed = [json.loads(line) for line in out.splitlines()]
    assert invocation_id in {item["id"] for item in listed}
    code, out, _ = agw("invocations", "get", invocation_id, "--json")
    assert code == 0
    assert json.loads(out)["metadata"] == {"ticket": "E2E-1"}


def test_idempotency_key_flag_replays(agw: AgwRun) -> None:
    args = ("invoke", REVIEWER, "z = 3", "--context", "language=python", "--json")
    code, first, _ = agw(*args, "--idempotency-key", "cli-idem-1")
    assert code == 0
    code, again, _ = agw(*args, "--idempotency-key", "cli-idem-1")
    assert code == 0
    assert json.loads(first)["id"] == json.loads(again)["id"]


def failing(agw: AgwRun, *argv: str) -> str:
    """``agw argv`` exits with status 1; its stderr."""
    code, _, err = agw(*argv)
    assert code == 1
    return str(err)


def test_api_errors_are_one_line_and_exit_1(agw: AgwRun) -> None:
    code, out, err = agw("invoke", "no-such-agent", "hi")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("agw: error: ")
    assert "(404)" in err
    assert "no-such-agent" in err
    err = failing(agw, "invoke", REVIEWER, "missing its context")
    assert "(422)" in err
    assert "language" in err
    err = failing(agw, "invocations", "get", "inv_00000000000000000000000000000000")
    assert "(404)" in err


def test_wrong_key_and_no_key(agw: AgwRun, monkeypatch: pytest.MonkeyPatch) -> None:
    err = failing(agw, "agents", "list", "--api-key", "not-a-key")
    assert "(401)" in err  # KEYS mode: the authorizer refuses a malformed key
    monkeypatch.delenv("AGW_API_KEY")
    err = failing(agw, "agents", "list")
    assert "no API key" in err
    assert "AGW_API_KEY" in err


def test_unreachable_endpoint_is_one_clear_line(agw: AgwRun) -> None:
    err = failing(agw, "agents", "list", "--endpoint", "http://127.0.0.1:9")
    assert "cannot reach http://127.0.0.1:9" in err
    assert "Traceback" not in err


def test_agents_list_and_show(agw: AgwRun) -> None:
    code, out, _ = agw("agents", "list", "--json")
    assert code == 0
    names = {agent["name"] for agent in json.loads(out)["items"]}
    assert {"backend-engineer-python", REVIEWER} <= names
    code, out, _ = agw("agents", "list")
    assert code == 0
    assert "backend-engineer-python" in out
    assert "claude-" in out
    code, out, _ = agw("agents", "show", REVIEWER)
    assert code == 0
    assert "context language (string, required)" in out
    assert "verdicts: PASS | FAIL | NEEDS_DISCUSSION" in out
    err = failing(agw, "agents", "show", "no-such-agent")
    assert "(404)" in err


def test_agents_lint_still_works(agw: AgwRun) -> None:
    code, _, err = agw("agents", "lint", str(Path(__file__).resolve().parents[1] / "definitions"))
    assert code == 0
    assert "0 errors" in err


def write_inputs(path: Path, count: int, tag: str) -> None:
    lines = [
        json.dumps({"input": f"def {tag}{n}(): return {n}", "context": {"language": "python"}})
        for n in range(count)
    ]
    lines.insert(2, "")  # blank lines are skipped
    path.write_text("\n".join(lines) + "\n")


def test_batch_writes_one_line_per_input_and_resumes(
    agw: AgwRun, dev_stack: RunningDevStack, tmp_path: Path
) -> None:
    inputs, out = tmp_path / "inputs.jsonl", tmp_path / "results.jsonl"
    write_inputs(inputs, 6, "resume")
    code, _, err = agw("batch", REVIEWER, str(inputs), "--out", str(out), "--poll-interval", "0.2")
    assert code == 0, err
    assert "succeeded 6" in err
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in results] == [1, 2, 4, 5, 6, 7]
    assert {r["status"] for r in results} == {"SUCCEEDED"}
    assert all(r["output"].startswith(OFFLINE_BANNER) for r in results)
    assert all(r["contract"]["valid"] for r in results)

    calls_before = dev_stack.fake("GET", "/_fake/stats")["calls"]
    code, _, err = agw("batch", REVIEWER, str(inputs), "--out", str(out))
    assert code == 0, err
    again = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["invocation_id"] for r in again] == [r["invocation_id"] for r in results]
    assert dev_stack.fake("GET", "/_fake/stats")["calls"] == calls_before  # nothing re-ran


def test_batch_file_errors_name_the_line(tmp_path: Path, agw: AgwRun) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "ok"}\n{"input": ""}\n')
    code, _, err = agw("batch", REVIEWER, str(bad), "--out", str(tmp_path / "o.jsonl"))
    assert code == 2
    assert f"{bad}:2:" in err
    bad.write_text('{"input": "ok", "colour": "red"}\n')
    with pytest.raises(ValueError, match="unknown field"):
        read_batch_file(bad)


def test_derived_keys_are_stable_and_line_specific() -> None:
    assert derived_key(1, '{"input": "a"}') == derived_key(1, '{ "input":"a" }')
    assert derived_key(1, '{"input": "a"}') != derived_key(2, '{"input": "a"}')
    assert derived_key(1, '{"input": "a"}') != derived_key(1, '{"input": "b"}')
    assert len(derived_key(10**6, '{"input": "a"}')) <= 255


def test_client_class_against_the_stack(dev_stack: RunningDevStack) -> None:
    with AgwClient(dev_stack.api_url, KEY_B) as client:
        assert client.health()["status"] == "ok"
        status, queued = client.invoke(
            REVIEWER, "q = 1", context={"language": "go"}, asynchronous=True
        )
        assert status == 202
        done = client.wait_invocation(queued["id"], timeout_s=30, interval_s=0.2)
        assert done["status"] == "SUCCEEDED"
        with pytest.raises(ApiError) as caught:
            client.get_agent("Not A Name!")
        assert caught.value.status == 400
        assert caught.value.type == "/problems/invalid-agent-name"
    with AgwClient(dev_stack.api_url, KEY_A) as other, pytest.raises(ApiError) as hidden:
        other.get_invocation(queued["id"])
    assert hidden.value.status == 404


def test_endpoint_and_key_resolution() -> None:
    assert resolve_endpoint(None, {}) == "http://127.0.0.1:3000"
    assert resolve_endpoint(None, {"AGW_ENDPOINT": "https://x.example/v1/"}) == (
        "https://x.example/v1"
    )
    assert resolve_endpoint("http://h:1", {"AGW_ENDPOINT": "https://x"}) == "http://h:1"
    assert resolve_api_key(None, {"AGW_API_KEY": "k"}) == "k"
    assert resolve_api_key("flag", {"AGW_API_KEY": "k"}) == "flag"
    with pytest.raises(ClientError, match="AGW_API_KEY"):
        resolve_api_key(None, {})
