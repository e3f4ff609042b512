"""Batch concurrency: one SQS batch of 10 records through the worker handler, each model call
slowed to 1 s (and 5 s) by the fake Messages API's ``latency_s`` fault.

The worker runs a batch's records concurrently, so the batch should take about one model
latency, not ten. The figure is ``wall / (10 x latency)`` (goal <= 0.15 for 1 s), the median
of a few repeats. Everything is real: the template's tables and queues on a moto server on
loopback, the definitions pushed to its bucket, the real SDK over HTTP to the fake model
(both started here and stopped at the end, via :class:`bench.harness.LocalStack`); the
handler is called in-process with an SQS event, as the event source mapping would.

moto runs in a child process (as DynamoDB, SQS and S3 are not in the Lambda's process); one
more row repeats the 1 s figure with moto in the worker's process, where its CPU competes
with the worker's threads for one interpreter (decision 13.254).

``WORKER_CONCURRENCY`` is 10 here, what the template sets with ``WorkerBatchSize=10`` (the
template ties the two; its default batch size is 5).

    python -m bench.batch_concurrency [--repeats 3] [--latency 1 --latency 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.table import Row, median, render

BATCH = 10
GOAL = 0.15
DEFAULT_LATENCIES = (1.0, 5.0)
DEFAULT_REPEATS = 3
AGENT = "code-reviewer-fast"


@dataclass
class Measurement:
    latency_s: float
    walls: list[float] = field(default_factory=list)
    #: CPU seconds of this process (the worker and the fake model's threads) per batch.
    cpus: list[float] = field(default_factory=list)
    failures: int = 0
    model_calls: int = 0

    @property
    def wall(self) -> float:
        return median(self.walls)

    @property
    def ratio(self) -> float:
        return self.wall / (BATCH * self.latency_s)


def _fake(url: str, method: str, path: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _event(count: int, tag: str) -> dict[str, Any]:
    now = str(int(time.time() * 1000))
    records = []
    for number in range(count):
        body = {
            "agent": AGENT,
            "input": f"Batch {tag}, item {number}:\ndef add(a, b):\n    return a - b\n",
            "context": {"language": "python"},
            "idempotency_key": f"bench-{tag}-{number}",
            "tenant": "bench-tenant",
        }
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now,
                    "SenderId": "bench",
                    "ApproximateFirstReceiveTimestamp": now,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:agent-gateway-local-"
                "InvocationQueue",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def run(
    latencies: tuple[float, ...] = DEFAULT_LATENCIES,
    repeats: int = DEFAULT_REPEATS,
    *,
    aws_in_process: bool = False,
) -> list[Measurement]:
    from bench.harness import LocalStack
    from local.lambda_context import context_for
    from local.runtime import patched_environ

    results: list[Measurement] = []
    # WorkerBatchSize=10: one thread per record of a batch.
    with (
        LocalStack(aws_in_process=aws_in_process) as stack,
        patched_environ({"WORKER_CONCURRENCY": str(BATCH)}),
    ):
        assert stack.model is not None
        assert stack.template is not None
        from handlers.worker import handler

        function = stack.template.function("WorkerFunction")
        url = stack.model.url

        def batch(count: int, tag: str) -> tuple[float, float, int]:
            event = _event(count, tag)
            started, cpu = time.perf_counter(), time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):  # EMF metric lines
                response = handler(event, context_for(function))
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            return wall, cpu, len(response["batchItemFailures"])

        batch(1, f"warm-{uuid.uuid4().hex[:6]}")  # a warm container: SDK imported, clients up
        for latency in latencies:
            measurement = Measurement(latency)
            _fake(url, "POST", "/_fake/faults", {"reset": True})
            _fake(url, "POST", "/_fake/faults", {"latency_s": latency})
            before = _fake(url, "GET", "/_fake/stats")["calls"]
            for _ in range(repeats):
                wall, cpu, failed = batch(BATCH, uuid.uuid4().hex[:8])
                measurement.walls.append(wall)
                measurement.cpus.append(cpu)
                measurement.failures += failed
            measurement.model_calls = _fake(url, "GET", "/_fake/stats")["calls"] - before
            _fake(url, "POST", "/_fake/faults", {"reset": True})
            results.append(measurement)
    return results


def rows(results: list[Measurement], *, aws_in_process: bool = False) -> list[Row]:
    out: list[Row] = []
    for m in results:
        label = f"{m.latency_s:g} s"
        complete = m.failures == 0 and m.model_calls == BATCH * len(m.walls)
        # the goal is the worker's; with moto in its process the row is a comparison
        met = None if aws_in_process and complete else complete and m.ratio <= GOAL
        where = ", moto in the worker's process" if aws_in_process else ""
        out.append(
            Row(
                "batch concurrency",
                f"wall / ({BATCH} x {label} latency){where}",
                f"{m.ratio:.3f} (median {m.wall:.2f} s of {len(m.walls)}: "
                + ", ".join(f"{w:.2f}" for w in m.walls)
                + f" s; sequential would be {BATCH * m.latency_s:g} s; "
                f"{m.model_calls} model calls, {m.failures} failures; "
                f"this process's CPU {median(m.cpus):.2f} s a batch)",
                "" if met is None else f"<= {GOAL}",
                met,
            )
        )
    return out


def table_rows() -> list[Row]:
    """For ``python -m bench`` (bench/run_all.py)."""
    shared = rows(run((1.0,), aws_in_process=True), aws_in_process=True)
    return rows(run()) + shared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_concurrency", description=__doc__)
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument(
        "--latency", type=float, action="append", help="fake model latency in s (1 and 5)"
    )
    parser.add_argument(
        "--moto-in-process",
        action="store_true",
        help="moto in the worker's process (a comparison: its CPU shares the interpreter)",
    )
    args = parser.parse_args(argv)
    latencies = tuple(args.latency) if args.latency else DEFAULT_LATENCIES
    results = run(latencies, max(1, args.repeats), aws_in_process=args.moto_in_process)
    table = rows(results, aws_in_process=args.moto_in_process)
    print(render(table, title="Worker batch concurrency"))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
