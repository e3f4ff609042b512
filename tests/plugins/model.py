"""The fake Messages API on loopback: every model call in the tests is real HTTP.

``fake_model_server`` (session) runs one :class:`FakeAnthropicServer`;
``fake_model`` (per test) resets its faults, stats, request log and prompt
cache over its HTTP control API, points the SDK at it (``ANTHROPIC_BASE_URL``,
``ANTHROPIC_API_KEY``) and forgets the runner's cached client. It yields a
:class:`FakeModel` handle for fault injection and stats. ``fake_model_sdk`` is a
real ``anthropic.Anthropic`` client on it (no SDK retries).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from local.fake_anthropic import FakeAnthropicServer
from local.runtime import patched_environ

if TYPE_CHECKING:
    import anthropic  # imported in the fixture: importing the plugin never loads the SDK

FAKE_API_KEY = "sk-ant-test-FAKEKEY-0123456789"
_ENV = (
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_API_KEY_SECRET",
    "ANTHROPIC_AUTH_TOKEN",
)


class FakeModel:
    """A handle on the running fake: its URL and its HTTP control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.api_key = FAKE_API_KEY

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def fault(self, **spec: Any) -> Any:
        """``POST /_fake/faults`` with ``spec`` (e.g. ``fault(status=529, count=2)``)."""
        return self._call("POST", "/_fake/faults", spec)

    def faults(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self._call("GET", "/_fake/faults")["active"]
        return active

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._call("GET", "/_fake/stats")
        return stats

    def requests(self, limit: int = 10) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", f"/_fake/requests?limit={limit}")[
            "requests"
        ]
        return found

    def reset(self) -> None:
        self._call("POST", "/_fake/reset", {})


@pytest.fixture(scope="session")
def fake_model_server() -> Iterator[FakeAnthropicServer]:
    server = FakeAnthropicServer(host="127.0.0.1", port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_model(fake_model_server: FakeAnthropicServer) -> Iterator[FakeModel]:

    handle = FakeModel(fake_model_server.url)
    handle.reset()
    env = {"ANTHROPIC_BASE_URL": handle.url, "ANTHROPIC_API_KEY": FAKE_API_KEY}
    with patched_environ(env, unset=_ENV):
        try:
            yield handle
        finally:
            handle.reset()


@pytest.fixture
def fake_model_sdk(fake_model: FakeModel) -> Iterator[anthropic.Anthropic]:
    import anthropic

    sdk = anthropic.Anthropic(api_key=FAKE_API_KEY, base_url=fake_model.url, max_retries=0)
    try:
        yield sdk
    finally:
        sdk.close()
