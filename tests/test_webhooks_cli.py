"""``agw webhooks`` against moto (target from the environment), with a receiver on 127.0.0.1:
subscriptions, the secret and its rotation, the DLQ listing and its redrive."""

from __future__ import annotations

import json
from typing import Any

import pytest
from standardwebhooks import Webhook

from agents.webhooks.runtime import get_processor
from agw.cli import main
from tests.plugins.webhooks import WebhookStack, pump
from tests.test_webhooks import TENANT, _finish


def _agw(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> Any:
    assert main([*argv, "--json"]) == status, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_subscriptions_secret_rotation_and_dlq_redrive_through_the_cli(
    webhook_stack: WebhookStack,
    receiver_factory: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGW_DEV_FILE", "/nonexistent/dev.json")
    # outside agw dev (the target is not the dev file), http://127.0.0.1 is refused
    assert main(["webhooks", "add", "--tenant", TENANT, "--url", "http://127.0.0.1:9/"]) == 1
    assert "https" in capsys.readouterr().err
    added = _agw(
        capsys,
        "webhooks",
        "add",
        "--tenant",
        TENANT,
        "--url",
        "https://hooks.example.test/x",
        "--event",
        "batch.completed",
    )
    [listed] = _agw(capsys, "webhooks", "list", "--tenant", TENANT)
    assert listed["events"] == ["batch.completed"]
    _agw(capsys, "webhooks", "remove", "--tenant", TENANT, added["subscription_id"])
    assert _agw(capsys, "webhooks", "list", "--tenant", TENANT) == []

    flaky = receiver_factory([500])
    secret = _agw(capsys, "webhooks", "secret", "--tenant", TENANT)["secret"]
    assert secret.startswith("whsec_")
    assert _agw(capsys, "webhooks", "secret", "--tenant", TENANT)["secret"] == secret
    rotated = _agw(capsys, "webhooks", "rotate", "--tenant", TENANT, "--grace-hours", "1")
    assert rotated["secret"] != secret

    _finish(flaky.url)
    pump(get_processor(), webhook_stack.queue_url)
    [dead] = _agw(capsys, "webhooks", "deliveries")
    assert dead["kind"] == "delivery"
    assert dead["attempt"] == 4
    for request in flaky.requests:  # both secrets verify during the grace period
        Webhook(secret).verify(request.body, request.headers)
        Webhook(rotated["secret"]).verify(request.body, request.headers)

    flaky.statuses = [200]
    report = _agw(capsys, "webhooks", "redrive", dead["webhook_id"])
    assert report == [{"id": dead["webhook_id"], "action": "redriven"}]
    assert pump(get_processor(), webhook_stack.queue_url) == ["delivered"]
    assert {r.headers["webhook-id"] for r in flaky.requests} == {dead["webhook_id"]}
    assert _agw(capsys, "webhooks", "deliveries") == []
