"""Every Lambda handler registers its SnapStart hooks with the runtime's
``snapshot_restore_py``: before the snapshot the heavy imports are paid (no client is built),
after a restore the container's clients and caches are gone. Run in a child process with a
stand-in ``snapshot_restore_py`` module (the real one exists only in the Lambda runtime)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.plugins.children import checkout_environment, python_output

ROOT = Path(__file__).resolve().parents[1]

HANDLERS = ("api", "authorizer", "collector", "sweeper", "webhooks", "worker")

CHILD = """
import json, sys, types
before, after = [], []
runtime = types.ModuleType("snapshot_restore_py")
runtime.register_before_snapshot = before.append
runtime.register_after_restore = after.append
sys.modules["snapshot_restore_py"] = runtime
import importlib
from agents import aws
report = {}
for name in sys.argv[1:]:
    del before[:], after[:]
    importlib.import_module("handlers." + name)
    for hook in before:
        hook()
    clients_after_snapshot = len(aws.CLIENTS.values())
    aws.client("sqs")
    built = len(aws.CLIENTS.values())
    for hook in after:
        hook()
    report[name] = {
        "before": len(before), "after": len(after),
        "clients_after_snapshot": clients_after_snapshot, "built": built,
        "clients_after_restore": len(aws.CLIENTS.values()),
        "anthropic": "anthropic" in sys.modules,
    }
print(json.dumps(report))
"""


def test_each_handler_registers_hooks_that_drop_clients_after_a_restore() -> None:
    env = {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_NAMESPACE": "agent-gateway-test"}
    stdout = python_output(["-c", CHILD, *HANDLERS], env=checkout_environment(env))
    report = json.loads(stdout.strip().splitlines()[-1])
    for name in HANDLERS:
        hooks = report[name]
        assert (hooks["before"], hooks["after"]) == (1, 1), name
        assert hooks["clients_after_snapshot"] == 0, name  # no client (no credentials) snapshotted
        assert hooks["built"] == 1, name
        assert hooks["clients_after_restore"] == 0, name
    assert report["worker"]["anthropic"]  # the worker's snapshot holds the SDK import
