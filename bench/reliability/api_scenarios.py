"""Scenarios through the HTTP API: idempotency race, tenant isolation, limits (and
:func:`~bench.reliability.hostile_input.hostile_input`, re-exported).

Each function takes a started :class:`~bench.reliability.harness.Harness` and returns an
:class:`~bench.reliability.outcome.Outcome` with counts; the tests assert on them and
``python -m bench.reliability`` prints them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from bench.reliability.api_answers import INVOKE, PROBLEM_JSON, is_problem
from bench.reliability.harness import AGENT, KEY_A, KEY_B, Harness, wait_until
from bench.reliability.hostile_input import hostile_input
from bench.reliability.outcome import Outcome

__all__ = [
    "PROBLEM_JSON",
    "hostile_input",
    "idempotency_race",
    "is_problem",
    "limits",
    "tenant_isolation",
]

# --------------------------------------------------------------------------- 1


def idempotency_race(h: Harness, *, concurrency: int = 50, replays: int = 10) -> Outcome:
    """``concurrency`` simultaneous POSTs with one ``Idempotency-Key``."""
    out = Outcome("idempotency-race", "1. Idempotency race")
    h.clean()
    key = f"race-{uuid.uuid4()}"
    body = {"input": "Idempotency race: add a GET /health endpoint to a FastAPI service."}
    barrier = threading.Barrier(concurrency, timeout=30)

    def post(_: int) -> tuple[int, str, dict[str, Any]]:
        with h.client(KEY_A, timeout=60) as client:
            barrier.wait()
            response = client.post(INVOKE, json=body, headers={"Idempotency-Key": key})
            return (
                response.status_code,
                response.headers.get("idempotent-replayed", ""),
                response.json(),
            )

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(post, range(concurrency)))
    ok_ids = {a[2].get("id") for a in answers if a[0] == 200}
    conflicts = [a for a in answers if a[0] == 409]
    conflict_problems = sum(
        1 for a in conflicts if a[2].get("type") == "/problems/idempotency-key-in-use"
    )
    other = [a[0] for a in answers if a[0] not in (200, 409)]
    calls_after_race = h.model_calls()

    replay_bodies: list[str] = []
    replay_flags = 0
    with h.client(KEY_A) as client:
        for _ in range(replays):
            response = client.post(INVOKE, json=body, headers={"Idempotency-Key": key})
            replay_bodies.append(response.text if response.status_code == 200 else "")
            replay_flags += response.headers.get("idempotent-replayed") == "true"
        reused = client.post(
            INVOKE,
            json={**body, "input": body["input"] + " (another body)"},
            headers={"Idempotency-Key": key},
        )
    first_ok = next((a[2] for a in answers if a[0] == 200), None)
    replay_ids = {json.loads(b).get("id") for b in replay_bodies if b}

    out.figures = {
        "requests": concurrency,
        "200": sum(1 for a in answers if a[0] == 200),
        "409": len(conflicts),
        "other": len(other),
        "distinct_invocations": len(ok_ids | replay_ids),
        "model_calls": h.model_calls(),
        "replays_identical": sum(1 for b in replay_bodies if b and b == replay_bodies[0]),
        "replays": replays,
        "reused_key_status": reused.status_code,
    }
    out.check("exactly one model call", calls_after_race == 1 and out["model_calls"] == 1)
    out.check("only 200 or 409", not other)
    out.check("every 409 is idempotency-key-in-use", conflict_problems == len(conflicts))
    out.check("one invocation", len(ok_ids | replay_ids) == 1 and first_ok is not None)
    out.check("replays identical", out["replays_identical"] == replays)
    out.check("replays flagged", replay_flags == replays)
    out.check(
        "other body -> 422",
        reused.status_code == 422
        and reused.json().get("type") == "/problems/idempotency-key-reused",
    )
    return out.done()


# --------------------------------------------------------------------------- 6


def tenant_isolation(h: Harness) -> Outcome:
    """Tenant B tries to read, list, cancel and replay tenant A's things."""
    out = Outcome("tenant-isolation", "6. Tenant isolation")
    run = uuid.uuid4().hex[:8]
    key = f"iso-{run}"
    key2 = f"iso-async-{run}"
    body = {"input": f"Tenant isolation probe {run}", "metadata": {"run": run}}
    attempts: list[tuple[str, int, bool]] = []  # (what, status, ok)
    leaked: set[str] = set()

    with h.client(KEY_A) as a, h.client(KEY_B) as b:
        sync = a.post(INVOKE, json=body, headers={"Idempotency-Key": key})
        a_sync = sync.json()["id"]
        queued = a.post(INVOKE, json={**body, "mode": "async"}, headers={"Idempotency-Key": key2})
        a_async = queued.json()["id"]
        batch = a.post(
            "/batches",
            json={"agent": AGENT, "items": [{"input": f"batch item {n} {run}"} for n in range(3)]},
        )
        a_batch = batch.json()["id"]
        a_ids = {a_sync, a_async, *(i["invocation_id"] for i in batch.json()["items"])}
        first_page = a.get("/invocations", params={"limit": 1}).json()
        a_cursor = first_page.get("next_cursor")

        def expect(what: str, response: Any, statuses: set[int]) -> None:
            text = response.text
            for invocation_id in a_ids | {a_batch}:
                # A 404 problem may echo the id the caller sent in `instance`; that is the
                # caller's own input. Anything else naming A's ids is a leak.
                if invocation_id in text and response.status_code not in statuses:
                    leaked.add(what)
            if response.status_code == 200 and any(i in text for i in a_ids):
                leaked.add(what)
            attempts.append((what, response.status_code, response.status_code in statuses))

        for invocation_id in sorted(a_ids):
            expect("read", b.get(f"/invocations/{invocation_id}"), {404})
            expect("cancel", b.post(f"/invocations/{invocation_id}/cancel"), {404})
        expect("read batch", b.get(f"/batches/{a_batch}"), {404})
        expect("list batch items", b.get("/invocations", params={"batch_id": a_batch}), {404})
        listing = b.get("/invocations", params={"limit": 200})
        expect("list", listing, {200})
        if a_cursor:
            expect("A's cursor", b.get("/invocations", params={"cursor": a_cursor}), {400})
        # B sends A's Idempotency-Keys: its own new invocation, never A's replay, never
        # a 409/422 that would tell B the key exists.
        b_same = b.post(INVOKE, json=body, headers={"Idempotency-Key": key})
        expect("replay A's key (same body)", b_same, {200})
        b_other = b.post(
            INVOKE, json={**body, "input": "another body"}, headers={"Idempotency-Key": key2}
        )
        expect("A's key, other body", b_other, {200})
        replay_leak = (
            b_same.headers.get("idempotent-replayed") == "true"
            or b_same.json().get("id") in a_ids
            or b_other.json().get("id") in a_ids
        )
        # Forging (KEYS mode): identity headers change nothing, a forged key opens nothing.
        tenant_a = h.tenant(KEY_A)
        forged = {
            "x-tenant": tenant_a,
            "x-amzn-principal-id": tenant_a,
            "x-amzn-apigateway-api-key-id": tenant_a,
            "x-amz-user-arn": f"arn:aws:iam::123456789012:user/{tenant_a}",
        }
        for name, value in forged.items():
            expect(f"forged {name}", b.get("/invocations", headers={name: value}), {200})
            expect(f"forged {name} read", b.get(f"/invocations/{a_sync}", headers={name: value}),
                   {404})  # fmt: skip
        key_id_a = KEY_A.split("_")[1]
        for what, value in (
            ("A's key id, B's secret", f"agw_{key_id_a}_{KEY_B.split('_', 2)[2]}"),
            ("A's tenant id as a key", tenant_a),
            ("A's key, one character off", KEY_A[:-1] + ("a" if KEY_A[-1] != "a" else "b")),
        ):
            with h.client(value) as forger:
                expect(f"forged x-api-key: {what}", forger.get(f"/invocations/{a_sync}"),
                       {401, 403})  # fmt: skip
        # A's things are untouched and A still replays its own key.
        a_replay = a.post(INVOKE, json=body, headers={"Idempotency-Key": key})
        a_async_after = a.get(f"/invocations/{a_async}").json()

    out.figures = {
        "b_requests": len(attempts),
        "b_denied_as_documented": sum(1 for _, _, ok in attempts if ok),
        "b_unexpected": sum(1 for _, _, ok in attempts if not ok),
        "leaks": len(leaked) + int(replay_leak),
        "a_replay_ok": int(
            a_replay.status_code == 200
            and a_replay.json().get("id") == a_sync
            and a_replay.headers.get("idempotent-replayed") == "true"
        ),
        "a_async_status": a_async_after.get("status"),
    }
    out.check("every probe answered as documented", out["b_unexpected"] == 0)
    out.check("nothing of A leaked to B", out["leaks"] == 0)
    out.check("A's key still replays A's invocation", out["a_replay_ok"] == 1)
    out.check("B's cancel did not cancel A's", a_async_after.get("status") != "CANCELLED")
    if out["b_unexpected"]:
        out.notes.append(f"unexpected: {[a for a in attempts if not a[2]]}")
    return out.done()


# --------------------------------------------------------------------------- 9


def limits(h: Harness, *, output_chars: int = 1_000_000, deadline_ms: int = 8000) -> Outcome:
    """A 1 MB output and a near-limit input round-trip whole; a deadline mid-stream."""
    out = Outcome("limits", "9. Limits")
    h.clean()
    limit = int(h.environment.get("MAX_REQUEST_BYTES", "1048576"))
    max_input = int(h.environment.get("MAX_INPUT_CHARS", "500000"))
    prefix = h.environment.get("PAYLOAD_PREFIX", "payloads/")
    s3 = h.s3()

    def stored_size(uri: str | None) -> int:
        if not uri:
            return -1
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])

    with h.client(KEY_A, timeout=120) as client:
        # (a) a 1 MB output
        h.fault(output_chars=output_chars, count=1)
        big = client.post(INVOKE, json={"input": "Produce a very long answer."})
        big_body = big.json()
        big_id = big_body.get("id", "")
        big_again = client.get(f"/invocations/{big_id}").json()
        big_record = next(iter(h.invocations([big_id])), {})
        output = big_body.get("output") or ""

        # (b) a near-limit input: MAX_INPUT_CHARS two-byte characters, the body just under
        # MAX_REQUEST_BYTES (padded with JSON whitespace to within 64 bytes of it)
        chars = min(max_input, (limit - 200) // 2)
        suffix = " near-limit input ends here: 0123456789"
        text = "é" * (chars - len(suffix)) + suffix
        raw = json.dumps({"input": text}, ensure_ascii=False)
        padding = limit - len(raw.encode()) - 64
        payload = raw[:-1] + " " * max(0, padding) + "}"
        near = client.post(
            INVOKE, content=payload.encode(), headers={"Content-Type": "application/json"}
        )
        near_id = near.json().get("id", "")
        near_again = client.get(f"/invocations/{near_id}").json()
        near_record = next(iter(h.invocations([near_id])), {})
        model_got_input = any(
            text in json.dumps((r.get("body") or {}).get("messages"), ensure_ascii=False)
            for r in h.fake.recent_requests(5)
        )

        # (c) the deadline passes mid-stream: a long answer trickling in
        dlq_before = len(h.drain(h.dlq_url))
        with h.environment_overrides({"API_TIMEOUT_MS": str(deadline_ms)}):
            h.fault(output_chars=400_000, delta_delay_s=0.002, count=1)
            sent_at = time.time()
            slow = client.post(INVOKE, json={"input": "A slow stream past the deadline."})
            answered_s = time.time() - sent_at
        slow_body = slow.json()
        slow_id = slow_body.get("invocation_id", "")
        slow_record = next(iter(h.invocations([slow_id])), {}) if slow_id else {}
        slow_call: dict[str, Any] = next(
            (r for r in reversed(h.fake.recent_requests(5)) if r.get("stream")), {}
        )
        error = slow_record.get("error") or {}
        finished = slow_record.get("finished_at", "")
        finished_epoch = (
            datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp()
            if finished
            else float("inf")
        )
        wait_until(lambda: h.queue_depth(h.dlq_url) > 0, timeout_s=5)
        dlq = [json.loads(b) for b in h.drain(h.dlq_url)]

    out.figures = {
        "output_chars_returned": len(output),
        "output_chars_reread": len(big_again.get("output") or ""),
        "output_offloaded_bytes": stored_size(big_record.get("output_ref")),
        "input_chars_sent": len(text),
        "request_bytes": len(payload.encode()),
        "input_chars_reread": len(near_again.get("input") or ""),
        "input_offloaded_bytes": stored_size(near_record.get("input_ref")),
        "deadline_status": slow.status_code,
        "deadline_error": error.get("type"),
        "deadline_retryable": error.get("retryable"),
        "record_written_before_deadline_ms": round(
            (sent_at + deadline_ms / 1000 - finished_epoch) * 1000
        ),
        "answered_after_ms": round(answered_s * 1000),
        "stream_started": int(slow_call.get("status") == 200),
        "dlq_messages": sum(1 for m in dlq if m.get("invocation_id") == slow_id),
    }
    out.check(
        "1 MB output whole in the answer", big.status_code == 200 and len(output) == output_chars
    )
    out.check("1 MB output whole on re-read", big_again.get("output") == output)
    out.check(
        "1 MB output offloaded to S3",
        str(big_record.get("output_ref", "")).startswith(f"s3://{h.payload_bucket}/{prefix}")
        and out["output_offloaded_bytes"] == len(output.encode()),
    )
    out.check("near-limit input accepted", near.status_code == 200)
    out.check("near-limit input whole on re-read", near_again.get("input") == text)
    out.check(
        "near-limit input offloaded to S3", out["input_offloaded_bytes"] == len(text.encode())
    )
    out.check("the model got the whole input", model_got_input)
    out.check(
        "deadline -> FAILED retryable",
        slow.status_code == 504
        and slow_record.get("status") == "FAILED"
        and error.get("type") == "deadline-exceeded"
        and error.get("retryable") is True,
    )
    out.check("the deadline passed mid-stream", out["stream_started"] == 1)
    out.check("record written before the deadline", out["record_written_before_deadline_ms"] > 0)
    out.check("one DLQ message", out["dlq_messages"] == 1 and dlq_before >= 0)
    return out.done()
