"""The child processes of the resumable-run scenarios (15-19): a function in its own process.

moto and the fake model stay in the suite's process, so everything a child wrote survives
its ``kill -9``. Both children inherit the suite's function environment (endpoints, tables,
queues), the way a Lambda sandbox gets its configuration.

    python -m bench.reliability.resume_children worker EVENT.json [TIMEOUT_S]
        one invocation of the worker function's handler with that SQS event (a delivery,
        or its redelivery); the handler's answer as JSON on stdout.
    python -m bench.reliability.resume_children api
        the API function behind the API Gateway shim on a free port; prints ``READY <url>``
        and serves until killed.

``AGW_CRASH_AT`` / ``AGW_CRASH_MARKER`` in the environment arm the engine's crash points
(``agents.crash_points``); ``AGW_REL_AWS_URL``, ``AGW_REL_STACK``, ``AGW_REL_REGION`` and
``AGW_REL_API_KEY`` tell the API child where the stack is.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORKER_FUNCTION = "WorkerFunction"
API_FUNCTION = "ApiFunction"

__all__ = ["sqs_event"]


def sqs_event(body: str, *, receive_count: int, queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event of one delivery of ``body`` (what the event source mapping sends)."""
    now_ms = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"rel-{uuid.uuid4().hex}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": now_ms,
                    "SenderId": "AIDARELIABILITY",
                    "ApproximateFirstReceiveTimestamp": now_ms,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        ]
    }


def _worker(event_path: str, timeout_s: float) -> int:
    from local.lambda_context import LambdaContext

    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    from handlers.worker import handler

    context = LambdaContext(
        function_name="agent-gateway-worker",
        invoked_function_arn="arn:aws:lambda:local:000000000000:function:worker",
        memory_limit_in_mb=1024,
        timeout_seconds=timeout_s,
    )
    answer = handler(event, context)
    print(json.dumps(answer), flush=True)
    return 0


def _api() -> int:
    import os

    from local.apigw import ApiGatewayShim
    from local.template import Template

    template = Template.load(
        REPO / "template.yaml",
        endpoint_url=os.environ["AGW_REL_AWS_URL"],
        stack_name=os.environ["AGW_REL_STACK"],
        region=os.environ["AGW_REL_REGION"],
    )
    shim = ApiGatewayShim.from_template(
        template, [API_FUNCTION], api_keys=[os.environ["AGW_REL_API_KEY"]], port=0
    )
    shim.handler_for(API_FUNCTION)  # the cold start before READY
    url = shim.start()
    print(f"READY {url}", flush=True)
    threading.Event().wait()  # until killed
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"] and len(argv) in (2, 3):
        return _worker(argv[1], float(argv[2]) if len(argv) == 3 else 60.0)
    if argv == ["api"]:
        return _api()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
