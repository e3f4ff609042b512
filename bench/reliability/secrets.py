"""7. Secrets and data hygiene: canary keys and input never in a log line or a response.

The stack runs in a child process (``python -m bench.reliability.secrets --child``) so
that *everything* it writes is captured: the handlers' Powertools JSON logs, the EMF
metrics, the local stack's own logging and any traceback on stderr. The child drives
every route (success, replay, async via the worker, batch, model failure, validation
errors, unknown agent, bad and missing keys, a raw queue job and a poison message) with
two canary API keys, a canary Anthropic key (the fake model checks it arrives) and a
canary string in every input. Phase 1 runs with ``LOG_INPUT=false`` (the template's
setting): the input canary must not be logged. Phase 2 turns ``LOG_INPUT`` on for one
request: its input must then appear, proving the capture sees what it should.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench.reliability.harness import AGENT, ANTHROPIC_CANARY, KEY_A, KEY_B, REPO, Harness
from bench.reliability.outcome import Outcome

__all__ = ["secrets_hygiene"]

PHASE_MARK = "=== reliability secrets: phase 2 (LOG_INPUT=true) ==="
INVOKE = f"/agents/{AGENT}/invocations"
_SCRUB = ("ANTHROPIC_", "AWS_", "AGW_", "POWERTOOLS_")


def secrets_hygiene(*, worker: bool = True, timeout_s: float = 180) -> Outcome:
    """Run the child, then search everything it wrote and received for the canaries."""
    from bench.reliability.fuzz import leaks_in

    out = Outcome("secrets", "7. Secrets and data hygiene")
    input_canary = f"INPUT-CANARY-{uuid.uuid4().hex}"
    logged_canary = f"LOGGED-INPUT-{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory(prefix="agw-secrets-") as tmp:
        report_path = Path(tmp) / "report.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src")])
        with (
            (Path(tmp) / "stdout").open("wb") as stdout,
            (Path(tmp) / "stderr").open("wb") as stderr,
        ):
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.reliability.secrets",
                    "--child",
                    "--report",
                    str(report_path),
                    "--input-canary",
                    input_canary,
                    "--logged-canary",
                    logged_canary,
                    *([] if worker else ["--no-worker"]),
                ],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                timeout=timeout_s,
                check=False,
            )
        logs = (Path(tmp) / "stdout").read_text(errors="replace")
        errors = (Path(tmp) / "stderr").read_text(errors="replace")
        report: dict[str, Any] = (
            json.loads(report_path.read_text()) if report_path.is_file() else {}
        )
    phase1_out, _, phase2_out = logs.partition(PHASE_MARK)
    phase1_err, _, phase2_err = errors.partition(PHASE_MARK)
    phase1 = (phase1_out + "\n" + phase1_err).splitlines()
    phase2 = (phase2_out + "\n" + phase2_err).splitlines()
    every_line = phase1 + phase2
    responses: list[str] = report.get("responses", [])
    secrets = {
        "api key A": KEY_A,
        "api key B": KEY_B,
        "key secret A": KEY_A.split("_", 2)[2],
        "key secret B": KEY_B.split("_", 2)[2],
        "a stored key hash": "hmac-sha256:",
        "Anthropic key": ANTHROPIC_CANARY,
    }
    in_logs = {name: sum(secret in line for line in every_line) for name, secret in secrets.items()}
    in_responses = {name: sum(secret in r for r in responses) for name, secret in secrets.items()}
    response_leaks = [found for r in responses for found in leaks_in(r, secrets=())]
    out.figures = {
        "log_lines": len([line for line in every_line if line.strip()]),
        "powertools_json_lines": sum(1 for line in every_line if line.startswith('{"level"')),
        "responses": len(responses),
        "routes": len(report.get("routes", [])),
        "secret_in_logs": sum(in_logs.values()),
        "secret_in_responses": sum(in_responses.values()),
        "input_in_logs_LOG_INPUT_off": sum(input_canary in line for line in phase1),
        "input_in_logs_LOG_INPUT_on": sum(logged_canary in line for line in phase2),
        "traceback_or_path_in_responses": len(response_leaks),
        "model_saw_canary_key": int(
            report.get("model_key_sha256_12")
            == hashlib.sha256(ANTHROPIC_CANARY.encode()).hexdigest()[:12]
        ),
    }
    out.check(
        "the child ran the whole workload", child.returncode == 0 and report.get("complete") is True
    )
    out.check("no key in any log line", out["secret_in_logs"] == 0)
    out.check("no key in any response", out["secret_in_responses"] == 0)
    out.check("input absent from logs (LOG_INPUT off)", out["input_in_logs_LOG_INPUT_off"] == 0)
    out.check("input logged when LOG_INPUT is on", out["input_in_logs_LOG_INPUT_on"] > 0)
    out.check("no traceback or path in any response", out["traceback_or_path_in_responses"] == 0)
    out.check("the model received the canary key", out["model_saw_canary_key"] == 1)
    if child.returncode != 0:
        out.notes.append(errors[-2000:])
    for name, count in {**in_logs}.items():
        if count:
            out.notes.append(f"{name} in {count} log lines")
    return out.done()


# --------------------------------------------------------------------------- the child


def _workload(h: Harness, input_canary: str) -> tuple[list[str], list[str]]:
    """Every route and failure path; returns (responses as text, routes touched)."""
    responses: list[str] = []
    routes: list[str] = []

    def keep(route: str, response: Any) -> Any:
        routes.append(f"{route} -> {response.status_code}")
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        responses.append(f"{response.status_code}\n{headers}\n\n{response.text}")
        return response

    text = f"Review this handler. {input_canary}"
    with h.client(KEY_A) as a, h.client(KEY_B) as b, h.client(None) as anonymous:
        keep("GET /health", a.get("/health"))
        keep("GET /openapi.json", a.get("/openapi.json"))
        keep("GET /agents", a.get("/agents"))
        keep("GET /agents/{name}", a.get(f"/agents/{AGENT}"))
        keyed = {"Idempotency-Key": f"secrets-{input_canary}"}
        canary_body = {"input": text, "context": {"note": input_canary}}
        sync = keep("POST invoke sync", a.post(INVOKE, json=canary_body, headers=keyed))
        keep("POST invoke replay", a.post(INVOKE, json=canary_body, headers=keyed))
        keep(
            "POST invoke reused key",
            a.post(INVOKE, json={"input": text + " other"}, headers=keyed),
        )
        queued = keep(
            "POST invoke async", a.post(INVOKE, json={"input": text, "mode": "async"})
        ).json()
        batch = keep(
            "POST /batches",
            a.post(
                "/batches",
                json={"agent": AGENT, "items": [{"input": f"{text} #{n}"} for n in range(3)]},
            ),
        ).json()
        h.fault(status=500, count=10)
        keep("POST invoke model 500", a.post(INVOKE, json={"input": text}))
        h.fake.faults.clear()
        h.fault(status=401, count=1)
        keep("POST invoke model 401", a.post(INVOKE, json={"input": text}))
        h.fake.faults.clear()
        keep("POST invoke 422", a.post(INVOKE, json={"input": text, "max_tokens": -1}))
        keep(
            "POST invoke unknown agent",
            a.post("/agents/no-such-agent/invocations", json={"input": text}),
        )
        keep(
            "POST invoke bad name",
            a.post("/agents/..%2f..%2fetc/invocations", json={"input": text}),
        )
        keep(
            "POST invoke malformed",
            a.post(
                INVOKE,
                content=b'{"input": "' + input_canary.encode(),
                headers={"Content-Type": "application/json"},
            ),
        )
        keep(
            "POST invoke text/plain",
            a.post(INVOKE, content=text.encode(), headers={"Content-Type": "text/plain"}),
        )
        keep(
            "POST invoke unknown key",
            h.client("agw-unknown-key-1234567890").post(INVOKE, json={"input": text}),
        )
        keep("POST invoke no key", anonymous.post(INVOKE, json={"input": text}))
        keep("GET /invocations/{id} other tenant", b.get(f"/invocations/{sync.json().get('id')}"))
        keep("POST cancel", a.post(f"/invocations/{queued.get('id')}/cancel"))
        if h.worker:
            h.send_raw(
                [
                    json.dumps({"agent": AGENT, "input": text, "idempotency_key": input_canary}),
                    json.dumps({"agent": AGENT, "input": text, "oops": True}) + "}",
                ]
            )
            h.quiesce(timeout_s=30)
        keep("GET /invocations/{id}", a.get(f"/invocations/{queued.get('id')}"))
        keep("GET /batches/{id}", a.get(f"/batches/{batch.get('id')}"))
        keep("GET /invocations", a.get("/invocations", params={"limit": 50}))
    return responses, routes


def _child(report_path: Path, input_canary: str, logged_canary: str, *, worker: bool) -> int:
    report: dict[str, Any] = {"complete": False}
    with Harness(worker=worker) as h:
        responses, routes = _workload(h, input_canary)
        report["model_key_sha256_12"] = h.fake.stats.snapshot()["last_auth"].get("key_sha256_12")
        sys.stdout.flush()
        print(PHASE_MARK, flush=True)
        print(PHASE_MARK, file=sys.stderr, flush=True)
        with h.environment_overrides({"LOG_INPUT": "true"}), h.client(KEY_A) as a:
            response = a.post(INVOKE, json={"input": f"Logged on purpose: {logged_canary}"})
            responses.append(f"{response.status_code}\n\n{response.text}")
            routes.append(f"POST invoke LOG_INPUT -> {response.status_code}")
        report.update(responses=responses, routes=routes, complete=True)
    report_path.write_text(json.dumps(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.secrets")
    parser.add_argument("--child", action="store_true", help="run the workload (internal)")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--no-worker", action="store_true", help="API only (no SQS worker)")
    parser.add_argument("--input-canary", default=f"INPUT-CANARY-{uuid.uuid4().hex}")
    parser.add_argument("--logged-canary", default=f"LOGGED-INPUT-{uuid.uuid4().hex}")
    args = parser.parse_args(argv)
    if args.child:
        if args.report is None:
            parser.error("--child needs --report")
        return _child(args.report, args.input_canary, args.logged_canary, worker=not args.no_worker)
    outcome = secrets_hygiene()
    print(json.dumps(outcome.to_json(), indent=2))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
