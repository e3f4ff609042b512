"""``agw invoke --follow`` and ``agw invocations follow`` against ``agw dev`` (HTTP only):
one line per turn and tool call, the usual summary, and a dropped connection resumed from
the last seq with every event shown exactly once."""

from __future__ import annotations

import io

import httpx
import pytest

from agw.client import AgwClient
from agw.follow import follow_invocation
from local.dev_info import TOOL_DEMO_FILES, TOOL_DEMO_INPUT
from tests.plugins.dev_stack import KEY_A, KEY_B, AgwRun, RunningDevStack

pytestmark = pytest.mark.integration


class DropsOneEventsRead(httpx.BaseTransport):
    """HTTP to the stack, except that the second events read loses its connection."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.events_reads = 0
        self.afters: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            self.events_reads += 1
            self.afters.append(request.url.params.get("after", ""))
            if self.events_reads == 2:
                raise httpx.ReadError("connection reset by peer", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.usefixtures("tool_demo_folder")
def test_invoke_follow_shows_turns_and_tools_then_the_summary(
    agw: AgwRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = agw(
        "invoke", "python-fixer", TOOL_DEMO_INPUT, "--files", *TOOL_DEMO_FILES, "--follow"
    )
    assert code == 0, err
    assert "status RUNNING (attempt 1)" in err
    assert "turn 1 done: tool_use" in err
    assert "  Read /workspace/stats.py  ok (" in err, err
    assert "  Edit /workspace/stats.py  ok (" in err, err
    assert "so far" in err.split("turn 1 done")[1].splitlines()[0]  # tokens and cost so far
    assert "status SUCCEEDED" in err
    assert err.index("status SUCCEEDED") < err.index("contract: valid")  # then the summary
    assert out.strip()  # piped: the output once, at the end (not streamed)
    invocation_id = err.split("invocation ")[1].split()[0]
    # the same run, followed again from the start: the same lines, JSON at the end
    code, again_out, again_err = agw("invocations", "follow", invocation_id, "--json")
    assert code == 0
    assert '"status": "SUCCEEDED"' in again_out
    assert "  Read /workspace/stats.py  ok (" in again_err
    # another tenant: 404, one line
    monkeypatch.setenv("AGW_API_KEY", KEY_B)
    code, _, denied = agw("invocations", "follow", invocation_id)
    assert code == 1
    assert denied.startswith("agw: error:"), denied
    assert "404" in denied or "not found" in denied.lower(), denied


def test_a_dropped_connection_resumes_from_the_last_seq(dev_stack: RunningDevStack) -> None:
    transport = DropsOneEventsRead()
    with AgwClient(dev_stack.api_url, KEY_A, transport=transport) as client:
        _, queued = client.invoke(
            "python-fixer", TOOL_DEMO_INPUT, files=dict(TOOL_DEMO_FILES), asynchronous=True
        )
        out, err = io.StringIO(), io.StringIO()
        slept: list[float] = []
        followed = follow_invocation(
            client,
            str(queued["id"]),
            wait_s=2,
            stream_text=True,
            out=out,
            err=err,
            sleep=slept.append,
        )
        everything = client.events(str(queued["id"]), limit=500)["events"]
    seqs = [event["seq"] for event in followed.events]
    assert seqs == [event["seq"] for event in everything]  # every event, exactly once
    assert seqs == list(range(1, len(seqs) + 1))
    assert followed.reconnects == 1
    assert slept  # it backed off before resuming
    assert transport.afters[2] == transport.afters[1]  # resumed from the last seq it saw
    assert "connection lost" in err.getvalue()
    assert followed.streamed_text
    texts = "".join(e["data"]["text"] for e in everything if e["type"] == "text")
    assert out.getvalue().replace("\n", "") == texts.replace("\n", "")
    assert followed.invocation["status"] == "SUCCEEDED"
    _sse_over_http_sees_every_event_once(dev_stack, str(queued["id"]), seqs)


def _sse_over_http_sees_every_event_once(
    dev_stack: RunningDevStack, invocation_id: str, expected: list[int]
) -> None:
    """A plain SSE client over HTTP (the local API Gateway shim): pages of 7, each ended by
    the buffered response, then a reconnect with ``Last-Event-ID`` (the URL unchanged)."""
    seen: list[int] = []
    last: str | None = None
    with dev_stack.client() as http:
        for _ in range(len(expected)):
            headers = {"Accept": "text/event-stream"} | ({"Last-Event-ID": last} if last else {})
            answer = http.get(
                f"/invocations/{invocation_id}/events", params={"limit": 7}, headers=headers
            )
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            ids = [line[4:] for line in answer.text.splitlines() if line.startswith("id: ")]
            seen += [int(i) for i in ids]
            if ": end of log" in answer.text:
                break
            last = ids[-1]
    assert seen == expected
