"""Webhook scenarios (issue 16): a receiver that is down for a while, model faults, and the
webhook queue refusing sends (events held on their records until the sweeper sends them).

Both run on a harness of their own with the WebhookFunction's poller on (``agw dev``'s
local webhook settings: ``http://127.0.0.1`` allowed, retries after 1, 2, 3, 5, 8, 11 s).
The receiver is a real HTTP server on 127.0.0.1 that verifies every request with
``standardwebhooks`` and the tenant's secret from ``.agw/dev.json``'s ``webhook_secrets``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.reliability.harness import AGENT, KEY_A, Harness, wait_until
from bench.reliability.outcome import Outcome

__all__ = ["webhook_faults", "webhook_outage", "webhook_queue_outage"]

TERMINAL_EVENTS = frozenset({"invocation.succeeded", "invocation.failed", "invocation.cancelled"})


class VerifyingReceiver:
    """Records ``(webhook-id, type, invocation_id, verified)`` per request; can go down."""

    def __init__(self, secret: str) -> None:
        from standardwebhooks import Webhook

        self.verifier = Webhook(secret)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, str, bool]] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self.up()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                try:
                    payload = receiver.verifier.verify(body, dict(self.headers))
                    verified = True
                except Exception:
                    payload, verified = json.loads(body), False
                data = payload.get("data", {})
                with receiver.lock:
                    receiver.requests.append(
                        (
                            self.headers.get("webhook-id", ""),
                            str(payload.get("type")),
                            str(data.get("invocation_id")),
                            verified,
                        )
                    )
                self.send_response(204 if verified else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        return Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def down(self) -> None:
        """Stop listening (connections are refused until :meth:`up`)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def snapshot(self) -> list[tuple[str, str, str, bool]]:
        with self.lock:
            return list(self.requests)


def _invoke_async(h: Harness, run: str, count: int, url: str) -> list[str]:
    ids: list[str] = []
    with h.client(KEY_A, headers={"Prefer": "respond-async"}) as client:
        for n in range(count):
            response = client.post(
                f"/agents/{AGENT}/invocations",
                json={
                    "input": f"{run} job {n}: add input validation to /orders.",
                    "metadata": {"run": run},
                    "webhook": {"url": url},
                },
            )
            response.raise_for_status()
            ids.append(str(response.json()["id"]))
    return ids


def _per_invocation(
    requests: list[tuple[str, str, str, bool]], ids: list[str]
) -> dict[str, dict[str, set[str]]]:
    """invocation id -> event type -> webhook ids seen (only terminal events)."""
    seen: dict[str, dict[str, set[str]]] = {i: defaultdict(set) for i in ids}
    for webhook_id, event, invocation_id, _ in requests:
        if invocation_id in seen and event in TERMINAL_EVENTS:
            seen[invocation_id][event].add(webhook_id)
    return seen


def _harness() -> Harness:
    return Harness(webhooks=True, env={"POWERTOOLS_LOG_LEVEL": "WARNING"})


def webhook_outage(*, invocations: int = 40, down_s: float = 12.0) -> Outcome:
    """The receiver refuses connections for ``down_s`` s, then comes back: nothing is lost."""
    out = Outcome("webhook-outage", "20. Webhook receiver outage")
    with _harness() as h:
        receiver = VerifyingReceiver(h.require_info().webhook_secrets[KEY_A])
        receiver.down()
        went_down = time.monotonic()
        run = f"outage-{uuid.uuid4().hex[:8]}"
        ids = _invoke_async(h, run, invocations, receiver.url)
        time.sleep(max(0.0, down_s - (time.monotonic() - went_down)))
        receiver.up()
        back = time.monotonic()

        def all_delivered() -> bool:
            seen = _per_invocation(receiver.snapshot(), ids)
            return all(events for events in seen.values())

        delivered = wait_until(all_delivered, timeout_s=90, interval_s=0.5)
        recovery_s = time.monotonic() - back
        time.sleep(3)  # any late duplicate would arrive now
        requests = receiver.snapshot()
        seen = _per_invocation(requests, ids)
        dead = h.drain(h.environment["WEBHOOK_DLQ_URL"])
    one_event = sum(1 for events in seen.values() if len(events) == 1)
    one_id = sum(1 for e in seen.values() if len(e) == 1 and all(len(v) == 1 for v in e.values()))
    out.figures = {
        "invocations": invocations,
        "receiver_down_s": down_s,
        "delivered": sum(1 for e in seen.values() if e),
        "lost": sum(1 for e in seen.values() if not e),
        "requests_received": len(requests),
        "duplicates_same_id": len(requests) - sum(1 for e in seen.values() if e),
        "all_delivered_s_after_back": round(recovery_s, 1),
        "bad_signatures": sum(1 for r in requests if not r[3]),
        "webhook_dlq": len(dead),
    }
    out.check("every invocation's event delivered", delivered and one_event == invocations)
    out.check("one webhook-id per invocation", one_id == invocations)
    out.check("every signature verifies", all(r[3] for r in requests))
    out.check("nothing in the webhook DLQ", not dead)
    return out.done()


def webhook_faults(*, invocations: int = 200, fault_rate: float = 0.3) -> Outcome:
    """``invocations`` with webhooks under ``fault_rate`` model faults: one terminal event each."""
    from bench.reliability.worker_scenarios import _chaos_faults

    out = Outcome("webhook-faults", "21. Webhooks under model faults")
    with _harness() as h:
        receiver = VerifyingReceiver(h.require_info().webhook_secrets[KEY_A])
        _chaos_faults(h, fault_rate, seed=16, hard=True)
        run = f"whfaults-{uuid.uuid4().hex[:8]}"
        ids = _invoke_async(h, run, invocations, receiver.url)

        def terminal() -> bool:
            records = h.invocations(ids)
            return len(records) == invocations and all(
                r["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"} for r in records
            )

        finished = wait_until(terminal, timeout_s=400, interval_s=1.0)
        stats = h.fake.stats.snapshot()
        h.reset_model()
        wait_until(
            lambda: all(_per_invocation(receiver.snapshot(), ids).values()),
            timeout_s=60,
            interval_s=0.5,
        )
        time.sleep(3)
        requests = receiver.snapshot()
        records = {r["id"]: r["status"] for r in h.invocations(ids)}
        dead = h.drain(h.environment["WEBHOOK_DLQ_URL"])
    seen = _per_invocation(requests, ids)
    statuses = Counter(records.values())
    matching = sum(
        1
        for i, events in seen.items()
        if set(events) == {f"invocation.{records.get(i, '').lower()}"}
    )
    per_id = Counter(r[0] for r in requests if r[2] in seen)
    faults = sum(stats.get("faults_injected", {}).values())
    out.figures = {
        "invocations": invocations,
        "model_calls": stats.get("calls", 0),
        "faults_injected": faults,
        "SUCCEEDED": statuses["SUCCEEDED"],
        "FAILED": statuses["FAILED"],
        "one_terminal_event": sum(1 for e in seen.values() if len(e) == 1),
        "event_matches_status": matching,
        "deliveries": len(requests),
        "duplicate_deliveries": sum(n - 1 for n in per_id.values()),
        "distinct_ids_per_invocation_max": max(
            (sum(len(v) for v in e.values()) for e in seen.values()), default=0
        ),
        "bad_signatures": sum(1 for r in requests if not r[3]),
        "webhook_dlq": len(dead),
    }
    out.check("every invocation terminal", finished)
    out.check("exactly one terminal event each", out["one_terminal_event"] == invocations)
    out.check("the event matches the final status", matching == invocations)
    out.check(
        "duplicates only with the same webhook-id", out["distinct_ids_per_invocation_max"] == 1
    )
    out.check("every signature verifies", out["bad_signatures"] == 0)
    out.check("nothing in the webhook DLQ", not dead)
    return out.done()


#: Queue attributes SQS lets ``CreateQueue`` set again (the rest are SQS's own figures).
_SETTABLE = ("DelaySeconds", "MessageRetentionPeriod", "VisibilityTimeout", "RedrivePolicy")


def webhook_queue_outage(*, invocations: int = 40, period_s: float = 2.0) -> Outcome:
    """Every ``SendMessage`` to the webhook queue fails while ``invocations`` run (the queue
    is deleted, then made again with its attributes): each event is held on its record and
    the sweeper sends it once the queue is back. Nothing lost, one ``webhook-id`` each."""
    from bench.reliability.run_recovery import sweeper_thread

    out = Outcome("webhook-queue-outage", "22. Webhook queue outage")
    with _harness() as h:
        receiver = VerifyingReceiver(h.require_info().webhook_secrets[KEY_A])
        queue_url = h.environment["WEBHOOK_QUEUE_URL"]
        sqs = h.sqs()
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
        kept = {k: v for k, v in attributes["Attributes"].items() if k in _SETTABLE}
        sqs.delete_queue(QueueUrl=queue_url)
        run = f"whqueue-{uuid.uuid4().hex[:8]}"
        ids = _invoke_async(h, run, invocations, receiver.url)

        def records() -> list[dict[str, Any]]:
            return h.invocations(ids)

        finished = wait_until(
            lambda: (
                sum(1 for r in records() if r["status"] in {"SUCCEEDED", "FAILED"}) == invocations
            ),
            timeout_s=120,
            interval_s=0.5,
        )
        held = sum(len(r.get("webhook_unsent") or []) for r in records())
        made = sqs.create_queue(QueueName=queue_url.rsplit("/", 1)[1], Attributes=kept)
        back = time.monotonic()
        sweeps = sweeper_thread(h, period_s)
        sweeps.start()
        try:
            delivered = wait_until(
                lambda: all(_per_invocation(receiver.snapshot(), ids).values()),
                timeout_s=60,
                interval_s=0.5,
            )
            recovery_s = time.monotonic() - back
            time.sleep(3)  # a late duplicate would arrive now
        finally:
            sweeps.stop()
        requests = receiver.snapshot()
        still_held = sum(1 for r in records() if r.get("webhook_unsent"))
        dead = h.drain(h.environment["WEBHOOK_DLQ_URL"])
    seen = _per_invocation(requests, ids)
    per_id = Counter(r[0] for r in requests if r[2] in seen)
    out.figures = {
        "invocations": invocations,
        "events_held": held,
        "delivered": sum(1 for e in seen.values() if e),
        "lost": sum(1 for e in seen.values() if not e),
        "all_delivered_s_after_back": round(recovery_s, 1),
        "duplicate_deliveries": sum(n - 1 for n in per_id.values()),
        "records_still_holding": still_held,
        "bad_signatures": sum(1 for r in requests if not r[3]),
        "webhook_dlq": len(dead),
        "sweeps": sweeps.passes,
    }
    out.check("every invocation finished", finished)
    out.check("the queue came back at the same URL", made["QueueUrl"] == queue_url)
    out.check("every event held while the queue was gone", held == invocations)
    out.check("every event delivered", delivered and out["lost"] == 0)
    out.check(
        "one webhook-id per invocation",
        all(len(e) == 1 and all(len(v) == 1 for v in e.values()) for e in seen.values()),
    )
    out.check("no record still holding an event", still_held == 0)
    out.check("every signature verifies", out["bad_signatures"] == 0)
    out.check("nothing in the webhook DLQ", not dead)
    return out.done()
