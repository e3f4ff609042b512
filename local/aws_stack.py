"""The local AWS: moto in server mode on loopback, resources created from the template.

``LocalAwsStack(template).start()`` starts moto on ``127.0.0.1:<port>`` and
creates every DynamoDB table (keys, GSIs/LSIs, TTL, streams, PITR), SQS queue
(visibility timeout, retention, redrive policy to the DLQ) and S3 bucket
(versioning, public access block, lifecycle) that ``template.yaml`` declares,
*from the template's resource definitions* (:mod:`local.template`), so local
never drifts from deploy. It returns a :class:`StackDescription`: names, URLs,
ARNs and the environment each function gets.

:func:`create_resources` does the same on an already running moto server (the
test fixture ``local_stack`` uses it on the session's ``aws_endpoint``).

State lives in moto's memory: stopping the server forgets everything.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from local.moto_patches import make_dynamodb_linearizable
from local.runtime import serve_in_thread, stop_serving
from local.template import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    BucketSpec,
    FunctionSpec,
    TableSpec,
    Template,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from werkzeug.serving import BaseWSGIServer

__all__ = [
    "DEFAULT_AWS_PORT",
    "LOCAL_CREDENTIALS",
    "BucketInfo",
    "FunctionInfo",
    "LocalAwsStack",
    "MotoServer",
    "PortInUseError",
    "QueueInfo",
    "StackDescription",
    "TableInfo",
    "create_resources",
]

log = logging.getLogger(__name__)

#: The moto server port ``agw dev`` uses unless told otherwise (``--aws-port``);
#: ``agw local invoke`` targets it by default.
DEFAULT_AWS_PORT = 5050
#: moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
_STOP_TIMEOUT_S = 10.0


class PortInUseError(RuntimeError):
    """A local server's port is already taken."""

    def __init__(self, what: str, host: str, port: int, flag: str) -> None:
        super().__init__(
            f"{what} cannot listen on {host}:{port}: the port is already in use "
            f"(stop whatever uses it, or pick another port with {flag} N)"
        )
        self.host = host
        self.port = port


# --------------------------------------------------------------------------- moto


class MotoServer:
    """moto's WSGI app on a loopback port, served from a daemon thread.

    Like ``moto.server.ThreadedMotoServer``, but the socket is bound in
    :meth:`start` itself, so a taken port raises :class:`PortInUseError`
    instead of leaving the caller waiting for a server thread that died.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the moto server is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        if self._server is not None:
            return self.url
        make_dynamodb_linearizable()

        class QuietHandler(MotoRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                if verbose:
                    super().log_request(code, size)

        verbose = self.verbose
        # Bind here (werkzeug would print and sys.exit on a taken port), then
        # hand the listening socket to werkzeug.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As http.server and werkzeug do: a restart must not fail on the previous
        # server's connections lingering in TIME_WAIT (only a live listener conflicts).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    "moto (local AWS)", self.host, self.port, "--aws-port"
                ) from None
            raise
        try:
            server = make_server(
                self.host,
                self.port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=QuietHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug holds its own duplicate of the socket
        self._server = server
        self._thread = serve_in_thread(server, "moto-server")
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stop_serving(server, thread, timeout_s=_STOP_TIMEOUT_S)


# --------------------------------------------------------------------------- description


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TableInfo(_Frozen):
    logical_id: str
    name: str
    arn: str


class QueueInfo(_Frozen):
    logical_id: str
    name: str
    url: str
    arn: str


class BucketInfo(_Frozen):
    logical_id: str
    name: str
    arn: str


class FunctionInfo(_Frozen):
    logical_id: str
    function_name: str
    handler: str
    code_uri: Path
    timeout: int
    memory_size: int
    #: The template's environment for this function, resolved to local resources.
    environment: dict[str, str]


class StackDescription(_Frozen):
    """What the local stack is: where it listens and what it created."""

    endpoint_url: str
    region: str
    account_id: str
    stack_name: str
    tables: dict[str, TableInfo]
    queues: dict[str, QueueInfo]
    buckets: dict[str, BucketInfo]
    functions: dict[str, FunctionInfo]

    def aws_environment(self) -> dict[str, str]:
        """What boto3 needs to reach this stack (endpoint, region, fake credentials)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **LOCAL_CREDENTIALS,
        }

    def environment_for(
        self, logical_id: str, overrides: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The environment a function runs with locally.

        The template's variables (resolved to local resources), the AWS
        endpoint/region/credentials, ``AWS_SAM_LOCAL=true`` and
        ``POWERTOOLS_TRACE_DISABLED=true`` (as ``sam local`` does: there is no
        X-Ray daemon), then ``overrides``.
        """
        function = self.functions.get(logical_id)
        if function is None:
            raise KeyError(f"no function {logical_id!r} (known: {', '.join(self.functions)})")
        return {
            **function.environment,
            **self.aws_environment(),
            "AWS_SAM_LOCAL": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **(overrides or {}),
        }

    def merged_environment(
        self, overrides: Mapping[str, str] | None = None
    ) -> tuple[dict[str, str], list[str]]:
        """One environment for every function, for running them in one process.

        Returns the environment and the names whose values differ between
        functions (the first function in template order wins for those; the
        caller decides whether that matters and says so).
        """
        merged: dict[str, str] = {}
        conflicts: list[str] = []
        for logical_id in self.functions:
            for name, value in self.environment_for(logical_id, overrides).items():
                if name in merged and merged[name] != value and name not in conflicts:
                    conflicts.append(name)
                merged.setdefault(name, value)
        return merged, conflicts


# --------------------------------------------------------------------------- creation


def _clients(endpoint_url: str, region: str) -> tuple[DynamoDBClient, SQSClient, S3Client]:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    return (
        session.client("dynamodb", endpoint_url=endpoint_url),
        session.client("sqs", endpoint_url=endpoint_url),
        session.client("s3", endpoint_url=endpoint_url),
    )


def _create_table(dynamodb: DynamoDBClient, spec: TableSpec) -> None:
    provisioned = spec.billing_mode == "PROVISIONED"

    def index(raw: Any) -> dict[str, Any]:
        body: dict[str, Any] = raw.model_dump(by_alias=True, exclude_none=True)
        if not provisioned:
            body.pop("ProvisionedThroughput", None)
        return body

    kwargs: dict[str, Any] = {
        "TableName": spec.table_name,
        "AttributeDefinitions": [a.model_dump(by_alias=True) for a in spec.attribute_definitions],
        "KeySchema": [k.model_dump(by_alias=True) for k in spec.key_schema],
        "BillingMode": spec.billing_mode,
    }
    if provisioned:
        kwargs["ProvisionedThroughput"] = spec.provisioned_throughput or {
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 5,
        }
    if spec.global_secondary_indexes:
        kwargs["GlobalSecondaryIndexes"] = [index(i) for i in spec.global_secondary_indexes]
    if spec.local_secondary_indexes:
        kwargs["LocalSecondaryIndexes"] = [index(i) for i in spec.local_secondary_indexes]
    if spec.stream_view_type:
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": spec.stream_view_type,
        }
    try:
        dynamodb.create_table(**kwargs)
    except dynamodb.exceptions.ResourceInUseException:
        log.info("table %s already exists", spec.table_name)
        return
    if spec.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=spec.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
        )
    if spec.point_in_time_recovery:
        dynamodb.update_continuous_backups(
            TableName=spec.table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape (storage-class
    transitions are left out locally: moto has no storage classes to move to)."""
    out: dict[str, Any] = {"Status": str(rule.get("Status", "Enabled"))}
    if "Id" in rule:
        out["ID"] = str(rule["Id"])
    out["Filter"] = {"Prefix": str(rule.get("Prefix", ""))}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    elif "ExpiredObjectDeleteMarker" in rule:
        out["Expiration"] = {"ExpiredObjectDeleteMarker": bool(rule["ExpiredObjectDeleteMarker"])}
    noncurrent = rule.get("NoncurrentVersionExpiration") or (
        {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
        if "NoncurrentVersionExpirationInDays" in rule
        else None
    )
    if noncurrent:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(noncurrent["NoncurrentDays"])}
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(abort["DaysAfterInitiation"])
        }
    return out


def _create_bucket(s3: S3Client, spec: BucketSpec, region: str) -> None:
    if region == "us-east-1":
        s3.create_bucket(Bucket=spec.bucket_name)
    else:
        s3.create_bucket(
            Bucket=spec.bucket_name,
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        )
    if spec.versioning:
        s3.put_bucket_versioning(
            Bucket=spec.bucket_name, VersioningConfiguration={"Status": spec.versioning}
        )
    if spec.public_access_block:
        s3.put_public_access_block(
            Bucket=spec.bucket_name,
            PublicAccessBlockConfiguration=spec.public_access_block,  # type: ignore[arg-type]
        )
    if spec.lifecycle_rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=spec.bucket_name,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in spec.lifecycle_rules]},  # type: ignore[misc]
        )


def create_resources(template: Template, endpoint_url: str | None = None) -> StackDescription:
    """Create the template's tables, queues and buckets on a running moto server.

    ``endpoint_url`` defaults to the template's own; the template is re-bound
    to it so queue URLs in the function environments point at this server.
    """
    if endpoint_url is not None and endpoint_url.rstrip("/") != template.endpoint_url:
        template = template.bind(endpoint_url=endpoint_url)
    dynamodb, sqs, s3 = _clients(template.endpoint_url, template.region)

    tables = template.tables()
    for table in tables:
        _create_table(dynamodb, table)

    queues = template.queues()
    urls: dict[str, str] = {}
    # Two passes: every queue first, then redrive policies (a DLQ must exist
    # before a queue can name it, whatever the template's order).
    for queue in queues:
        attributes: Any = queue.attributes(with_redrive=False)
        try:
            url = sqs.create_queue(QueueName=queue.queue_name, Attributes=attributes)["QueueUrl"]
        except sqs.exceptions.QueueNameExists:
            # Same name, other attributes (an earlier run, an edited template): update it.
            url = sqs.get_queue_url(QueueName=queue.queue_name)["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        urls[queue.logical_id] = url
        if url != queue.url:
            raise RuntimeError(
                f"moto answered queue URL {url} for {queue.logical_id}, "
                f"expected {queue.url}: is {template.endpoint_url} really the moto server?"
            )
    for queue in queues:
        if queue.redrive_policy is not None:
            sqs.set_queue_attributes(
                QueueUrl=urls[queue.logical_id],
                Attributes={"RedrivePolicy": queue.redrive_policy.to_json()},
            )

    buckets = template.buckets()
    for bucket in buckets:
        _create_bucket(s3, bucket, template.region)

    return StackDescription(
        endpoint_url=template.endpoint_url,
        region=template.region,
        account_id=template.account_id,
        stack_name=template.stack_name,
        tables={
            t.logical_id: TableInfo(logical_id=t.logical_id, name=t.table_name, arn=t.arn)
            for t in tables
        },
        queues={
            q.logical_id: QueueInfo(
                logical_id=q.logical_id, name=q.queue_name, url=urls[q.logical_id], arn=q.arn
            )
            for q in queues
        },
        buckets={
            b.logical_id: BucketInfo(logical_id=b.logical_id, name=b.bucket_name, arn=b.arn)
            for b in buckets
        },
        functions={f.logical_id: _function_info(f) for f in template.functions()},
    )


def _function_info(function: FunctionSpec) -> FunctionInfo:
    return FunctionInfo(
        logical_id=function.logical_id,
        function_name=function.function_name,
        handler=function.handler,
        code_uri=function.code_uri,
        timeout=function.timeout,
        memory_size=function.memory_size,
        environment=function.environment,
    )


class LocalAwsStack:
    """moto on loopback with the template's resources: ``start()``/``stop()``/``url``.

    ``template`` is a path to ``template.yaml`` or a loaded :class:`Template`.
    """

    def __init__(
        self,
        template: Template | Path | str = "template.yaml",
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_AWS_PORT,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        parameter_overrides: Mapping[str, str] | None = None,
        verbose: bool = False,
    ) -> None:
        if isinstance(template, Template):
            self._template = template
        else:
            self._template = Template.load(
                template,
                stack_name=stack_name,
                region=region,
                account_id=DEFAULT_ACCOUNT_ID,
                parameter_overrides=parameter_overrides,
            )
        self._server = MotoServer(host, port, verbose=verbose)
        self.description: StackDescription | None = None

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def template(self) -> Template:
        """The template bound to the running server (after :meth:`start`)."""
        return self._template

    def start(self) -> StackDescription:
        if self.description is not None:
            return self.description
        url = self._server.start()
        try:
            self._template = self._template.bind(endpoint_url=url)
            self.description = create_resources(self._template)
        except BaseException:
            self._server.stop()
            raise
        return self.description

    def stop(self) -> None:
        self.description = None
        self._server.stop()

    def __enter__(self) -> StackDescription:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
