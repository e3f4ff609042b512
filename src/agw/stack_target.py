"""Which stack an operations command (``agw dlq ...``) works on: the one place that decides.

Each setting, first found wins:

1. its explicit flag (``--table``, ``--dlq-url``, ``--queue-url``, ``--aws-endpoint``,
   ``--region``);
2. the environment variable the functions read (``INVOCATIONS_TABLE``, ``DLQ_URL``,
   ``INVOCATION_QUEUE_URL``, ``AWS_ENDPOINT_URL``, ``AWS_REGION``, ...);
3. ``--stack NAME``: that deployed stack's CloudFormation outputs (template.yaml's
   ``Outputs``), else its resources by logical id; without ``--stack``: the running
   ``agw dev`` stack's ``.agw/dev.json``.

docs/operations.md ("Which stack") is the user's view.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from agents.errors import BadRequest
from local.dev_file import DevFile, dev_file_path, read_dev_file

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_cloudformation import CloudFormationClient

__all__ = [
    "FIELDS",
    "StackTarget",
    "add_target_arguments",
    "cloudformation_values",
    "dev_file_values",
    "resolve_target",
    "target_from_args",
]

DEFAULT_REGION = "us-east-1"


class _Field(BaseModel):
    model_config = ConfigDict(frozen=True)

    env: str
    output: str | None
    logical_id: str | None
    flag: str | None = None


#: Target field -> where it comes from (flag dest, environment variable, output, resource).
FIELDS: dict[str, _Field] = {
    "invocations_table": _Field(
        env="INVOCATIONS_TABLE",
        output="InvocationsTableName",
        logical_id="InvocationsTable",
        flag="table",
    ),
    "idempotency_table": _Field(
        env="IDEMPOTENCY_TABLE", output="IdempotencyTableName", logical_id="IdempotencyTable"
    ),
    "queue_url": _Field(
        env="INVOCATION_QUEUE_URL",
        output="InvocationQueueUrl",
        logical_id="InvocationQueue",
        flag="queue_url",
    ),
    "dlq_url": _Field(
        env="DLQ_URL", output="DeadLetterQueueUrl", logical_id="DeadLetterQueue", flag="dlq_url"
    ),
    "agents_bucket": _Field(
        env="AGENTS_BUCKET", output="AgentsBucketName", logical_id="AgentsBucket"
    ),
    "agents_prefix": _Field(env="AGENTS_PREFIX", output="AgentsPrefix", logical_id=None),
    # the template stores payloads in the agents bucket under payloads/
    "payload_bucket": _Field(
        env="PAYLOAD_BUCKET", output="AgentsBucketName", logical_id="AgentsBucket"
    ),
    "payload_prefix": _Field(env="PAYLOAD_PREFIX", output=None, logical_id=None),
    "tenants_table": _Field(
        env="TENANTS_TABLE", output="TenantsTableName", logical_id="TenantsTable"
    ),
    "tenant_key_pepper_secret": _Field(
        env="TENANT_KEY_PEPPER_SECRET",
        output="TenantKeyPepperSecretName",
        logical_id="TenantKeyPepper",
    ),
    "webhook_queue_url": _Field(
        env="WEBHOOK_QUEUE_URL", output="WebhookQueueUrl", logical_id="WebhookQueue"
    ),
    "webhook_dlq_url": _Field(
        env="WEBHOOK_DLQ_URL",
        output="WebhookDeadLetterQueueUrl",
        logical_id="WebhookDeadLetterQueue",
    ),
    "webhook_secret_prefix": _Field(
        env="WEBHOOK_SECRET_PREFIX", output="WebhookSecretPrefix", logical_id=None
    ),
}
_DEFAULTS = {"agents_prefix": "agents/", "payload_prefix": "payloads/"}


class StackTarget(BaseModel):
    """Where an operations command's table, queues and buckets are."""

    model_config = ConfigDict(frozen=True)

    #: Where the stack-level values came from.
    source: Literal["cloudformation", "dev-file", "none"]
    stack_name: str | None
    region: str
    aws_endpoint: str | None
    invocations_table: str = ""
    idempotency_table: str = ""
    queue_url: str = ""
    dlq_url: str = ""
    agents_bucket: str = ""
    agents_prefix: str = "agents/"
    payload_bucket: str = ""
    payload_prefix: str = "payloads/"
    tenants_table: str = ""
    tenant_key_pepper_secret: str = ""
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""
    webhook_secret_prefix: str = ""
    #: The dev stack's fake AWS credentials (moto accepts any), used when the
    #: environment has none; ``None`` for a deployed stack.
    local_credentials: tuple[str, str] | None = None

    def session(self) -> boto3.session.Session:
        """A boto3 session for the target's region (and the dev stack's credentials)."""
        import boto3

        session = boto3.session.Session(region_name=self.region)
        if self.local_credentials and session.get_credentials() is None:
            key, secret = self.local_credentials
            session = boto3.session.Session(
                aws_access_key_id=key, aws_secret_access_key=secret, region_name=self.region
            )
        return session

    def require(self, name: str) -> str:
        """The value of ``name``, or a one-line error saying how to set it."""
        value = str(getattr(self, name))
        if value:
            return value
        spec = FIELDS[name]
        flag = f"--{spec.flag.replace('_', '-')}, " if spec.flag else ""
        raise BadRequest(
            f"no {name.replace('_', ' ')}: pass {flag}--stack NAME or set {spec.env}, "
            "or start `agw dev` (it writes .agw/dev.json)"
        )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stack``, ``--aws-endpoint``, ``--region`` (every operations command)."""
    parser.add_argument(
        "--stack",
        metavar="NAME",
        help="a deployed stack: read its table, queues and bucket from CloudFormation "
        "(default: the running `agw dev` stack, .agw/dev.json)",
    )
    parser.add_argument(
        "--aws-endpoint", metavar="URL", help="AWS endpoint (default: $AWS_ENDPOINT_URL)"
    )
    parser.add_argument("--region", help="default: $AWS_REGION, the dev stack's, or us-east-1")


def dev_file_values(dev: DevFile) -> dict[str, str]:
    """The target fields of a running ``agw dev`` stack."""
    return dev.resources.model_dump()


def cloudformation_values(cloudformation: CloudFormationClient, stack: str) -> dict[str, str]:
    """The target fields of deployed stack ``stack``: its outputs, else its resources."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        resources = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise BadRequest(f"cannot read stack {stack!r}: {message}") from None
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs", [])}
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}
    values: dict[str, str] = {}
    for name, spec in FIELDS.items():
        value = (outputs.get(spec.output) if spec.output else None) or (
            physical.get(spec.logical_id) if spec.logical_id else None
        )
        if value:
            values[name] = value
    return values


def resolve_target(
    flags: Mapping[str, str | None],
    *,
    stack: str | None = None,
    aws_endpoint: str | None = None,
    region: str | None = None,
    environ: Mapping[str, str] | None = None,
    dev_file: Path | None = None,
    cloudformation: CloudFormationClient | None = None,
) -> StackTarget:
    """Resolve every field (flags, then environment, then ``--stack`` or the dev file).

    ``flags`` maps a field's flag dest (``table``, ``dlq_url``, ``queue_url``) to its value.
    """
    env = os.environ if environ is None else environ
    dev = None if stack else read_dev_file(dev_file or dev_file_path(environ=env))
    endpoint = aws_endpoint or env.get("AWS_ENDPOINT_URL") or (dev.aws_url if dev else None)
    where = region or env.get("AWS_REGION") or (dev.region if dev else None) or DEFAULT_REGION
    base: dict[str, str] = {}
    source: Literal["cloudformation", "dev-file", "none"] = "none"
    if stack:
        if cloudformation is None:
            import boto3

            cloudformation = boto3.session.Session(region_name=where).client(
                "cloudformation", endpoint_url=endpoint
            )
        base, source = cloudformation_values(cloudformation, stack), "cloudformation"
    elif dev is not None:
        base, source = dev_file_values(dev), "dev-file"
    credentials = None
    if dev is not None and endpoint == dev.aws_url:
        key = dev.environment.get("AWS_ACCESS_KEY_ID")
        secret = dev.environment.get("AWS_SECRET_ACCESS_KEY")
        credentials = (key, secret) if key and secret else None
    values: dict[str, Any] = {"local_credentials": credentials}
    for name, spec in FIELDS.items():
        flag_value = flags.get(spec.flag) if spec.flag else None
        value = flag_value or env.get(spec.env) or base.get(name) or _DEFAULTS.get(name, "")
        values[name] = value
    return StackTarget(
        source=source,
        stack_name=stack or (dev.stack_name if dev else None),
        region=where,
        aws_endpoint=endpoint,
        **values,
    )


def target_from_args(args: argparse.Namespace) -> StackTarget:
    """:func:`resolve_target` for a command registered with :func:`add_target_arguments`."""
    flags = {spec.flag: getattr(args, spec.flag, None) for spec in FIELDS.values() if spec.flag}
    return resolve_target(
        flags,
        stack=getattr(args, "stack", None),
        aws_endpoint=getattr(args, "aws_endpoint", None),
        region=getattr(args, "region", None),
    )
