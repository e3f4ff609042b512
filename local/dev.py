"""The whole stack on loopback in one process: what ``agw dev`` (``make dev``) runs.

:class:`DevStack` composes the local pieces (docs/local.md):

1. moto in server mode with every table, queue, DLQ and bucket of
   ``template.yaml`` (:class:`local.aws_stack.LocalAwsStack`);
2. the model: the real Anthropic API when ``ANTHROPIC_API_KEY`` is set, else
   the fake Messages API (:class:`local.fake_anthropic.FakeAnthropicServer`),
   the *offline model*, whose every answer says so;
3. the process environment both functions get from the template
   (:meth:`StackDescription.merged_environment`) plus the AWS endpoint, fake AWS
   credentials and the model's base URL / key;
4. ``definitions/`` linted and pushed to the agents bucket (lint errors refuse
   the start);
5. the API Gateway shim in front of ``handlers.api.handler`` and the SQS poller
   feeding ``handlers.worker.handler``.

``start()`` returns a :class:`DevInfo` (URLs, keys, resource names);
``stop()`` stops everything it started, in reverse order, bounded and
idempotent, and restores the environment. It is a context manager too::

    with DevStack(api_port=0, aws_port=0, model_port=0, api_keys=["k1", "k2"]) as info:
        httpx.get(info.api_url + "/health", headers={"x-api-key": "k1"})

Ports ``0`` pick free ports (tests). A taken port is a
:class:`local.aws_stack.PortInUseError` naming the flag that changes it.

Everything lives in moto's memory: stopping the stack forgets every
invocation, batch and pushed definition.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from local.apigw import DEFAULT_API_PORT, ApiGatewayShim, api_key_id
from local.aws_stack import DEFAULT_AWS_PORT, LocalAwsStack, PortInUseError, StackDescription
from local.dev_file import DevFile, DevFileModel, DevFileResources
from local.invoke import DEFAULT_MODEL_PORT, OFFLINE_API_KEY
from local.runtime import Handler, load_handler, reset_project_caches
from local.template import DEFAULT_REGION, DEFAULT_STACK_NAME, FunctionSpec

if TYPE_CHECKING:
    from local.fake_anthropic import FakeAnthropicServer
    from local.sqs_poller import SqsPoller

__all__ = [
    "DEFAULT_API_PORT",
    "DEFAULT_AWS_PORT",
    "DEFAULT_FAILURE_VISIBILITY_S",
    "DEFAULT_MODEL_PORT",
    "FLAGSHIP_AGENT",
    "DevInfo",
    "DevStack",
    "DevStackError",
    "PortInUseError",
    "generate_api_key",
]

log = logging.getLogger(__name__)

#: The agent ``agw dev`` demonstrates and its curl example invokes.
FLAGSHIP_AGENT = "backend-engineer-python"
#: Local only: failed SQS records come back after this many seconds instead of
#: the queue's 5400 s visibility timeout (docs/local.md, decision 7.5).
DEFAULT_FAILURE_VISIBILITY_S = 2
API_FUNCTION = "ApiFunction"
WORKER_FUNCTION = "WorkerFunction"
#: Upper bound for waiting on in-flight worker batches at stop.
WORKER_STOP_TIMEOUT_S = 5.0
_HEALTH_TIMEOUT_S = 10.0


class DevStackError(RuntimeError):
    """The local stack cannot start (the message says why and what to do)."""


def generate_api_key() -> str:
    """A fresh local API key (the shim accepts it; it means nothing anywhere else)."""
    return "agw-local-" + secrets.token_urlsafe(18)


class DevInfo(BaseModel):
    """What :meth:`DevStack.start` started: where it listens and what it created."""

    model_config = ConfigDict(frozen=True)

    api_url: str
    aws_url: str
    #: ``offline`` (the fake Messages API) or ``anthropic`` (the real API).
    model: Literal["offline", "anthropic"]
    #: The fake Messages API (its ``/_fake/*`` control endpoints), or ``None`` with the real API.
    model_url: str | None
    api_keys: list[str]
    #: API key -> tenant (the key id API Gateway gives the function).
    tenants: dict[str, str]
    stack_name: str
    region: str
    queue_url: str
    dlq_url: str
    agents_bucket: str
    agents_prefix: str
    #: Agent names pushed from the definitions folder.
    agents: list[str]
    #: The environment both functions run with (``ANTHROPIC_API_KEY`` left out).
    environment: dict[str, str]
    #: Variables the two functions set differently (the first function's value is used).
    environment_conflicts: list[str]
    worker: bool
    started_in_s: float

    def dev_file(self, *, pid: int, project_root: Path, started_at: str) -> DevFile:
        """What ``agw dev`` writes to ``.agw/dev.json`` (no real Anthropic key in it)."""
        env = self.environment
        offline = self.model == "offline"
        return DevFile(
            pid=pid,
            started_at=started_at,
            project_root=str(project_root),
            stack_name=self.stack_name,
            region=self.region,
            api_url=self.api_url,
            aws_url=self.aws_url,
            model=DevFileModel(
                kind=self.model,
                base_url=self.model_url if offline else os.environ.get("ANTHROPIC_BASE_URL"),
                key_source="offline-placeholder" if offline else "environment",
                offline_api_key=OFFLINE_API_KEY if offline else None,
            ),
            resources=DevFileResources(
                invocations_table=env.get("INVOCATIONS_TABLE", ""),
                idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
                queue_url=self.queue_url,
                dlq_url=self.dlq_url,
                agents_bucket=self.agents_bucket,
                agents_prefix=self.agents_prefix,
                payload_bucket=env.get("PAYLOAD_BUCKET", ""),
                payload_prefix=env.get("PAYLOAD_PREFIX", "payloads/"),
            ),
            tenants=dict(self.tenants),
            environment=dict(self.environment),
        )

    def curl_invoke(self, agent: str = FLAGSHIP_AGENT, text: str | None = None) -> str:
        """A ready-to-paste curl for a synchronous invocation of ``agent``."""
        body = json.dumps({"input": text or DEMO_INPUT})
        quoted = "'" + body.replace("'", "'\\''") + "'"
        return (
            f"curl -sS {self.api_url}/agents/{agent}/invocations \\\n"
            f"  -H 'x-api-key: {self.api_keys[0]}' -H 'Content-Type: application/json' \\\n"
            f"  -d {quoted}"
        )


DEMO_INPUT = (
    "Add a GET /health endpoint to a FastAPI service that reports the database "
    "connection status, with a pytest test."
)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a stopped server's connections in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


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
      redelivered (``None`` keeps the queue's own timeout).
    * ``env_overrides``: extra variables for the functions (after the template's);
      ``parameter_overrides``: template parameters.
    * ``definitions``: folders/files pushed to the agents bucket (lint first).
    """

    def __init__(
        self,
        *,
        template: Path | str = "template.yaml",
        definitions: Sequence[Path | str] = ("definitions",),
        host: str = "127.0.0.1",
        api_port: int = DEFAULT_API_PORT,
        aws_port: int = DEFAULT_AWS_PORT,
        model_port: int = DEFAULT_MODEL_PORT,
        api_keys: Iterable[str] | None = None,
        anthropic_api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
        worker: bool = True,
        worker_concurrency: int | None = None,
        failure_visibility_timeout: int | None = DEFAULT_FAILURE_VISIBILITY_S,
        env_overrides: Mapping[str, str] | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        verbose: bool = False,
    ) -> None:
        self.template_path = Path(template)
        self.definitions = [Path(d) for d in definitions]
        self.host = host
        self.api_port = api_port
        self.aws_port = aws_port
        self.model_port = model_port
        keys = list(dict.fromkeys(api_keys or ()))
        self.api_keys = keys or [generate_api_key()]
        for key in self.api_keys:
            if not key or any(ch.isspace() for ch in key) or not key.isprintable():
                raise DevStackError("an API key must be non-empty printable text without spaces")
        source = os.environ if environ is None else environ
        if anthropic_api_key is None:
            anthropic_api_key = source.get("ANTHROPIC_API_KEY", "").strip()
        self._anthropic_key = anthropic_api_key
        self.worker = worker
        self.worker_concurrency = worker_concurrency
        self.failure_visibility_timeout = failure_visibility_timeout
        self.env_overrides = dict(env_overrides or {})
        self.parameter_overrides = dict(parameter_overrides or {})
        self.stack_name = stack_name
        self.region = region
        self.verbose = verbose
        self.info: DevInfo | None = None
        self._lock = threading.Lock()
        self._aws: LocalAwsStack | None = None
        self._fake: FakeAnthropicServer | None = None
        self._api: ApiGatewayShim | None = None
        self._poller: SqsPoller | None = None
        self._saved_env: dict[str, str | None] | None = None

    @property
    def offline(self) -> bool:
        """True when the fake Messages API stands in for the model."""
        return not self._anthropic_key

    @property
    def fake_model(self) -> FakeAnthropicServer | None:
        """The in-process fake Messages API (``None`` with the real API or before start)."""
        return self._fake

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> DevInfo:
        with self._lock:
            if self.info is not None:
                return self.info
            started = time.monotonic()
            try:
                self.info = self._start(started)
            except BaseException:
                self._stop()
                raise
            return self.info

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice, bounded in time."""
        with self._lock:
            self._stop()

    def __enter__(self) -> DevInfo:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- internals

    def _preflight(self) -> None:
        if not self.template_path.is_file():
            raise DevStackError(
                f"{self.template_path} not found: run from the repository root "
                "(or pass the template path)"
            )
        missing = [str(d) for d in self.definitions if not d.exists()]
        if missing:
            raise DevStackError(f"definitions not found: {', '.join(missing)}")
        ports = [
            ("the API", self.api_port, "--port"),
            ("moto (local AWS)", self.aws_port, "--aws-port"),
        ]
        if self.offline:
            ports.append(("the fake Messages API (offline model)", self.model_port, "--model-port"))
        seen: dict[int, str] = {}
        for what, port, flag in ports:
            if port == 0:
                continue
            if port in seen:
                raise DevStackError(f"{seen[port]} and {flag} both ask for port {port}")
            seen[port] = flag
            if not _port_free(self.host, port):
                raise PortInUseError(what, self.host, port, flag)

    def _start(self, started: float) -> DevInfo:
        self._preflight()
        self._aws = LocalAwsStack(
            self.template_path,
            host=self.host,
            port=self.aws_port,
            stack_name=self.stack_name,
            region=self.region,
            parameter_overrides=self.parameter_overrides,
            verbose=self.verbose,
        )
        stack = self._aws.start()
        model_env = self._start_model()
        env, conflicts = stack.merged_environment({**model_env, **self.env_overrides})
        for name in conflicts:
            log.warning("%s differs between the functions; using %s's value", name, API_FUNCTION)
        self._apply_environment(env)
        agents = self._push_definitions(env)
        template = self._aws.template

        api = ApiGatewayShim.from_template(
            template, [API_FUNCTION], api_keys=self.api_keys, host=self.host, port=self.api_port
        )
        _import_handler(lambda: api.handler_for(API_FUNCTION), template.function(API_FUNCTION))
        self._api = api
        api_url = api.start()

        if self.worker:
            from local.sqs_poller import SqsPoller

            function = template.function(WORKER_FUNCTION)
            worker_handler = _import_handler(lambda: load_handler(function), function)
            self._poller = SqsPoller.from_template(
                template,
                WORKER_FUNCTION,
                handler=worker_handler,
                concurrency=self.worker_concurrency,
                failure_visibility_timeout=self.failure_visibility_timeout,
            )
            self._poller.start()

        self._wait_healthy(api_url)
        queue, dlq = self._queues(stack)
        return DevInfo(
            api_url=api_url,
            aws_url=stack.endpoint_url,
            model="offline" if self.offline else "anthropic",
            model_url=self._fake.url if self._fake is not None else None,
            api_keys=list(self.api_keys),
            tenants={key: api_key_id(key) for key in self.api_keys},
            stack_name=stack.stack_name,
            region=stack.region,
            queue_url=queue,
            dlq_url=dlq,
            agents_bucket=env.get("AGENTS_BUCKET", ""),
            agents_prefix=env.get("AGENTS_PREFIX", "agents/"),
            agents=agents,
            environment={k: v for k, v in env.items() if k != "ANTHROPIC_API_KEY"},
            environment_conflicts=conflicts,
            worker=self.worker,
            started_in_s=round(time.monotonic() - started, 3),
        )

    def _start_model(self) -> dict[str, str]:
        if not self.offline:
            log.info("model: the Anthropic API (ANTHROPIC_API_KEY is set)")
            return {"ANTHROPIC_API_KEY": self._anthropic_key}
        from local.fake_anthropic import FakeAnthropicServer

        fake = FakeAnthropicServer(self.host, self.model_port, verbose=self.verbose)
        try:
            fake.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    "the fake Messages API (offline model)",
                    self.host,
                    self.model_port,
                    "--model-port",
                ) from None
            raise
        self._fake = fake
        log.warning("model: OFFLINE fake Messages API at %s (no ANTHROPIC_API_KEY)", fake.url)
        return {
            "ANTHROPIC_BASE_URL": fake.url,
            "ANTHROPIC_API_KEY": OFFLINE_API_KEY,
        }

    def _apply_environment(self, env: Mapping[str, str]) -> None:
        if self._saved_env is None:
            self._saved_env = {}
        for name in env:
            self._saved_env.setdefault(name, os.environ.get(name))
        os.environ.update(env)
        reset_project_caches()

    def _restore_environment(self) -> None:
        saved, self._saved_env = self._saved_env, None
        if not saved:
            return
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_project_caches()

    def _push_definitions(self, env: Mapping[str, str]) -> list[str]:
        import boto3

        from agents.config import Settings
        from agents.publish import push_paths

        bucket = env.get("AGENTS_BUCKET", "")
        prefix = env.get("AGENTS_PREFIX", "agents/")
        if not bucket:
            raise DevStackError("the template gives the functions no AGENTS_BUCKET")
        assert self._aws is not None
        s3 = boto3.session.Session(region_name=self.region).client("s3", endpoint_url=self._aws.url)
        report, pushed = push_paths(
            [str(d) for d in self.definitions],
            bucket,
            prefix,
            s3=s3,
            settings=Settings.from_env(env),
        )
        if not report.ok:
            findings = "\n".join(f.format() for f in report.findings if f.severity == "error")
            raise DevStackError(
                f"the definitions have lint errors; nothing was started:\n{findings}\n"
                "fix them (agw agents lint definitions/) and start again"
            )
        return sorted(p.name for p in pushed)

    @staticmethod
    def _queues(stack: StackDescription) -> tuple[str, str]:
        env = stack.functions[API_FUNCTION].environment
        return env.get("INVOCATION_QUEUE_URL", ""), env.get("DLQ_URL", "")

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

    def _stop(self) -> None:
        poller, self._poller = self._poller, None
        api, self._api = self._api, None
        fake, self._fake = self._fake, None
        aws, self._aws = self._aws, None
        steps: list[tuple[str, Any]] = [
            ("the SQS poller", poller and (lambda: poller.stop(timeout_s=WORKER_STOP_TIMEOUT_S))),
            ("the API shim", api and api.stop),
            ("the fake Messages API", fake and fake.stop),
            ("moto", aws and aws.stop),
        ]
        for what, stop in steps:
            if stop is None:
                continue
            try:
                stop()
            except Exception:  # keep stopping the rest; say what failed
                log.exception("stopping %s failed", what)
        self._restore_environment()
        self.info = None


def _import_handler(load: Callable[[], Handler], function: FunctionSpec) -> Handler:
    """Import a function's handler now (errors and cold start before READY)."""
    try:
        return load()
    except (ImportError, AttributeError, FileNotFoundError) as exc:
        raise DevStackError(
            f"cannot load {function.logical_id}'s handler {function.handler} "
            f"(CodeUri {function.code_uri}): {type(exc).__name__}: {exc}"
        ) from exc
