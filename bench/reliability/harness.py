"""The reliability suite's stack: :class:`local.dev.DevStack` plus a worker tuned for speed.

:class:`Harness` starts the whole local stack in this process (moto with the
template's resources, the fake Messages API, the API Gateway shim, the pushed
``definitions/``) on free loopback ports, with two tenants whose API keys are
recognisable canaries, and a *recognisable fake Anthropic key* the fake model
receives (the secrets scenario looks for all three in logs and responses).

The SQS worker is a :class:`local.sqs_poller.SqsPoller` the harness builds itself
(DevStack's own poller is off) so the suite can shorten what the template makes
long: the worker's Lambda timeout (900 s -> ``worker_timeout_s``), the failed
records' visibility timeout (5400 s -> ``failure_visibility_s``) and the run lease
(``LEASE_SECONDS`` 960 -> ``lease_seconds``). Everything else is the template's.

Everything is bounded: every wait has a timeout, ``stop()`` stops what ``start()``
started (also as a context manager).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from local.dev import DevInfo, DevStack
    from local.fake_anthropic import FakeAnthropicServer
    from local.sqs_poller import SqsPoller
    from local.template import Template

__all__ = [
    "AGENT",
    "ANTHROPIC_CANARY",
    "KEY_A",
    "KEY_B",
    "REPO",
    "Harness",
    "wait_until",
]

REPO = Path(__file__).resolve().parents[2]
#: Recognisable canaries: none of them may ever show up in a log line or a response.
KEY_A = "agw_kreltenantaaaaaaa_rel-tenant-a-CANARY-7f3e9d2c1b5a-aaaaaaaaaaaaaaaa"
KEY_B = "agw_kreltenantbbbbbbb_rel-tenant-b-CANARY-4a8b6c0e5f17-bbbbbbbbbbbbbbbb"
ANTHROPIC_CANARY = "sk-ant-api03-RELIABILITY-CANARY-do-not-log-0c1d2e3f4a5b"
#: The shipped agent the scenarios run (no required context).
AGENT = "backend-engineer-python"
WORKER_FUNCTION = "WorkerFunction"


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passed; return the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def reset_singletons() -> None:
    """Forget settings, AWS clients and every per-container value built on them."""
    from agents import container

    container.reset()


@dataclass(kw_only=True, eq=False)
class Harness:
    """The local stack for the reliability scenarios (see the module docs); ``env``: more
    variables for the functions."""

    worker: bool = True
    worker_concurrency: int = 4
    worker_timeout_s: int = 8
    lease_seconds: int = 10
    failure_visibility_s: int = 1
    env: Mapping[str, str] | None = None
    webhooks: bool = False
    info: DevInfo | None = field(init=False, default=None)
    _dev: DevStack | None = field(init=False, default=None, repr=False)
    _poller: SqsPoller | None = field(init=False, default=None, repr=False)

    @property
    def function_env(self) -> dict[str, str]:
        """What the functions get on top of the template's environment."""
        return {
            "ANTHROPIC_API_KEY": ANTHROPIC_CANARY,
            "LEASE_SECONDS": str(self.lease_seconds),
            **(self.env or {}),
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Harness:
        from local.dev import DevStack

        if self._dev is not None:
            return self
        dev = DevStack(
            template=REPO / "template.yaml",
            definitions=[REPO / "definitions"],
            api_port=0,
            aws_port=0,
            model_port=0,
            api_keys=[KEY_A, KEY_B],
            # moto's state is per process: a stack name of its own gives this harness
            # tables, queues and a bucket no earlier stack in the process has touched.
            stack_name=f"agw-rel-{uuid.uuid4().hex[:8]}",
            anthropic_api_key="",  # the offline model; the canary key goes in env below
            worker=False,
            webhooks=self.webhooks,
            failure_visibility_timeout=self.failure_visibility_s,
            env_overrides=self.function_env,
        )
        self._dev = dev
        try:
            self.info = dev.start()
            if self.worker:
                self._start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        poller, self._poller = self._poller, None
        dev, self._dev = self._dev, None
        try:
            if poller is not None:
                poller.stop(timeout_s=self.worker_timeout_s + 5)
        finally:
            if dev is not None:
                dev.stop()
            self.info = None

    def __enter__(self) -> Harness:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _start_worker(self) -> None:
        from local.runtime import load_handler
        from local.sqs_poller import SqsPoller

        template = self.template
        poller = SqsPoller.from_template(
            template,
            WORKER_FUNCTION,
            handler=load_handler(template.function(WORKER_FUNCTION)),
            concurrency=self.worker_concurrency,
            failure_visibility_timeout=self.failure_visibility_s,
            function_timeout_s=self.worker_timeout_s,  # the Lambda context's deadline
        )
        poller.start()
        self._poller = poller

    # ------------------------------------------------------------------ access

    def require_info(self) -> DevInfo:
        if self.info is None:
            raise RuntimeError("the harness is not started")
        return self.info

    @property
    def template(self) -> Template:
        """``template.yaml`` bound to the running stack (its moto, stack name, region)."""
        if self._dev is None:
            raise RuntimeError("the harness is not started")
        return self._dev.stack.template

    @property
    def api_url(self) -> str:
        return self.require_info().api_url

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.require_info().environment)

    @property
    def table(self) -> str:
        return self.environment["INVOCATIONS_TABLE"]

    @property
    def idempotency_table(self) -> str:
        return self.environment["IDEMPOTENCY_TABLE"]

    @property
    def payload_bucket(self) -> str:
        env = self.environment
        return env.get("PAYLOAD_BUCKET") or env["AGENTS_BUCKET"]

    @property
    def queue_url(self) -> str:
        return self.require_info().queue_url

    @property
    def dlq_url(self) -> str:
        return self.require_info().dlq_url

    def tenant(self, key: str) -> str:
        return self.require_info().tenants[key]

    @property
    def fake(self) -> FakeAnthropicServer:
        fake = self._dev.fake_model if self._dev is not None else None
        if fake is None:
            raise RuntimeError("the fake Messages API is not running")
        return fake

    @property
    def poller(self) -> SqsPoller:
        if self._poller is None:
            raise RuntimeError("the worker is not running")
        return self._poller

    def client(self, key: str | None = KEY_A, **options: Any) -> httpx.Client:
        import httpx

        headers = dict(options.pop("headers", {}) or {})
        if key is not None:
            headers["x-api-key"] = key
        options.setdefault("timeout", 60.0)
        return httpx.Client(base_url=self.api_url, headers=headers, **options)

    def _session(self) -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=self.require_info().region,
        )

    def sqs(self) -> SQSClient:
        from botocore.config import Config

        return self._session().client(  # type: ignore[no-any-return]
            "sqs", endpoint_url=self.require_info().aws_url, config=Config(max_pool_connections=20)
        )

    def dynamodb(self) -> DynamoDBClient:
        return self._session().client(  # type: ignore[no-any-return]
            "dynamodb", endpoint_url=self.require_info().aws_url
        )

    def s3(self) -> S3Client:
        return self._session().client(  # type: ignore[no-any-return]
            "s3", endpoint_url=self.require_info().aws_url
        )

    # ------------------------------------------------------------------ the fake model

    def fault(self, **spec: Any) -> None:
        from local.fake_anthropic import FaultSpec

        self.fake.faults.add(FaultSpec.model_validate(spec))

    def model_calls(self) -> int:
        return int(self.fake.stats.snapshot()["calls"])

    def reset_model(self) -> None:
        self.fake.reset()

    # ------------------------------------------------------------------ state

    def scan(self, table: str | None = None) -> list[dict[str, Any]]:
        """Every item of a table as plain Python values (bounded: 100 pages)."""
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        dynamodb = self.dynamodb()
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        for _ in range(100):
            kwargs: dict[str, Any] = {"TableName": table or self.table, "ConsistentRead": True}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = dynamodb.scan(**kwargs)
            items.extend(
                {k: deserializer.deserialize(v) for k, v in item.items()}
                for item in page.get("Items", [])
            )
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return items

    def invocations(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        items = [i for i in self.scan() if i.get("kind") == "invocation"]
        if ids is not None:
            wanted = set(ids)
            items = [i for i in items if i["id"] in wanted]
        return items

    def bucket_keys(self, prefix: str = "") -> list[str]:
        s3 = self.s3()
        keys: list[str] = []
        token: str | None = None
        for _ in range(100):
            kwargs: dict[str, Any] = {"Bucket": self.payload_bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = s3.list_objects_v2(**kwargs)
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not token:
                break
        return keys

    def send_raw(self, bodies: Sequence[str], *, queue_url: str | None = None) -> int:
        """Put message bodies on the invocation queue (SendMessageBatch, 10 a call)."""
        sqs = self.sqs()
        url = queue_url or self.queue_url
        sent = 0
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(chunk)]
            response = sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
            failed = response.get("Failed", [])
            if failed:
                raise RuntimeError(f"SendMessageBatch failed for {len(failed)} entries: {failed}")
            sent += len(chunk)
        return sent

    def drain(self, queue_url: str, *, idle_rounds: int = 2, max_messages: int = 5000) -> list[str]:
        """Receive and delete every message now on ``queue_url`` (bounded)."""
        sqs = self.sqs()
        bodies: list[str] = []
        idle = 0
        while idle < idle_rounds and len(bodies) < max_messages:
            response = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = response.get("Messages", [])
            if not messages:
                idle += 1
                continue
            idle = 0
            for message in messages:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def queue_depth(self, queue_url: str) -> int:
        attributes = self.sqs().get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def quiesce(self, *, timeout_s: float) -> bool:
        """Wait until the invocation queue is empty (in flight included)."""
        return wait_until(lambda: self.queue_depth(self.queue_url) == 0, timeout_s=timeout_s)

    def clean(self) -> None:
        """Start a scenario with the earlier ones' queued work done, an empty DLQ and the
        fake model's counters at zero (records stay: each scenario tags its own)."""
        if self._poller is not None:
            self.quiesce(timeout_s=self.worker_timeout_s * 4)
        self.drain(self.dlq_url)
        self.reset_model()

    @contextmanager
    def environment_overrides(self, env: Mapping[str, str]) -> Iterator[None]:
        """Set function environment variables for a block (as a redeploy would), then restore."""
        from local.runtime import patched_environ

        with patched_environ(env):
            yield


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
