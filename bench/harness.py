"""The local stack the request benchmarks drive in-process, and a botocore call counter.

:class:`LocalStack` = :class:`local.stack.LocalStack` (moto server with ``template.yaml``'s
resources, the fake Messages API, ``definitions/`` pushed, the functions' environment
applied to this process). Requests go straight to the handlers as API Gateway
proxy events built by the API shim's own event builder (no HTTP server) and SQS events
built by the poller's.

:class:`CallCounter` counts AWS calls with botocore's event system: ``before-call`` on
each client's ``meta.events`` (every operation, with its service), ``after-call`` for
S3 ``GetObject`` answers that carried a body (HTTP 200, not a 304).
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.aws_stack import StackDescription
    from local.fake_anthropic import FakeAnthropicServer
    from local.sqs_poller import SqsPoller
    from local.stack import LocalStack as LocalStackBuilder
    from local.template import Template

__all__ = [
    "ApiAnswer",
    "ApiCaller",
    "CallCounter",
    "LocalStack",
    "quiet_project_logs",
    "reset_singletons",
]

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "definitions"
BENCH_API_KEY = "agw-bench-api-key-0000000000000000"
BENCH_TENANT = "bench-tenant"


@contextmanager
def quiet_project_logs() -> Iterator[None]:
    """The project's logger at WARNING for the block (its level restored after)."""
    from agents.observability import logger

    level = logger.log_level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def reset_singletons() -> None:
    """Forget every per-container value (a new "container")."""
    from agents import container

    container.reset()


@dataclass
class ApiAnswer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class CallCounter:
    """AWS calls made through the clients it is attached to, in order."""

    calls: list[str] = field(default_factory=list)
    #: The DynamoDB table of each call ("" for other services), parallel to ``calls``.
    tables: list[str] = field(default_factory=list)
    s3_body_downloads: int = 0
    _attached: set[int] = field(default_factory=set)

    def attach(self, client: Any) -> None:
        if id(client) in self._attached:
            return
        self._attached.add(id(client))
        client.meta.events.register("before-call", self.record_call)
        client.meta.events.register("after-call.s3.GetObject", self.record_get_object)

    def clear(self) -> None:
        """Forget the calls counted so far (stay attached)."""
        self.calls.clear()
        self.tables.clear()
        self.s3_body_downloads = 0

    def operations(self, table: str) -> Counter[str]:
        """How many calls of each DynamoDB operation went to ``table``."""
        pairs = zip(self.calls, self.tables, strict=True)
        return Counter(call.split(".", 1)[1] for call, on in pairs if on == table)

    def attach_project_clients(self) -> int:
        """Attach to every client ``agents.aws`` holds; returns how many were new."""
        from agents import aws

        before = len(self._attached)
        for client in aws.CLIENTS.values():
            self.attach(client)
        return len(self._attached) - before

    def record_call(self, model: Any, params: Any = None, **_: Any) -> None:
        """botocore's ``before-call``: one operation (and its DynamoDB table, if any)."""
        self.calls.append(f"{model.service_model.service_name}.{model.name}")
        body = params.get("body") if isinstance(params, dict) else None
        if isinstance(body, (bytes, str)) and model.service_model.service_name == "dynamodb":
            try:
                body = json.loads(body or b"{}")
            except ValueError:
                body = None
        table = ""
        if isinstance(body, dict):
            items: list[dict[str, Any]] = body.get("TransactItems") or [{}]
            first: dict[str, Any] = next(iter(items[0].values()), {}) if items[0] else {}
            table = str(body.get("TableName") or first.get("TableName") or "")
        self.tables.append(table)

    def record_get_object(self, http_response: Any, **_: Any) -> None:
        """``after-call.s3.GetObject``: a body came back (HTTP 200, not a 304)."""
        if getattr(http_response, "status_code", 0) == 200:
            self.s3_body_downloads += 1

    def reset(self) -> None:
        self.calls.clear()
        self.tables.clear()
        self.s3_body_downloads = 0

    @contextmanager
    def measure(self) -> Iterator[CallCounter]:
        """Count the calls of one step (clients created during it are reported, not missed)."""
        self.attach_project_clients()
        self.reset()
        yield self
        if self.attach_project_clients():
            raise RuntimeError(
                "a new AWS client was created during a measured step; warm the path up first"
            )

    def summary(self) -> str:
        counts = Counter(self.calls)
        return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items()) or "none"


class ApiCaller:
    """API Gateway proxy events for the template's API (built by the local API shim's own
    event builder; no server) sent to ``handlers.api.handler`` in-process."""

    def __init__(self, template: Template) -> None:
        from local.apigw import ApiGatewayShim

        self.shim = ApiGatewayShim.from_template(
            template, ["ApiFunction"], api_keys={BENCH_API_KEY: BENCH_TENANT}
        )

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        """One request, its proxy event built by the shim, through ``handlers.api.handler``."""
        from handlers.api import handler
        from local.apigw.proxy_event import HttpRequest
        from local.lambda_context import context_for

        found = self.shim.route(method, path)
        if found is None:
            raise ValueError(f"no route for {method} {path}")
        route, params = found
        raw = json.dumps(body).encode() if body is not None else b""
        all_headers = [("x-api-key", BENCH_API_KEY), ("Accept", "application/json")]
        if body is not None:
            all_headers.append(("Content-Type", "application/json"))
        all_headers.extend((headers or {}).items())
        request_id = str(uuid.uuid4())
        event = self.shim.build_event(
            HttpRequest(method, path, all_headers, raw, source_ip="127.0.0.1"),
            route=route,
            path_parameters=params,
            api_key=BENCH_API_KEY,
            request_id=request_id,
        )
        # What a KEYS-mode authorizer puts on the event (other modes ignore it).
        event["requestContext"]["authorizer"] = {"principalId": BENCH_TENANT}
        function = self.shim.functions[route.function_logical_id]
        with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics lines
            response = handler(event, context_for(function, request_id=request_id))
        text = response.get("body") or ""
        return ApiAnswer(
            int(response["statusCode"]),
            {k: str(v) for k, v in (response.get("headers") or {}).items()},
            json.loads(text) if text else None,
        )


class LocalStack:
    """The template's AWS (moto server) + the fake model + pushed definitions, in-process:
    :class:`local.stack.LocalStack` without the API shim and the poller's threads."""

    def __init__(
        self, template: Path = ROOT / "template.yaml", *, aws_in_process: bool = True
    ) -> None:
        self.template_path = template
        self.aws_in_process = aws_in_process
        self.local: LocalStackBuilder | None = None
        self.description: StackDescription | None = None
        self.template: Template | None = None
        self.model: FakeAnthropicServer | None = None
        self.caller: ApiCaller | None = None
        self.poller: SqsPoller | None = None
        self.env: dict[str, str] = {}
        self._quiet: ExitStack | None = None

    def __enter__(self) -> LocalStack:
        from local.sqs_poller import SqsPoller
        from local.stack import LocalStack as LocalStackBuilder

        self.local = LocalStackBuilder(
            template=self.template_path,
            definitions=[DEFINITIONS],
            env_overrides={"POWERTOOLS_LOG_LEVEL": "WARNING"},
            aws_in_process=self.aws_in_process,
        )
        try:
            self.local.start()
            reset_singletons()
            self.description, self.template = self.local.description, self.local.template
            self.model, self.env = self.local.fake_model, self.local.env
            self.caller = ApiCaller(self.template)
            if (ROOT / "src" / "handlers" / "worker.py").is_file():
                self.poller = SqsPoller.from_template(self.template)
            self._quiet = ExitStack()
            self._quiet.enter_context(quiet_project_logs())
        except BaseException:
            self.local.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        if self._quiet is not None:
            self._quiet.close()
        if self.local is not None:
            self.local.stop()
        reset_singletons()

    # --- requests -----------------------------------------------------------------

    @property
    def api(self) -> ApiCaller:
        """Requests through ``handlers.api.handler`` in-process: ``api(method, path, body)``."""
        assert self.caller is not None
        return self.caller

    def receive(self, max_messages: int = 10) -> list[Any]:
        """Messages waiting on the invocation queue (read with a client of our own)."""
        import boto3

        assert self.description is not None
        queue = self.env["INVOCATION_QUEUE_URL"]
        sqs = boto3.session.Session(region_name=self.description.region).client(
            "sqs", endpoint_url=self.description.endpoint_url
        )
        messages: list[Any] = []
        for _ in range(5):
            got = sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=max_messages, WaitTimeSeconds=1
            ).get("Messages", [])
            messages.extend(got)
            if messages:
                break
        return messages

    def worker(self, messages: list[Any]) -> Any:
        """One SQS batch through ``handlers.worker.handler`` (in-process)."""
        from local.lambda_context import context_for
        from local.runtime import load_handler

        if self.poller is None:
            raise RuntimeError("src/handlers/worker.py does not exist yet")
        handler = load_handler(self.poller.function)
        with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics lines
            return handler(self.poller.event_for(messages), context_for(self.poller.function))
