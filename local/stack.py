"""One way to build a local stack: ``local``'s public builder (docs/local.md).

:class:`LocalStack` starts, each piece optional: moto with ``template.yaml``'s resources,
the model (the fake Messages API, or the real API given a key), the functions' merged
environment applied to this process, ``definitions/`` linted and pushed, the API Gateway
shim and the SQS poller. ``agw dev`` (:mod:`local.dev`), ``bench/`` and the tests build
on it. ``stop()`` stops what it started, newest first, bounded and idempotent.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from local.apigw import DEFAULT_API_PORT, ApiGatewayShim
from local.aws_stack import LocalAwsStack
from local.invoke import OFFLINE_API_KEY
from local.ports import PortInUseError
from local.runtime import Handler, load_handler, patched_environ
from local.schedules import ScheduleThread
from local.template import DEFAULT_REGION, DEFAULT_STACK_NAME, FunctionSpec, Template

if TYPE_CHECKING:
    from local.fake_anthropic import FakeAnthropicServer
    from local.sqs_poller import SqsPoller
    from local.stack_description import StackDescription

__all__ = [
    "API_FUNCTION",
    "COLLECTOR_FUNCTION",
    "DEFAULT_COLLECTOR_PERIOD_S",
    "DEFAULT_SWEEPER_PERIOD_S",
    "SWEEPER_FUNCTION",
    "WORKER_FUNCTION",
    "WORKER_STOP_TIMEOUT_S",
    "CollectorThread",
    "LocalStack",
    "LocalStackError",
    "StackOptions",
]

log = logging.getLogger(__name__)

API_FUNCTION = "ApiFunction"
WORKER_FUNCTION = "WorkerFunction"
COLLECTOR_FUNCTION = "CollectorFunction"
SWEEPER_FUNCTION = "SweeperFunction"
#: ``agw dev``'s collector period (the deployed schedule runs every 2 minutes).
DEFAULT_COLLECTOR_PERIOD_S = 2.0
#: ``agw dev``'s sweeper period (the deployed schedule runs every 5 minutes).
DEFAULT_SWEEPER_PERIOD_S = 5.0
#: Upper bound for waiting on in-flight worker batches at stop.
WORKER_STOP_TIMEOUT_S = 5.0


class LocalStackError(RuntimeError):
    """The local stack cannot start (the message says why and what to do)."""


class StackOptions(TypedDict, total=False):
    """:class:`LocalStack` options a wrapper passes on as they are (:class:`local.dev.DevStack`)."""

    template: Path | str
    definitions: Sequence[Path | str]
    host: str
    aws_port: int
    model_port: int
    api_port: int
    worker: bool
    worker_concurrency: int | None
    worker_timeout_s: float | None
    webhooks: bool
    failure_visibility_timeout: int | None
    sweeper_period_s: float | None
    env_overrides: Mapping[str, str] | None
    parameter_overrides: Mapping[str, str] | None
    stack_name: str
    region: str
    verbose: bool


class LocalStack:
    """moto + resources + model + environment + definitions (+ API shim, + SQS poller).

    * ``anthropic_api_key``: empty starts the fake Messages API on ``model_port``
      (the offline model); a key uses the real API. ``model=False`` starts neither.
    * ``definitions``: folders/files pushed to the agents bucket (lint errors refuse).
    * ``api_keys``: start the API shim on ``api_port`` (``None``: no shim).
    * ``worker``: start the SQS poller (``worker_concurrency``, ``failure_visibility_timeout``;
      ``worker_timeout_s``: the worker's timeout instead of the template's, so a local run
      can span several segments).
    * ``collector_period_s``: run the economy collector every that many seconds on a thread
      (``None``: not at all); docs/batches.md. ``sweeper_period_s``: the same for the
      sweeper (abandoned runs, lost hand-offs, approval timeouts; docs/operations.md).
    * ``webhooks``: run the WebhookFunction from its queue, local webhook settings
      (:mod:`local.dev_webhooks`), a signing secret per tenant.
    * ``env_overrides``: extra variables for the functions (after the template's).
    * ``aws_in_process=False``: moto in a child process (:class:`local.moto_server.MotoServer`).
    """

    def __init__(
        self,
        *,
        template: Path | str = "template.yaml",
        definitions: Sequence[Path | str] = ("definitions",),
        host: str = "127.0.0.1",
        aws_port: int = 0,
        model: bool = True,
        model_port: int = 0,
        anthropic_api_key: str = "",
        api_keys: Iterable[str] | None = None,
        api_port: int = DEFAULT_API_PORT,
        worker: bool = False,
        worker_concurrency: int | None = None,
        worker_timeout_s: float | None = None,
        failure_visibility_timeout: int | None = None,
        collector_period_s: float | None = None,
        sweeper_period_s: float | None = None,
        webhooks: bool = False,
        env_overrides: Mapping[str, str] | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        verbose: bool = False,
        aws_in_process: bool = True,
    ) -> None:
        self.template_path = Path(template)
        self.definitions = [Path(d) for d in definitions]
        self.host = host
        self.aws_port = aws_port
        self.model = model
        self.model_port = model_port
        self.anthropic_api_key = anthropic_api_key
        self.api_keys = None if api_keys is None else list(api_keys)
        self.api_port = api_port
        self.worker = worker
        self.worker_concurrency = worker_concurrency
        self.worker_timeout_s = worker_timeout_s
        self.failure_visibility_timeout = failure_visibility_timeout
        self.collector_period_s = collector_period_s
        self.collector: CollectorThread | None = None
        self.sweeper_period_s = sweeper_period_s
        self.sweeper: ScheduleThread | None = None
        self.webhooks = webhooks
        self.webhook_poller: SqsPoller | None = None
        #: API key -> the tenant's webhook signing secret (``webhooks`` only).
        self.webhook_secrets: dict[str, str] = {}
        self.env_overrides = dict(env_overrides or {})
        self.parameter_overrides = dict(parameter_overrides or {})
        self.stack_name = stack_name
        self.region = region
        self.verbose = verbose
        self.aws_in_process = aws_in_process
        self.aws: LocalAwsStack | None = None
        self.description: StackDescription | None = None
        self.fake_model: FakeAnthropicServer | None = None
        self.api: ApiGatewayShim | None = None
        self.poller: SqsPoller | None = None
        self.env: dict[str, str] = {}
        self.environment_conflicts: list[str] = []
        self.agents: list[str] = []
        #: API key -> tenant (KEYS: the TenantsTable tenant made for it; else the key id).
        self.tenants: dict[str, str] = {}
        self.api_url: str | None = None
        self._environment: ExitStack | None = None

    @property
    def offline(self) -> bool:
        """True when the fake Messages API stands in for the model."""
        return self.model and not self.anthropic_api_key

    @property
    def template(self) -> Template:
        """The template bound to the running moto server."""
        if self.aws is None:
            raise RuntimeError("the local stack is not running")
        return self.aws.template

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _start(self) -> None:
        self.aws = LocalAwsStack(
            self.template_path,
            host=self.host,
            port=self.aws_port,
            stack_name=self.stack_name,
            region=self.region,
            parameter_overrides=self.parameter_overrides,
            verbose=self.verbose,
            in_process=self.aws_in_process,
        )
        self.description = self.aws.start()
        model_env = self._start_model()
        if self.webhooks:
            from local.dev_webhooks import local_webhook_env

            model_env.update(local_webhook_env(self.host, self.api_port))
        env, conflicts = self.description.merged_environment({**model_env, **self.env_overrides})
        for name in conflicts:
            log.warning("%s differs between the functions; using %s's value", name, API_FUNCTION)
        self.env, self.environment_conflicts = env, conflicts
        self._environment = ExitStack()
        self._environment.enter_context(patched_environ(env))
        if self.definitions:
            self.agents = self._push_definitions()
        template = self.aws.template
        self._bootstrap_access(template)
        if self.api_keys is not None:
            api = ApiGatewayShim.from_template(
                template, [API_FUNCTION], api_keys=self.api_keys, host=self.host, port=self.api_port
            )
            import_handler(lambda: api.handler_for(API_FUNCTION), template.function(API_FUNCTION))
            self.api = api
            self.api_url = api.start()
        if self.worker:
            from local.sqs_poller import SqsPoller

            function = template.function(WORKER_FUNCTION)
            worker_handler = import_handler(lambda: load_handler(function), function)
            self.poller = SqsPoller.from_template(
                template,
                WORKER_FUNCTION,
                handler=worker_handler,
                concurrency=self.worker_concurrency,
                failure_visibility_timeout=self.failure_visibility_timeout,
                function_timeout_s=self.worker_timeout_s,
            )
            self.poller.start()
        if self.webhooks:
            from local.dev_webhooks import WEBHOOK_FUNCTION, start_webhook_poller

            function = template.function(WEBHOOK_FUNCTION)
            self.webhook_poller = start_webhook_poller(
                template,
                import_handler(lambda: load_handler(function), function),
                failure_visibility_timeout=self.failure_visibility_timeout,
            )
        if self.collector_period_s is not None:
            function = template.function(COLLECTOR_FUNCTION)
            collector_handler = import_handler(lambda: load_handler(function), function)
            self.collector = CollectorThread(collector_handler, self.collector_period_s)
            self.collector.start()
        if self.sweeper_period_s is not None:
            function = template.function(SWEEPER_FUNCTION)
            sweeper_handler = import_handler(lambda: load_handler(function), function)
            self.sweeper = ScheduleThread(
                sweeper_handler, self.sweeper_period_s, name="sweeper", function=function
            )
            self.sweeper.start()

    def _bootstrap_access(self, template: Template) -> None:
        """Generated secrets (the key pepper); in KEYS mode a tenant per API key."""
        import boto3

        from local.apigw import api_key_id
        from local.dev_tenants import DevTenantError, create_generated_secrets, create_tenants
        from local.moto_server import LOCAL_CREDENTIALS

        assert self.aws is not None
        session = boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )
        secrets = session.client("secretsmanager", endpoint_url=self.aws.url)
        create_generated_secrets(template, secrets)
        keys = self.api_keys or []
        if self.env.get("AUTH_MODE") != "KEYS" or not keys:
            self.tenants = {key: api_key_id(key) for key in keys}
        else:
            dynamodb = session.client("dynamodb", endpoint_url=self.aws.url)
            try:
                self.tenants = create_tenants(keys, self.env, dynamodb, secrets)
            except DevTenantError as exc:
                raise LocalStackError(str(exc)) from None
        if self.webhooks:
            from local.dev_webhooks import tenant_webhook_secrets

            self.webhook_secrets = tenant_webhook_secrets(self.tenants, self.env, secrets)

    def _start_model(self) -> dict[str, str]:
        if not self.model:
            return {}
        if not self.offline:
            log.info("model: the Anthropic API (ANTHROPIC_API_KEY is set)")
            return {"ANTHROPIC_API_KEY": self.anthropic_api_key}
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
        self.fake_model = fake
        log.warning("model: OFFLINE fake Messages API at %s (no ANTHROPIC_API_KEY)", fake.url)
        return {"ANTHROPIC_BASE_URL": fake.url, "ANTHROPIC_API_KEY": OFFLINE_API_KEY}

    def _push_definitions(self) -> list[str]:
        import boto3

        from agents.config import Settings
        from agents.publish import push_paths

        bucket = self.env.get("AGENTS_BUCKET", "")
        prefix = self.env.get("AGENTS_PREFIX", "agents/")
        if not bucket:
            raise LocalStackError("the template gives the functions no AGENTS_BUCKET")
        assert self.aws is not None
        s3 = boto3.session.Session(region_name=self.region).client("s3", endpoint_url=self.aws.url)
        report, pushed = push_paths(
            [str(d) for d in self.definitions],
            bucket,
            prefix,
            s3=s3,
            settings=Settings.from_env(self.env),
        )
        if not report.ok:
            findings = "\n".join(f.format() for f in report.findings if f.severity == "error")
            raise LocalStackError(
                f"the definitions have lint errors; nothing was started:\n{findings}\n"
                "fix them (agw agents lint definitions/) and start again"
            )
        return sorted(p.name for p in pushed)

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice, bounded in time."""
        poller, self.poller = self.poller, None
        webhook_poller, self.webhook_poller = self.webhook_poller, None
        collector, self.collector = self.collector, None
        sweeper, self.sweeper = self.sweeper, None
        api, self.api = self.api, None
        fake, self.fake_model = self.fake_model, None
        aws, self.aws = self.aws, None
        environment, self._environment = self._environment, None
        steps: list[tuple[str, Any]] = [
            ("the sweeper", sweeper and sweeper.stop),
            ("the economy collector", collector and collector.stop),
            ("the SQS poller", poller and (lambda: poller.stop(timeout_s=WORKER_STOP_TIMEOUT_S))),
            ("the webhook poller", webhook_poller and (lambda: webhook_poller.stop(timeout_s=15))),
            ("the API shim", api and api.stop),
            ("the fake Messages API", fake and fake.stop),
            ("moto", aws and aws.stop),
            ("restoring the environment", environment and environment.close),
        ]
        for what, stop in steps:
            if stop is None:
                continue
            try:
                stop()
            except Exception:  # keep stopping the rest; say what failed
                log.exception("stopping %s failed", what)
        self.description = None
        self.api_url = None


class CollectorThread(ScheduleThread):
    """The collector's schedule in ``agw dev``: its handler every ``period_s`` seconds."""

    def __init__(self, handler: Handler, period_s: float) -> None:
        super().__init__(handler, period_s, name="economy-collector")


def import_handler(load: Callable[[], Handler], function: FunctionSpec) -> Handler:
    """Import a function's handler now (errors and cold start before READY)."""
    try:
        return load()
    except (ImportError, AttributeError, FileNotFoundError) as exc:
        raise LocalStackError(
            f"cannot load {function.logical_id}'s handler {function.handler} "
            f"(CodeUri {function.code_uri}): {type(exc).__name__}: {exc}"
        ) from exc
