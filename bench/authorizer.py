"""The KEYS authorizer: cold import of ``handlers.authorizer`` and warm CPU per call.

Cold import: a fresh interpreter per sample times ``import handlers.authorizer`` (and
reports whether anthropic came with it). Warm CPU: ``handlers.authorizer.handler`` on a
valid key, over moto's in-process ``mock_aws`` (the TenantsTable from template.yaml, the
pepper secret); ``time.process_time()`` per call minus the CPU moto spends answering
(:class:`bench.handler_overhead.MotoCpu`). API Gateway's result cache is off here: every
call is an uncached authorization.

    python -m bench.authorizer [--samples 7] [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.table import Row, median, render

ROOT = Path(__file__).resolve().parents[1]
#: Goal for the warm CPU per uncached call (issue #18).
WARM_CPU_GOAL_MS = 5.0

_PROBE = (
    "import json, sys, time\n"
    "t = time.perf_counter()\n"
    "import handlers.authorizer\n"
    "ms = (time.perf_counter() - t) * 1000\n"
    "print(json.dumps({'ms': ms, 'anthropic': 'anthropic' in sys.modules}))\n"
)


def cold_import(samples: int) -> tuple[float, bool]:
    """Median ms of ``import handlers.authorizer`` and whether anthropic was imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "AWS_DEFAULT_REGION": "us-east-1"}
    times, heavy = [], False
    for _ in range(samples):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
        )
        found = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(float(found["ms"]))
        heavy = heavy or bool(found["anthropic"])
    return median(times), heavy


def warm_cpu(calls: int) -> float:
    """Median CPU ms per uncached authorization (moto's own CPU left out)."""
    from moto import mock_aws

    from agents import aws, container
    from agents.tenants import lifecycle
    from agents.tenants.table import TenantsTable
    from bench.handler_overhead import MotoCpu
    from local.aws_resources import create_table
    from local.runtime import patched_environ
    from local.template import Template

    env = {
        "TENANTS_TABLE": "bench-tenants",
        "TENANT_KEY_PEPPER_SECRET": "bench/pepper",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    with patched_environ(env, unset=["AWS_ENDPOINT_URL"]), mock_aws():
        container.reset()
        spec = next(t for t in Template.load(ROOT / "template.yaml").tables()
                    if t.logical_id == "TenantsTable")  # fmt: skip
        create_table(aws.client("dynamodb"), spec, table_name="bench-tenants")
        aws.client("secretsmanager").create_secret(Name="bench/pepper", SecretString="p" * 48)
        table = TenantsTable(aws.client("dynamodb"), "bench-tenants")
        _, issued = lifecycle.create_tenant(table, b"p" * 48, "bench")
        from handlers import authorizer

        event: dict[str, Any] = {
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/v1/GET/health",
            "headers": {"x-api-key": issued.key.value},
        }
        authorizer.handler(event, None)  # warm: clients, pepper cache
        samples = []
        with MotoCpu() as moto:
            for _ in range(calls):
                before_moto, start = moto.seconds, time.process_time()
                answer = authorizer.handler(event, None)
                spent = time.process_time() - start - (moto.seconds - before_moto)
                samples.append(spent * 1000)
                assert answer["principalId"]
        container.reset()
    return median(samples)


def rows(samples: int = 7, calls: int = 300) -> list[Row]:
    cold_ms, heavy = cold_import(samples)
    warm_ms = warm_cpu(calls)
    return [
        Row(
            "authorizer",
            f"cold import handlers.authorizer (median of {samples})",
            f"{cold_ms:.0f} ms" + (" (imports anthropic!)" if heavy else ", no anthropic"),
            "no anthropic",
            not heavy,
        ),
        Row(
            "authorizer",
            f"warm CPU per uncached call (median of {calls})",
            f"{warm_ms:.2f} ms",
            f"<= {WARM_CPU_GOAL_MS:g} ms",
            warm_ms <= WARM_CPU_GOAL_MS,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    print(render(rows(args.samples, args.calls), title="KEYS authorizer"))


if __name__ == "__main__":
    main()
