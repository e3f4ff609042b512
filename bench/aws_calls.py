"""AWS calls per request, counted with botocore event hooks against moto server.

The local stack (moto server with ``template.yaml``'s resources, the fake Messages API,
``definitions/`` pushed) runs in this process; requests go to ``handlers.api.handler`` and
``handlers.worker.handler`` as API Gateway / SQS events. Every path is warmed up first (a
warm container: clients built, definition cached), then each step is measured alone:

* sync run with ``Idempotency-Key`` (new key), and its replay;
* async submit (``Prefer: respond-async``);
* ``GET /invocations/{id}``;
* worker run of one SQS record (the async submission's message);
* for reference, a sync run once the definition cache's TTL has passed (ETag
  revalidation) and one with every cache cold (new registry/store/runner; clients kept).

Goal: a warm sync run makes <= 5 AWS calls and downloads no S3 body while the definition
cache is fresh.

    python -m bench.aws_calls
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any

from bench.harness import ApiAnswer, CallCounter, LocalStack
from bench.table import Row, render

AGENT = "code-reviewer-fast"
INPUT = "def add(a, b):\n    return a + b\n"
BODY = {"input": INPUT, "context": {"language": "python"}, "max_tokens": 512}
MAX_SYNC_CALLS = 5


@dataclass
class Step:
    name: str
    status: int | str
    calls: list[str] = field(default_factory=list)
    s3_body_downloads: int = 0
    registry_body_downloads: int = 0
    #: Of ``calls``, the event log's writes and reads (issue 16; not in the goal).
    event_log_calls: int = 0

    @property
    def count(self) -> int:
        return len(self.calls)


def _registry_downloads() -> int:
    from agents.registry import get_registry

    return get_registry().stats.body_downloads


def _invoke(stack: LocalStack, key: str | None, *, asynchronous: bool = False) -> ApiAnswer:
    headers: dict[str, str] = {}
    if key:
        headers["Idempotency-Key"] = key
    if asynchronous:
        headers["Prefer"] = "respond-async"
    return stack.api("POST", f"/agents/{AGENT}/invocations", BODY, headers)


def _worker_run(stack: LocalStack, invocation_id: str) -> str:
    """Run the queued record through the worker handler (or the executor it calls)."""
    if stack.poller is not None:
        messages = stack.receive()
        if not messages:
            raise RuntimeError("the async submission left no message on the queue")
        response = stack.worker(messages[:1])
        failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
        return "worker: ok" if not failures else f"worker: failures {failures}"
    from agents.executor import execute
    from agents.runner import Deadline

    outcome = execute(
        invocation_id,
        deadline=Deadline.after_ms(60_000),
        owner="bench-worker",
        final_attempt=False,
    )
    return f"executor: {outcome.status.value}"


def _measure(counter: CallCounter, name: str, action: Any) -> Step:
    before = _registry_downloads()
    with counter.measure():
        status = action()
    return Step(
        name,
        status,
        list(counter.calls),
        counter.s3_body_downloads,
        _registry_downloads() - before,
        counter.tables.count(os.environ.get("EVENTS_TABLE", "-")),
    )


def run() -> list[Step]:
    steps: list[Step] = []
    with LocalStack() as stack:
        counter = CallCounter()
        # Warm-up: every path once (clients, definition cache, runner, idempotency layer).
        warm = _invoke(stack, "bench-warm-sync")
        if warm.status != 200:
            raise RuntimeError(f"warm-up sync run answered {warm.status}: {warm.body}")
        queued = _invoke(stack, None, asynchronous=True)
        stack.api("GET", f"/invocations/{queued.body['id']}")
        _worker_run(stack, queued.body["id"])

        answers: dict[str, ApiAnswer] = {}

        def sync() -> int:
            answers["sync"] = answer = _invoke(stack, "bench-sync-1")
            return answer.status

        steps.append(_measure(counter, "sync run + Idempotency-Key (warm)", sync))
        steps.append(
            _measure(
                counter,
                "sync replay (same key)",
                lambda: _invoke(stack, "bench-sync-1").status,
            )
        )

        def submit() -> int:
            answers["async"] = answer = _invoke(stack, None, asynchronous=True)
            return answer.status

        steps.append(_measure(counter, "async submit", submit))
        sync_id = answers["sync"].body["id"]
        steps.append(
            _measure(
                counter,
                "GET /invocations/{id}",
                lambda: stack.api("GET", f"/invocations/{sync_id}").status,
            )
        )
        async_id = answers["async"].body["id"]
        steps.append(
            _measure(counter, "worker run (1 record)", lambda: _worker_run(stack, async_id))
        )

        # The definition cache's TTL has passed: one conditional GET (304), no body.
        from agents.registry import get_registry

        registry = get_registry()
        ttl = registry.ttl_seconds
        registry.ttl_seconds = 0
        try:
            steps.append(
                _measure(
                    counter,
                    "sync run + key (definition TTL expired)",
                    lambda: _invoke(stack, "bench-sync-expired").status,
                )
            )
        finally:
            registry.ttl_seconds = ttl

        # Every cache cold but the clients (a new container's first sync run, minus the
        # client construction the counter could not see).
        from agents import aws, container

        container.reset(keep=(aws.CLIENTS,))
        steps.append(
            _measure(
                counter,
                "sync run + key (cold caches)",
                lambda: _invoke(stack, "bench-sync-cold").status,
            )
        )
    return steps


def rows(steps: list[Step]) -> list[Row]:
    out: list[Row] = []
    for step in steps:
        goal, met = "", None
        if step.name.startswith("sync run") and "(warm)" in step.name:
            goal = f"<= {MAX_SYNC_CALLS} calls excl. the event log, 0 S3 body downloads"
            own = step.count - step.event_log_calls
            met = own <= MAX_SYNC_CALLS and step.s3_body_downloads == 0
        calls = CallCounter(calls=step.calls).summary()
        status = f"HTTP {step.status}" if isinstance(step.status, int) else step.status
        out.append(
            Row(
                "AWS calls",
                f"{step.name} [{status}]",
                f"{step.count} calls ({step.event_log_calls} event log), "
                f"{step.s3_body_downloads} S3 body downloads: {calls}",
                goal,
                met,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aws_calls", description=__doc__)
    parser.parse_args(argv)
    table = rows(run())
    print(render(table, title="AWS calls per request (botocore before-call hooks, moto server)"))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
