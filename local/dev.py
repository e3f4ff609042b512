"""The whole stack on loopback in one process: what ``agw dev`` (``make dev``) runs.

:class:`DevStack` is :class:`local.stack.LocalStack` with every piece on (moto and the
template's resources, the model, the environment, ``definitions/``, the API shim, the
SQS poller), checked first (files, ports) and healthy before ``start()`` returns a
:class:`DevInfo`. docs/local.md describes the pieces. Ports ``0`` pick free ports; a
taken port is a :class:`local.ports.PortInUseError` naming the flag that changes it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Unpack

from local.apigw import DEFAULT_API_PORT
from local.dev_info import DEMO_INPUT, FLAGSHIP_AGENT, DevInfo, generate_api_key
from local.invoke import DEFAULT_MODEL_PORT
from local.moto_server import DEFAULT_AWS_PORT
from local.ports import PortInUseError, port_free
from local.stack import (
    API_FUNCTION,
    DEFAULT_COLLECTOR_PERIOD_S,
    DEFAULT_SWEEPER_PERIOD_S,
    WORKER_STOP_TIMEOUT_S,
    LocalStack,
    LocalStackError,
    StackOptions,
)

if TYPE_CHECKING:
    from local.fake_anthropic import FakeAnthropicServer
    from local.stack_description import StackDescription

__all__ = [
    "DEFAULT_API_PORT",
    "DEFAULT_AWS_PORT",
    "DEFAULT_FAILURE_VISIBILITY_S",
    "DEFAULT_MODEL_PORT",
    "DEFAULT_SWEEPER_PERIOD_S",
    "DEMO_INPUT",
    "FLAGSHIP_AGENT",
    "WORKER_STOP_TIMEOUT_S",
    "DevInfo",
    "DevStack",
    "DevStackError",
    "PortInUseError",
    "generate_api_key",
]

log = logging.getLogger(__name__)

#: Local only: failed SQS records come back after this many seconds instead of
#: the queue's 5400 s visibility timeout (docs/local.md, decision 7.5).
DEFAULT_FAILURE_VISIBILITY_S = 2
_HEALTH_TIMEOUT_S = 10.0

#: The error ``agw dev`` reports without a traceback (the local stack's own).
DevStackError = LocalStackError


class DevStack:
    """moto + the template's resources + the model + the API shim + the SQS poller.

    Options:

    * ``api_port`` / ``aws_port`` / ``model_port``: 0 picks a free port;
      ``model_port`` is unused with the real API.
    * ``api_keys``: each key is a tenant; default one generated key.
    * ``anthropic_api_key``: ``None`` reads ``ANTHROPIC_API_KEY`` from ``environ``
      (default ``os.environ``); an empty string forces the offline model.
    * ``worker``: start the SQS poller (default true); ``worker_concurrency``:
      its consumer threads (default: the template's mapping); and
      ``failure_visibility_timeout``: seconds before a failed record is
      redelivered (``None`` keeps the queue's own timeout); ``worker_timeout_s``: the
      worker function's timeout (default: the template's), which bounds a segment.
    * ``sweeper_period_s``: run the sweeper every that many seconds (default 5 with the
      worker; ``None``: not at all).
    * ``env_overrides``: extra variables for the functions (after the template's);
      ``parameter_overrides``: template parameters.
    * ``definitions``: folders/files pushed to the agents bucket (lint first).

    Every option but ``api_keys``, ``anthropic_api_key`` and ``environ`` is a
    :class:`local.stack.StackOptions` passed on to :class:`LocalStack`, with ``agw dev``'s
    defaults for the ports, ``worker`` and ``failure_visibility_timeout``.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        anthropic_api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
        **options: Unpack[StackOptions],
    ) -> None:
        keys = list(dict.fromkeys(api_keys or ()))
        self.api_keys = keys or [generate_api_key()]
        for key in self.api_keys:
            if not key or any(ch.isspace() for ch in key) or not key.isprintable():
                raise DevStackError("an API key must be non-empty printable text without spaces")
        source = os.environ if environ is None else environ
        if anthropic_api_key is None:
            anthropic_api_key = source.get("ANTHROPIC_API_KEY", "").strip()
        options.setdefault("aws_port", DEFAULT_AWS_PORT)
        options.setdefault("model_port", DEFAULT_MODEL_PORT)
        options.setdefault("worker", True)
        options.setdefault("webhooks", options["worker"])
        options.setdefault("failure_visibility_timeout", DEFAULT_FAILURE_VISIBILITY_S)
        options.setdefault(
            "sweeper_period_s", DEFAULT_SWEEPER_PERIOD_S if options["worker"] else None
        )
        self.stack = LocalStack(
            anthropic_api_key=anthropic_api_key,
            api_keys=self.api_keys,
            collector_period_s=DEFAULT_COLLECTOR_PERIOD_S if options["worker"] else None,
            **options,
        )
        self.info: DevInfo | None = None
        self._lock = threading.Lock()

    @property
    def offline(self) -> bool:
        """True when the fake Messages API stands in for the model."""
        return self.stack.offline

    @property
    def fake_model(self) -> FakeAnthropicServer | None:
        """The in-process fake Messages API (``None`` with the real API or before start)."""
        return self.stack.fake_model

    def start(self) -> DevInfo:
        with self._lock:
            if self.info is not None:
                return self.info
            started = time.monotonic()
            try:
                self._preflight()
                self.stack.start()
                self.info = self._describe(started)
            except BaseException:
                self.stack.stop()
                raise
            return self.info

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice, bounded in time."""
        with self._lock:
            self.stack.stop()
            self.info = None

    def __enter__(self) -> DevInfo:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _preflight(self) -> None:
        stack = self.stack
        if not stack.template_path.is_file():
            raise DevStackError(
                f"{stack.template_path} not found: run from the repository root "
                "(or pass the template path)"
            )
        missing = [str(d) for d in stack.definitions if not d.exists()]
        if missing:
            raise DevStackError(f"definitions not found: {', '.join(missing)}")
        ports = [
            ("the API", stack.api_port, "--port"),
            ("moto (local AWS)", stack.aws_port, "--aws-port"),
        ]
        if self.offline:
            model = ("the fake Messages API (offline model)", stack.model_port, "--model-port")
            ports.append(model)
        seen: dict[int, str] = {}
        for what, port, flag in ports:
            if port == 0:
                continue
            if port in seen:
                raise DevStackError(f"{seen[port]} and {flag} both ask for port {port}")
            seen[port] = flag
            if not port_free(stack.host, port):
                raise PortInUseError(what, stack.host, port, flag)

    def _describe(self, started: float) -> DevInfo:
        stack = self.stack
        description, api_url, env = stack.description, stack.api_url, stack.env
        assert description is not None
        assert api_url is not None
        self._wait_healthy(api_url)
        queue, dlq = _queues(description)
        fake = stack.fake_model
        return DevInfo(
            api_url=api_url,
            aws_url=description.endpoint_url,
            model="offline" if self.offline else "anthropic",
            model_url=fake.url if fake is not None else None,
            api_keys=list(self.api_keys),
            tenants=dict(stack.tenants),
            stack_name=description.stack_name,
            region=description.region,
            queue_url=queue,
            dlq_url=dlq,
            agents_bucket=env.get("AGENTS_BUCKET", ""),
            agents_prefix=env.get("AGENTS_PREFIX", "agents/"),
            agents=stack.agents,
            environment={k: v for k, v in env.items() if k != "ANTHROPIC_API_KEY"},
            environment_conflicts=stack.environment_conflicts,
            worker=stack.worker,
            worker_timeout_s=stack.poller.timeout_s if stack.poller is not None else None,
            sweeper_period_s=stack.sweeper_period_s,
            started_in_s=round(time.monotonic() - started, 3),
            webhook_secrets=dict(stack.webhook_secrets),
        )

    def _wait_healthy(self, api_url: str) -> None:
        request = urllib.request.Request(
            api_url + "/health", headers={"x-api-key": self.api_keys[0]}
        )
        deadline = time.monotonic() + _HEALTH_TIMEOUT_S
        last = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:300].decode(errors='replace')}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise DevStackError(f"the API did not become healthy at {api_url}/health: {last}")


def _queues(stack: StackDescription) -> tuple[str, str]:
    env = stack.functions[API_FUNCTION].environment
    return env.get("INVOCATION_QUEUE_URL", ""), env.get("DLQ_URL", "")
