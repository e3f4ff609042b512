"""Reliability scenarios 18-19 (issue 15): human approval end to end, and the sweeper.

* **18. Approval:** python-fixer's scripted run with ``require_approval: ["Edit"]`` stops
  ``WAITING`` at its Edit; another tenant's decision is a 404; ``agw invocations approve``
  resumes it to SUCCEEDED with the file changed, and a second decision is a 409
  ``not-waiting``. A second run denied with ``--deny ... --message`` gives the model an
  ``is_error`` tool result carrying the message, and ends SUCCEEDED with nothing changed.
* **19. Sweeper:** the API function runs in a child process
  (:mod:`bench.reliability.resume_children`); a synchronous run without an Idempotency-Key
  is killed (``kill -9``) in the middle of its model call. (a) a single-call run, no
  checkpoint: the sweeper marks it FAILED ``abandoned``, with exactly one DLQ message;
  (b) a tool run killed in turn 3: the sweeper resumes it from its checkpoint and the
  worker finishes it. Both within two sweeper periods of the record being due.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.reliability.harness import AGENT as SINGLE_CALL_AGENT
from bench.reliability.harness import KEY_A, KEY_B, Harness, wait_until
from bench.reliability.outcome import Outcome
from bench.reliability.resume_scenarios import (
    AGENT,
    TERMINAL,
    child_env,
    queue_script,
    record_item,
    submit,
    tool_run_body,
    wait_status,
)
from bench.tool_loop import script
from local.ready_child import ready_child

__all__ = ["approval", "sweeper", "sweeper_thread"]

EDIT_ID = "toolu_bench005"  # bench.tool_loop.script(6): turn 5 is the Edit
DENY_MESSAGE = "no edits to stats.py today"


def _agw(h: Harness, *argv: str, key: str = KEY_A) -> int:
    from agw.cli import main

    return main([*argv, "--endpoint", h.api_url, "--api-key", key])


def _decide(h: Harness, invocation_id: str, key: str, decision: str) -> int:
    body = {"decisions": [{"id": EDIT_ID, "decision": decision}]}
    with h.client(key) as client:
        answer = client.post(
            f"/invocations/{invocation_id}/actions",
            json=body,
            headers={"Idempotency-Key": f"rel-{uuid.uuid4().hex}"},
        )
    return answer.status_code


def _denied_result_seen(h: Harness) -> bool:
    """The model was given the denied Edit back as an is_error tool result with the message."""
    for entry in h.fake.requests.recent(50):
        for message in (entry.get("body") or {}).get("messages") or []:
            content = message.get("content")
            if message.get("role") != "user" or not isinstance(content, list):
                continue
            for block in content:
                if (
                    isinstance(block, dict)
                    and block.get("type") == "tool_result"
                    and block.get("tool_use_id") == EDIT_ID
                    and block.get("is_error")
                    and DENY_MESSAGE in str(block.get("content"))
                ):
                    return True
    return False


def _waiting_run(h: Harness) -> tuple[str, dict[str, Any]]:
    h.reset_model()
    queue_script(h, script(6))
    body = tool_run_body(f"approve-{uuid.uuid4().hex[:8]}", require_approval=["Edit"])
    invocation_id = str(submit(h, body, Prefer="respond-async").json()["id"])
    return invocation_id, wait_status(h, invocation_id, {"WAITING", *TERMINAL}, timeout_s=60)


def approval(h: Harness) -> Outcome:
    out = Outcome("approval", "18. Approval (approve, deny)")
    h.clean()
    approved_id, waiting = _waiting_run(h)
    pending = waiting.get("pending_actions") or []
    wrong_tenant = _decide(h, approved_id, KEY_B, "approve")
    approve_rc = _agw(h, "invocations", "approve", approved_id)
    approved = wait_status(h, approved_id, TERMINAL, timeout_s=60)
    again = _decide(h, approved_id, KEY_A, "approve")
    denied_id, denied_waiting = _waiting_run(h)
    deny_rc = _agw(
        h, "invocations", "approve", denied_id, "--deny", EDIT_ID, "--message", DENY_MESSAGE
    )
    denied = wait_status(h, denied_id, TERMINAL, timeout_s=60)
    dead = h.drain(h.dlq_url)
    out.figures = {
        "waiting": sum(1 for v in (waiting, denied_waiting) if v.get("status") == "WAITING"),
        "pending": [a.get("tool") for a in pending],
        "wrong_tenant": wrong_tenant,
        "approved": approved.get("status"),
        "approved_files": [f.get("path") for f in approved.get("files_changed") or []],
        "second_decision": again,
        "denied": denied.get("status"),
        "denied_files": [f.get("path") for f in denied.get("files_changed") or []],
        "dlq_messages": len(dead),
    }
    out.check("WAITING at the Edit", out["waiting"] == 2 and out["pending"] == ["Edit"])
    out.check("another tenant: 404", wrong_tenant == 404)
    out.check("approve (agw) -> SUCCEEDED, file changed", approve_rc == 0 and out["approved"]
              == "SUCCEEDED" and out["approved_files"] == ["stats.py"])  # fmt: skip
    out.check("a second decision: 409", again == 409)
    out.check("deny (agw) -> SUCCEEDED, nothing changed", deny_rc == 0 and out["denied"]
              == "SUCCEEDED" and not out["denied_files"])  # fmt: skip
    out.check("the deny reached the model as a tool error", _denied_result_seen(h))
    out.check("DLQ empty", not dead)
    return out.done()


# ------------------------------------------------------------------ 19. sweeper


@contextmanager
def api_child(h: Harness) -> Iterator[str]:
    """The API function (behind the shim) in a child process; yields its URL, kills it after."""
    info = h.require_info()
    env = child_env(
        h,
        AGW_REL_AWS_URL=info.aws_url,
        AGW_REL_STACK=info.stack_name,
        AGW_REL_REGION=info.region,
        AGW_REL_API_KEY=KEY_A,
    )
    with ready_child(
        [sys.executable, "-m", "bench.reliability.resume_children", "api"],
        what="the API child",
        env=env,
        stop_signal=signal.SIGKILL,
    ) as url:
        yield url


def _kill_mid_call(h: Harness, body: dict[str, Any], agent: str, calls_before_kill: int) -> str:
    """POST ``body`` synchronously to an API child; ``kill -9`` it while the model answers
    call ``calls_before_kill``; the invocation id (found by its metadata tag)."""
    import httpx

    tag = body["metadata"]["run"]
    with api_child(h) as url:

        def post() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the function dies under it
                httpx.post(
                    f"{url}/agents/{agent}/invocations",
                    json=body,
                    headers={"x-api-key": KEY_A},
                    timeout=120,
                )

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        if not wait_until(lambda: h.model_calls() >= calls_before_kill, timeout_s=60):
            raise RuntimeError("the run never reached its model call")
        time.sleep(0.3)  # the call is in flight
    thread.join(timeout=10)
    (record,) = [r for r in h.invocations() if (r.get("metadata") or {}).get("run") == tag]
    return str(record["id"])


def sweeper_thread(h: Harness, period_s: float) -> Any:
    """The template's SweeperFunction on a schedule of ``period_s`` (start and stop it)."""
    from local.runtime import load_handler
    from local.schedules import ScheduleThread

    function = h.template.function("SweeperFunction")
    return ScheduleThread(load_handler(function), period_s, name="sweeper", function=function)


def _due_at(h: Harness, invocation_id: str) -> float:
    item = record_item(h, invocation_id)
    return float(item.get("sweep_at") or item.get("lease_expires_at") or time.time())


def _swept(h: Harness, invocation_id: str, due: float) -> bool:
    """The sweeper acted: the record left the index entry it had (resent, resumed, done)."""
    item = record_item(h, invocation_id)
    moved = abs(float(item.get("sweep_at") or 0) - due) > 1e-3  # DynamoDB numbers: Decimal
    return moved or item.get("status") != "RUNNING"


def sweeper(h: Harness, *, period_s: float = 2.0) -> Outcome:
    out = Outcome("sweeper", "19. Sweeper (killed sync runs)")
    h.clean()
    sweeps = sweeper_thread(h, period_s)
    sweeps.start()
    try:
        # (a) no checkpoint: a single model call killed in flight
        h.fault(latency_s=60, count=1)
        body = {
            "input": "A run that dies mid-call.",
            "metadata": {"run": f"sw-{uuid.uuid4().hex[:8]}"},
        }
        abandoned_id = _kill_mid_call(h, body, SINGLE_CALL_AGENT, 1)
        due = _due_at(h, abandoned_id)
        abandoned = wait_status(
            h, abandoned_id, TERMINAL, timeout_s=due - time.time() + 6 * period_s + 30
        )
        abandoned_after_s = time.time() - due
        time.sleep(2 * period_s)  # more sweeps: still one DLQ message
        dead = [m for m in h.drain(h.dlq_url) if abandoned_id in m]
        # (b) a checkpoint: a tool run killed in turn 3's model call
        h.reset_model()
        responses = script(6)
        queue_script(h, responses)
        h.fault(latency_s=60, count=1, skip=2)
        body = tool_run_body(f"sw-{uuid.uuid4().hex[:8]}")
        resumed_id = _kill_mid_call(h, body, AGENT, 3)
        h.fake.faults.clear()
        checkpoint = int(record_item(h, resumed_id).get("checkpoint_turn") or 0)
        queue_script(h, responses[checkpoint:])
        due = _due_at(h, resumed_id)
        wait_until(
            lambda: _swept(h, resumed_id, due), timeout_s=due - time.time() + 6 * period_s + 30
        )
        resumed_after_s = time.time() - due
        resumed = wait_status(h, resumed_id, TERMINAL, timeout_s=60)
        resumed_dead = [m for m in h.drain(h.dlq_url) if resumed_id in m]
    finally:
        sweeps.stop()
    error = abandoned.get("error") or {}
    out.figures = {
        "abandoned": f"{abandoned.get('status')} {error.get('type')}",
        "abandoned_after_due_s": round(abandoned_after_s, 1),
        "abandoned_dlq_messages": len(dead),
        "resumed": resumed.get("status"),
        "resumed_from_turn": checkpoint,
        "resumed_after_due_s": round(resumed_after_s, 1),
        "resumed_segments": resumed.get("segments"),
        "resumed_dlq_messages": len(resumed_dead),
        "sweeps": sweeps.passes,
    }
    out.check("killed sync run FAILED abandoned", out["abandoned"] == "FAILED abandoned")
    out.check("within two sweeper periods", abandoned_after_s <= 2 * period_s)
    out.check("exactly one DLQ message", len(dead) == 1)
    out.check("checkpointed run resumed to SUCCEEDED", resumed.get("status") == "SUCCEEDED")
    out.check("resumed from its checkpoint", checkpoint >= 2)
    out.check("resumed within two sweeper periods", resumed_after_s <= 2 * period_s)
    out.check("no DLQ message for the resumed run", not resumed_dead)
    return out.done()
