"""moto in server mode on loopback: every AWS call in the tests is real HTTP."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
from moto.server import ThreadedMotoServer

from agents import container
from local.runtime import patched_environ

_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Start ``ThreadedMotoServer`` on a free loopback port; yield its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with patched_environ({**_FAKE_AWS_ENV, "AWS_ENDPOINT_URL": endpoint}):
        try:
            yield endpoint
        finally:
            server.stop()


@pytest.fixture
def aws_endpoint(moto_server: str) -> str:
    """A clean moto account for one test (moto's reset API, over HTTP)."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    container.reset()
    return moto_server


@contextmanager
def settings_env(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> Iterator[None]:
    """A fixture's resources named to the settings as ``template.yaml`` names them (the
    functions' environment variables): ``env`` set for the test, every per-container
    value built again from it, and again after the fixture."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    container.reset()
    try:
        yield
    finally:
        container.reset()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Settings are cached per container; each test starts from the environment."""
    container.reset()
    yield
    container.reset()
