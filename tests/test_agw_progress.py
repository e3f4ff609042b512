"""``agw invoke``'s Prefer: wait / 202 follow-up and ``agw invocations actions|approve``
(issue 15), against an in-process fake of the API (httpx.MockTransport: the real client,
its real requests; only the server is scripted). The same commands against ``agw dev``
are in tests/test_cli_resumable.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agw import client_cli, progress
from agw.approvals_cmd import decisions_for
from agw.cli import main
from agw.client import AgwClient, ClientError

INV = "inv_0123456789abcdef"
PENDING = [
    {"id": "toolu_a", "tool": "Bash", "input": {"command": "rm -rf build"}},
    {"id": "toolu_b", "tool": "Write", "input": {"path": "x.py", "content": "x = 1\n"}},
]


class FakeApi:
    """Answers POST /agents/*/invocations with ``first``, then GET /invocations/ID with each
    of ``views`` in turn (the last one repeats); records every request."""

    def __init__(self, first: tuple[int, dict[str, Any]], views: list[dict[str, Any]]) -> None:
        self.first = first
        self.views = views
        self.requests: list[httpx.Request] = []
        self.decided: dict[str, Any] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path.endswith("/invocations"):
            status, body = self.first
            headers = {"Location": f"/invocations/{INV}"} if status == 202 else {}
            return httpx.Response(status, json=body, headers=headers)
        if request.method == "POST" and path == f"/invocations/{INV}/actions":
            self.decided = json.loads(request.content)
            return httpx.Response(200, json={"id": INV, "status": "QUEUED", "segments": 1})
        if request.method == "GET" and path == f"/invocations/{INV}":
            view = self.views.pop(0) if len(self.views) > 1 else self.views[0]
            return httpx.Response(200, json=view)
        return httpx.Response(404, json={"title": "Not Found", "status": 404})


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    monkeypatch.setattr(progress, "FIRST_INTERVAL_S", 0.001)
    monkeypatch.setattr(progress, "MAX_INTERVAL_S", 0.004)

    def invoke(api: FakeApi, *argv: str) -> tuple[int, str, str]:
        def client(args: Any) -> AgwClient:
            return AgwClient("http://api.test", "agw_k_s", transport=httpx.MockTransport(api))

        monkeypatch.setattr(client_cli, "client_from_args", client)
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def view(status: str, segments: int, turn: int | None, **extra: Any) -> dict[str, Any]:
    return {"id": INV, "status": status, "segments": segments, "checkpoint_turn": turn, **extra}


def test_a_sync_invoke_that_falls_back_to_202_is_followed_to_its_end(run: Any) -> None:
    api = FakeApi(
        (202, view("RUNNING", 1, 2)),
        [
            view("RUNNING", 1, 2),
            view("RUNNING", 1, 2),  # no change: no new line
            view("QUEUED", 1, 3),
            view("RUNNING", 2, 3),
            view("SUCCEEDED", 2, 5, output="done\n", agent="a"),
        ],
    )
    code, out, err = run(api, "invoke", "a", "go", "--prefer-wait", "2")
    assert code == 0, err
    assert out == "done\n"
    assert api.requests[0].headers["Prefer"] == "wait=2"
    assert "goes on on the queue" in err
    progress = [line for line in err.splitlines() if "  segment " in line]
    assert progress == [
        f"{INV} RUNNING  segment 1  checkpoint turn 2",
        f"{INV} QUEUED  segment 1  checkpoint turn 3",
        f"{INV} RUNNING  segment 2  checkpoint turn 3",
        f"{INV} SUCCEEDED  segment 2  checkpoint turn 5",
    ]


def test_a_sync_invoke_sends_the_default_wait_and_async_never_does(run: Any) -> None:
    done = view("SUCCEEDED", 1, None, output="ok")
    api = FakeApi((200, done), [done])
    assert run(api, "invoke", "a", "go")[0] == 0
    assert api.requests[0].headers["Prefer"] == "wait=25"
    api = FakeApi((202, view("QUEUED", 0, None)), [done])
    code, out, _ = run(api, "invoke", "a", "go", "--async")
    assert (code, out.strip()) == (0, INV)
    assert api.requests[0].headers["Prefer"] == "respond-async"


def test_a_run_waiting_for_approval_prints_its_actions_and_the_command(run: Any) -> None:
    waiting = view("WAITING", 1, 1, pending_actions=PENDING)
    api = FakeApi((202, view("RUNNING", 1, 0)), [waiting])
    code, _, err = run(api, "invoke", "a", "go", "--require-approval", "Bash")
    assert code == progress.EXIT_WAITING == 3
    assert json.loads(api.requests[0].content)["require_approval"] == ["Bash"]
    assert "waiting for approval: 2 pending action(s)" in err
    assert '  toolu_a  Bash  {"command": "rm -rf build"}' in err
    assert f"approve all: agw invocations approve {INV}" in err
    assert f"agw invocations approve {INV} --deny toolu_a --message" in err


def test_async_wait_stops_at_waiting_too(run: Any) -> None:
    api = FakeApi((202, view("QUEUED", 0, None)), [view("WAITING", 1, 1, pending_actions=PENDING)])
    code, out, _ = run(api, "invoke", "a", "go", "--async", "--wait", "--json")
    assert code == 3
    assert json.loads(out)["pending_actions"] == PENDING


def test_approve_approves_all_but_the_denied_under_an_idempotency_key(run: Any) -> None:
    api = FakeApi((200, {}), [view("WAITING", 1, 1, pending_actions=PENDING)])
    code, out, err = run(
        api, "invocations", "approve", INV, "--deny", "toolu_a", "--message", "not here"
    )
    assert code == 0, err
    assert api.decided == {
        "decisions": [
            {"id": "toolu_a", "decision": "deny", "message": "not here"},
            {"id": "toolu_b", "decision": "approve"},
        ]
    }
    post = api.requests[-1]
    assert post.headers["Idempotency-Key"].startswith("agw-approve-")
    assert f"{INV} QUEUED: 1 approved, 1 denied" in out


def test_approve_refuses_unknown_ids_and_runs_that_do_not_wait(run: Any) -> None:
    api = FakeApi((200, {}), [view("WAITING", 1, 1, pending_actions=PENDING)])
    code, _, err = run(api, "invocations", "approve", INV, "--deny", "toolu_zz")
    assert code == 2
    assert "--deny toolu_zz: not a pending action (pending: toolu_a, toolu_b)" in err
    assert api.decided is None
    api = FakeApi((200, {}), [view("SUCCEEDED", 1, 3)])
    code, _, err = run(api, "invocations", "approve", INV)
    assert code == 1
    assert "is SUCCEEDED, not WAITING" in err
    assert api.decided is None


def test_actions_lists_the_pending_calls(run: Any) -> None:
    api = FakeApi((200, {}), [view("WAITING", 1, 1, pending_actions=PENDING)])
    code, out, _ = run(api, "invocations", "actions", INV)
    assert code == 0
    assert "toolu_b  Write" in out
    code, out, _ = run(api, "invocations", "actions", INV, "--json")
    assert json.loads(out) == PENDING
    api = FakeApi((200, {}), [view("RUNNING", 1, 1)])
    assert "RUNNING: no pending actions" in run(api, "invocations", "actions", INV)[1]


def test_decisions_for_rules() -> None:
    assert decisions_for(PENDING, [], None) == [
        {"id": "toolu_a", "decision": "approve"},
        {"id": "toolu_b", "decision": "approve"},
    ]
    with pytest.raises(ValueError, match="--message is the reason"):
        decisions_for(PENDING, [], "why")


def test_follow_gives_up_after_its_timeout_and_backs_off() -> None:
    api = FakeApi((200, {}), [view("RUNNING", 1, 1)])
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    client = AgwClient("http://api.test", "k", transport=httpx.MockTransport(api))
    with pytest.raises(ClientError, match="still RUNNING after 20 s"):
        progress.poll_progress(client, INV, timeout_s=20, sleep=sleep, clock=lambda: now[0])
    assert slept[:5] == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert sum(slept) == pytest.approx(20)
