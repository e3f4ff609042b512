"""Run ``events/*.json`` with the ``sam local invoke`` stand-in against a running stack.

``python -m tests.local_invoke_runner --aws-endpoint URL --out results.json FILE...``
(run by tests/test_e2e.py in a child process, with ``ANTHROPIC_BASE_URL`` pointing
at the stack's model). It seeds what ``events/README.md``'s "needs" column names
(the invocations and the batch the events refer to, for the events' tenant), then
runs each file with :func:`local.invoke.invoke_function` (what ``agw local invoke``
runs) in this one process, like a warm Lambda container, and writes
``{file: {"function", "response", "error"}}`` as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from local.invoke import function_environment, invoke_function, load_template, runtime_environment
from local.runtime import patched_environ
from local.template import DEFAULT_REGION, Template

SEEDED_INVOCATION = "inv_0193a5f2c4e87b1d9e0f3a6b5c2d8e71"
SEEDED_QUEUED = "inv_0193a5f2c4e87b1d9e0f3a6b5c2d8e72"
SEEDED_BATCH = "bat_0193a5f2d1c0e4b7a9f8e2d3c4b5a697"
EVENTS_TENANT = "k7r2m9x4qa"


def function_for(path: Path) -> str:
    """The template function an event file is for (``api-*`` -> ApiFunction, ``webhook-*`` ->
    WebhookFunction, else the worker)."""
    if path.name.startswith("webhook-"):
        return "WebhookFunction"
    return "ApiFunction" if path.name.startswith("api-") else "WorkerFunction"


def seed(template: Template) -> None:
    from tests.plugins.api import seed_batch, seed_invocation

    function = template.function("ApiFunction")
    env, _ = function_environment(function)
    env.update(runtime_environment(function, template.endpoint_url, template.region))
    with patched_environ(env):
        seed_invocation(SEEDED_INVOCATION, tenant=EVENTS_TENANT)
        seed_invocation(SEEDED_QUEUED, tenant=EVENTS_TENANT, status="QUEUED")
        seed_batch(SEEDED_BATCH, tenant=EVENTS_TENANT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.local_invoke_runner")
    parser.add_argument("--aws-endpoint", required=True)
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)

    template = load_template(args.template, endpoint_url=args.aws_endpoint, region=DEFAULT_REGION)
    seed(template)
    results: dict[str, Any] = {}
    for path in args.files:
        event = json.loads(path.read_text(encoding="utf-8"))
        result = invoke_function(template, function_for(path), event)
        results[path.name] = {
            "function": result.function,
            "response": result.response,
            "error": result.error,
        }
    args.out.write_text(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
