"""Reliability scenarios 12 and 13: economy batches under faults, and a submitter killed
(``kill -9``) after the fake recorded its Message Batch but before it heard back.

``python -m bench.reliability.economy_scenarios submit`` is that submitter: one pass in a
process of its own, against the environment it inherits. docs/batches.md ("Exactly once").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

from bench.reliability.harness import KEY_A, REPO, Harness, reset_singletons, wait_until
from bench.reliability.outcome import Outcome

if TYPE_CHECKING:
    from agents.records import InvocationRecord

__all__ = [
    "ECONOMY_AGENT",
    "FakeBatches",
    "billed_once",
    "economy_crash",
    "economy_faults",
    "kill_submitter_in_create",
    "run_until_terminal",
]

#: A shipped agent without tools (economy runs are one model call).
ECONOMY_AGENT: Final = "code-reviewer-fast"
#: How long the fake holds the create answer: far longer than the kill takes.
HOLD_S: Final = 30.0


class FakeBatches:
    """The fake's Message Batches over HTTP: its control, and which batch holds each id."""

    def __init__(self, url: str, api_key: str = "sk-ant-fake") -> None:
        self.url = url
        self.api_key = api_key

    def _get(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers={"x-api-key": self.api_key})
        with urllib.request.urlopen(request, timeout=10) as response:
            body: bytes = response.read()
            return body

    def configure(self, **config: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + "/_fake/batches",
            data=json.dumps(config).encode(),
            method="POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            stats: dict[str, Any] = json.loads(response.read())
            return stats

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = json.loads(self._get("/_fake/batches"))
        return stats

    def results(self) -> dict[str, list[dict[str, Any]]]:
        """Every ended batch's result lines by custom id (one entry per batch holding it)."""
        listed = json.loads(self._get("/v1/messages/batches?limit=1000"))["data"]
        found: dict[str, list[dict[str, Any]]] = {}
        for batch in listed:
            if batch["processing_status"] != "ended":
                continue
            lines = self._get(f"/v1/messages/batches/{batch['id']}/results").splitlines()
            for line in lines:
                result = json.loads(line)
                found.setdefault(result["custom_id"], []).append(result["result"])
        return found


@dataclass(frozen=True)
class KilledSubmitter:
    #: The child was still in its create call when it got SIGKILL.
    killed_in_create: bool
    returncode: int | None
    creations_before_kill: int
    stderr: str


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    path = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    return {**env, "PYTHONPATH": path.rstrip(os.pathsep)}


def kill_submitter_in_create(
    env: Mapping[str, str], batches: FakeBatches, *, timeout_s: float = 60.0
) -> KilledSubmitter:
    """Start the submitter in a child process, ``kill -9`` it once the fake has recorded its
    batch (the fake holds the answer: ``create_delay_s``), and reap it."""
    before = int(batches.stats()["creations"])
    batches.configure(create_delay_s=HOLD_S)
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.reliability.economy_scenarios", "submit"],
        env=child_environment(env),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: batches.stats()["creations"] > before or child.poll() is not None,
            timeout_s=timeout_s,
            interval_s=0.05,
        )
        in_create = child.poll() is None
        creations = int(batches.stats()["creations"]) - before
        child.send_signal(signal.SIGKILL)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        batches.configure(create_delay_s=0)
    return KilledSubmitter(
        killed_in_create=in_create and child.returncode == -signal.SIGKILL,
        returncode=child.returncode,
        creations_before_kill=creations,
        stderr=stderr.decode(errors="replace")[-2000:],
    )


def run_until_terminal(
    ids: list[str], *, passes: int = 20, before_pass: Callable[[], None] | None = None
) -> list[InvocationRecord]:
    """Economy passes (collect, then submit) in this process until every item is terminal."""
    from agents.economy.economy_pass import economy_pass
    from agents.store import get_store

    store = get_store()
    found = [store.get(i, hydrate=False) for i in ids]
    for _ in range(passes):
        if all(r.status.terminal for r in found):
            break
        if before_pass is not None:
            before_pass()
        economy_pass()
        found = [store.get(i, hydrate=False) for i in ids]
    return found


def billed_once(record: InvocationRecord, results: list[dict[str, Any]]) -> bool:
    """The record's usage and cost are one succeeded result's, at the batch price."""
    from agents.pricing import estimate_cost

    succeeded = [r for r in results if r["type"] == "succeeded"]
    if len(succeeded) != 1 or record.model is None or record.cost_usd is None:
        return False
    usage = succeeded[0]["message"]["usage"]
    half = estimate_cost(record.model, record.usage) / 2
    return (
        record.usage.input_tokens == usage["input_tokens"]
        and record.usage.output_tokens == usage["output_tokens"]
        and abs(record.cost_usd - half) <= 1e-9 + 1e-6 * half
    )


def submit_economy_items(
    tenant: str, count: int, *, key: str = "k", agent: str = ECONOMY_AGENT, **fields: Any
) -> list[str]:
    """Submit ``count`` economy items for ``tenant`` (inputs unique per ``key``); their ids."""
    from agents.api_models import BatchItem, BatchRequest
    from agents.records import Processing
    from agents.service import GatewayService

    request = BatchRequest(
        agent=agent,
        items=[
            BatchItem(
                input=f"{key} item {n}\ndef add(a, b):\n    return a - b\n",
                context={"language": "python"},
            )
            for n in range(count)
        ],
        processing=Processing.ECONOMY,
        **fields,
    )
    submitted = GatewayService().submit_batch(tenant, request)
    assert submitted.items is not None
    return [item.invocation_id for item in submitted.items]


def _submit_items(h: Harness, count: int, key: str) -> list[str]:
    return submit_economy_items(h.tenant(KEY_A), count, key=key)


#: The collector reconciles a ``submitting`` tracking item at once (template: 120 s).
RECONCILE_NOW: Final = {"ECONOMY_RECONCILE_AFTER_SECONDS": "0"}


def _prepare(h: Harness) -> tuple[FakeBatches, str, dict[str, str]]:
    h.clean()
    reset_singletons()
    env = {**os.environ, **h.environment, **RECONCILE_NOW}
    batches = FakeBatches(h.fake.url)
    batches.configure(reset=True, processing_delay_s=0)
    economy_queue = env["ECONOMY_QUEUE_URL"]
    h.drain(economy_queue)
    return batches, economy_queue, env


def _handed_off(h: Harness, economy_queue: str, count: int) -> bool:
    return h.quiesce(timeout_s=60) and wait_until(
        lambda: h.queue_depth(economy_queue) >= count, timeout_s=60
    )


def economy_faults(h: Harness, *, items: int = 200) -> Outcome:
    """20 % errored, 5 % expired: every item terminal, FAILED = DLQ, nothing billed twice."""
    with h.environment_overrides(RECONCILE_NOW):
        try:
            return _economy_faults(h, items)
        finally:
            reset_singletons()


def economy_crash(h: Harness, *, items: int = 50) -> Outcome:
    """``kill -9`` of the submitter in its create call, then a restart: each id once."""
    with h.environment_overrides(RECONCILE_NOW):
        try:
            return _economy_crash(h, items)
        finally:
            reset_singletons()


def _economy_faults(h: Harness, items: int) -> Outcome:
    out = Outcome("economy-faults", "12. Economy faults")
    batches, economy_queue, _ = _prepare(h)
    batches.configure(errored_rate=0.2, expired_rate=0.05)
    ids = _submit_items(h, items, f"faults-{uuid.uuid4().hex[:8]}")
    handed = _handed_off(h, economy_queue, items)
    done = run_until_terminal(ids, passes=30)
    results = batches.results()
    dead = [json.loads(b)["invocation_id"] for b in h.drain(h.dlq_url)]
    status = Counter(r.status.value for r in done)
    stats = batches.stats()
    succeeded = [r for r in done if r.status.value == "SUCCEEDED"]
    out.figures = {
        "items": items,
        "errored_rate": 0.2,
        "expired_rate": 0.05,
        "batches": stats["creations"],
        "SUCCEEDED": status["SUCCEEDED"],
        "FAILED": status["FAILED"],
        "not_terminal": sum(1 for r in done if not r.status.terminal),
        "dlq_messages": len(dead),
        "dlq_duplicates": len(dead) - len(set(dead)),
        "max_submissions_per_custom_id": stats["max_submissions_per_custom_id"],
        "billed_once": sum(1 for r in succeeded if billed_once(r, results.get(r.id, []))),
    }
    out.check("handed off", handed)
    out.check("every item terminal", out["not_terminal"] == 0)
    out.check("faults drawn", out["FAILED"] > 0 and stats["items"].get("errored", 0) > 0)
    failed = sorted(r.id for r in done if r.status.value == "FAILED")
    out.check("FAILED = DLQ", sorted(dead) == failed)
    out.check("no item billed twice", out["billed_once"] == out["SUCCEEDED"])
    out.check("succeeded results = SUCCEEDED", stats["items"].get("succeeded", 0) == len(succeeded))
    batches.configure(reset=True)
    return out.done()


def _economy_crash(h: Harness, items: int) -> Outcome:
    out = Outcome("economy-crash", "13. Economy crash (kill -9)")
    batches, economy_queue, env = _prepare(h)
    ids = _submit_items(h, items, f"crash-{uuid.uuid4().hex[:8]}")
    handed = _handed_off(h, economy_queue, items)
    killed = kill_submitter_in_create(env, batches)
    done = run_until_terminal(ids, passes=10)
    results = batches.results()
    dead = h.drain(h.dlq_url)
    stats = batches.stats()
    out.figures = {
        "items": items,
        "killed_in_create": int(killed.killed_in_create),
        "batches": stats["creations"],
        "creates_unanswered": stats["creates_unanswered"],
        "in_exactly_one_batch": sum(1 for i in ids if len(results.get(i, [])) == 1),
        "SUCCEEDED": sum(1 for r in done if r.status.value == "SUCCEEDED"),
        "billed_once": sum(1 for r in done if billed_once(r, results.get(r.id, []))),
        "dlq_messages": len(dead),
    }
    if not killed.killed_in_create:
        out.notes.append(f"child rc {killed.returncode}: {killed.stderr}")
    out.check("handed off", handed)
    out.check("killed in the create call", killed.killed_in_create)
    out.check("one batch", stats["creations"] == 1 and killed.creations_before_kill == 1)
    out.check("each custom_id in exactly one batch", out["in_exactly_one_batch"] == items)
    out.check("every item SUCCEEDED", out["SUCCEEDED"] == items)
    out.check("no item billed twice", out["billed_once"] == items)
    out.check("DLQ empty", not dead)
    return out.done()


def _submit_once() -> int:
    """One submitter pass against the inherited environment; its report on stdout."""
    from agents.economy.deps import EconomyDeps
    from agents.economy.submitter import Submitter

    report = Submitter(EconomyDeps.from_container()).run_once()
    print(json.dumps(asdict(report)), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["submit"]:
        sys.exit("usage: python -m bench.reliability.economy_scenarios submit")
    sys.exit(_submit_once())
