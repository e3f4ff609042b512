"""The request's ``webhook`` field through ``handlers.api``: kept and shown, or refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.api import ApiClient

pytestmark = pytest.mark.integration

PATH = "/agents/code-reviewer-fast/invocations"
BODY: dict[str, Any] = {
    "input": "def add(a, b):\n    return a - b\n",
    "context": {"language": "go"},
}


def test_the_webhook_is_kept_on_invocations_and_batches_and_bad_urls_are_refused(
    api: ApiClient,
) -> None:
    hook = {"url": "https://hooks.example.test/agw?x=1"}
    queued = api.post(PATH, {**BODY, "mode": "async", "webhook": hook})
    assert queued.status == 202, queued.json
    assert api.get(f"/invocations/{queued.json['id']}").json["webhook"] == hook

    batch = api.post("/batches", {"agent": "code-reviewer-fast", "items": [BODY], "webhook": hook})
    assert batch.status == 202, batch.json
    assert api.get(f"/batches/{batch.json['id']}").json["webhook"] == hook

    for url in ("http://hooks.example.test/", "https://169.254.169.254/", "https://10.0.0.1/"):
        refused = api.post(PATH, {**BODY, "mode": "async", "webhook": {"url": url}})
        assert refused.status == 422, refused.json
        assert refused.json["type"] == "/problems/webhook-url-refused"
    too_long = api.post(PATH, {**BODY, "webhook": {"url": "https://x.test/" + "a" * 2100}})
    assert too_long.status == 422
    assert too_long.json["type"] == "/problems/validation-error"
