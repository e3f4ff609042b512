"""Scenario 8, hostile input: every malformed request is a 4xx problem and changes no state."""

from __future__ import annotations

import json

from bench.reliability.api_answers import INVOKE, is_problem
from bench.reliability.harness import AGENT, KEY_A, Harness
from bench.reliability.outcome import Outcome

__all__ = ["hostile_input"]


def _state_counts(h: Harness) -> dict[str, int]:
    return {
        "records": len(h.scan()),
        "idempotency_records": len(h.scan(h.idempotency_table)),
        "payload_objects": len(h.bucket_keys(h.environment.get("PAYLOAD_PREFIX", "payloads/"))),
        "queued_messages": h.queue_depth(h.queue_url),
    }


def hostile_input(h: Harness) -> Outcome:
    """Hostile names, sizes, nesting and content types: a clear 4xx, nothing written."""
    out = Outcome("hostile-input", "8. Hostile input")
    h.clean()
    limit = int(h.environment.get("MAX_REQUEST_BYTES", "1048576"))
    names = {
        "dot-dot": "..",
        "encoded dot-dot": "%2e%2e",
        "double-encoded dot-dot": "%252e%252e",
        "traversal": "..%2f..%2fagents%2fbackend-engineer-python",
        "slash": "a%2Fb",
        "NUL": "backend-engineer-python%00",
        "cyrillic lookalike": "b%D0%B0ckend-engineer-python",  # U+0430
        "fullwidth lookalike": "%EF%BD%82ackend-engineer-python",  # U+FF42
        "10 KB name": "a" * 10_240,
        "upper case": "Backend-Engineer-Python",
        "space": "backend%20engineer",
    }
    valid = json.dumps({"input": "hostile input probe"})
    cases: list[tuple[str, str, str, dict[str, str], str | bytes]] = []
    for label, name in names.items():
        cases.append(
            (
                f"POST name {label}",
                "POST",
                f"/agents/{name}/invocations",
                {"Content-Type": "application/json"},
                valid,
            )
        )
        cases.append((f"GET name {label}", "GET", f"/agents/{name}", {}, ""))
    # sizes: exactly at the limit (valid JSON, but the input is over MAX_INPUT_CHARS),
    # one byte past it, far past it
    over_input = json.dumps({"input": "x" * (limit - 100)})
    at_limit = over_input + " " * (limit - len(over_input))
    cases.append(
        (
            "body at the size limit, input too long",
            "POST",
            INVOKE,
            {"Content-Type": "application/json"},
            at_limit,
        )
    )
    cases.append(
        (
            "body 1 byte past the limit",
            "POST",
            INVOKE,
            {"Content-Type": "application/json"},
            at_limit + " ",
        )
    )
    cases.append(
        ("body 3x the limit", "POST", INVOKE, {"Content-Type": "application/json"}, at_limit * 3)
    )
    deep_object = '{"input": "deep", "context": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    deep_array = "[" * 100_000 + "]" * 100_000
    cases.append(
        (
            "context nested 5000 deep",
            "POST",
            INVOKE,
            {"Content-Type": "application/json"},
            deep_object,
        )
    )
    cases.append(
        (
            "array nested 100000 deep",
            "POST",
            INVOKE,
            {"Content-Type": "application/json"},
            deep_array,
        )
    )
    cases.append(
        (
            "batch nested metadata",
            "POST",
            "/batches",
            {"Content-Type": "application/json"},
            '{"agent": "'
            + AGENT
            + '", "items": [{"input": "x", "metadata": '
            + '{"a": ' * 3000
            + '"v"'
            + "}" * 3000
            + "}]}",
        )
    )
    for media in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/xml",
    ):
        cases.append((f"content type {media}", "POST", INVOKE, {"Content-Type": media}, valid))
    cases.append(
        ("malformed JSON", "POST", INVOKE, {"Content-Type": "application/json"}, '{"input": "x"')
    )
    cases.append(("JSON array body", "POST", INVOKE, {"Content-Type": "application/json"}, "[]"))
    cases.append(("JSON null body", "POST", INVOKE, {"Content-Type": "application/json"}, "null"))
    cases.append(
        ("input is a number", "POST", INVOKE, {"Content-Type": "application/json"}, '{"input": 42}')
    )
    cases.append(
        (
            "NUL in JSON",
            "POST",
            INVOKE,
            {"Content-Type": "application/json"},
            '{"input": "a\\u0000b", "context": {"\\u0000": 1}}',
        )
    )
    cases.append(
        (
            "invalid UTF-8",
            "POST",
            INVOKE,
            {"Content-Type": "application/json"},
            b'{"input": "\xff\xfe"}',
        )
    )

    before = _state_counts(h)
    results: list[tuple[str, int, bool]] = []
    with h.client(KEY_A, timeout=60) as client:
        for label, method, path, headers, payload in cases:
            content = payload.encode() if isinstance(payload, str) else payload
            response = client.request(method, path, headers=headers, content=content or None)
            clear = 400 <= response.status_code < 500 and (
                is_problem(response) or response.status_code == 413
            )
            results.append((label, response.status_code, clear))
    after = _state_counts(h)
    statuses: dict[str, int] = {}
    for _, status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    out.figures = {
        "requests": len(results),
        "clear_4xx": sum(1 for r in results if r[2]),
        "5xx": sum(1 for r in results if r[1] >= 500),
        "statuses": " ".join(f"{k}x{v}" for k, v in sorted(statuses.items())),
        "records_written": after["records"] - before["records"],
        "idempotency_written": after["idempotency_records"] - before["idempotency_records"],
        "objects_written": after["payload_objects"] - before["payload_objects"],
        "messages_queued": after["queued_messages"] - before["queued_messages"],
        "model_calls": h.model_calls(),
    }
    out.check_refused_cleanly(
        len(results),
        unwritten=(
            "records_written",
            "idempotency_written",
            "objects_written",
            "messages_queued",
            "model_calls",
        ),
    )
    if out["clear_4xx"] != len(results):
        out.notes.append(f"not a clear 4xx: {[r for r in results if not r[2]]}")
    return out.done()
