"""The resource model: what the local stack reads from the template (pydantic specs)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: API Gateway's maximum (and default) integration timeout for REST APIs.
DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000


class _FrozenSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _CfnShape(BaseModel):
    """A piece copied from a CloudFormation property whose names match the AWS API."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class KeyElement(_CfnShape):
    attribute_name: str = Field(alias="AttributeName")
    key_type: Literal["HASH", "RANGE"] = Field(alias="KeyType")


class AttributeDefinition(_CfnShape):
    attribute_name: str = Field(alias="AttributeName")
    attribute_type: Literal["S", "N", "B"] = Field(alias="AttributeType")


class Projection(_CfnShape):
    projection_type: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = Field(
        default="ALL", alias="ProjectionType"
    )
    non_key_attributes: list[str] | None = Field(default=None, alias="NonKeyAttributes")


class SecondaryIndex(_CfnShape):
    index_name: str = Field(alias="IndexName")
    key_schema: list[KeyElement] = Field(alias="KeySchema")
    projection: Projection = Field(default_factory=Projection, alias="Projection")
    provisioned_throughput: dict[str, int] | None = Field(
        default=None, alias="ProvisionedThroughput"
    )


class TableSpec(_FrozenSpec):
    """An ``AWS::DynamoDB::Table`` (or ``AWS::Serverless::SimpleTable``)."""

    logical_id: str
    table_name: str
    arn: str
    attribute_definitions: list[AttributeDefinition]
    key_schema: list[KeyElement]
    global_secondary_indexes: list[SecondaryIndex] = Field(default_factory=list)
    local_secondary_indexes: list[SecondaryIndex] = Field(default_factory=list)
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PROVISIONED"
    provisioned_throughput: dict[str, int] | None = None
    ttl_attribute: str | None = None
    stream_view_type: str | None = None
    point_in_time_recovery: bool = False


class RedrivePolicy(_FrozenSpec):
    dead_letter_target_arn: str
    max_receive_count: int = Field(ge=1)

    def to_json(self) -> str:
        return json.dumps(
            {"deadLetterTargetArn": self.dead_letter_target_arn,
             "maxReceiveCount": self.max_receive_count}
        )  # fmt: skip


class QueueSpec(_FrozenSpec):
    """An ``AWS::SQS::Queue`` with its local name, URL and ARN."""

    logical_id: str
    queue_name: str
    url: str
    arn: str
    visibility_timeout: int = 30
    message_retention_period: int = 345_600
    delay_seconds: int = 0
    maximum_message_size: int = 262_144
    receive_message_wait_time_seconds: int = 0
    fifo_queue: bool = False
    content_based_deduplication: bool = False
    redrive_policy: RedrivePolicy | None = None

    def attributes(self, *, with_redrive: bool = True) -> dict[str, str]:
        """The queue attributes for ``CreateQueue``/``SetQueueAttributes``."""
        attrs = {
            "VisibilityTimeout": str(self.visibility_timeout),
            "MessageRetentionPeriod": str(self.message_retention_period),
            "DelaySeconds": str(self.delay_seconds),
            "MaximumMessageSize": str(self.maximum_message_size),
            "ReceiveMessageWaitTimeSeconds": str(self.receive_message_wait_time_seconds),
        }
        if self.fifo_queue:
            attrs["FifoQueue"] = "true"
            attrs["ContentBasedDeduplication"] = str(self.content_based_deduplication).lower()
        if with_redrive and self.redrive_policy is not None:
            attrs["RedrivePolicy"] = self.redrive_policy.to_json()
        return attrs


class BucketSpec(_FrozenSpec):
    """An ``AWS::S3::Bucket``."""

    logical_id: str
    bucket_name: str
    arn: str
    versioning: Literal["Enabled", "Suspended"] | None = None
    lifecycle_rules: list[dict[str, Any]] = Field(default_factory=list)
    public_access_block: dict[str, bool] | None = None


class SqsEventSourceSpec(_FrozenSpec):
    """An ``SQS`` event of a function: the event source mapping's settings."""

    function_logical_id: str
    event_name: str
    queue_logical_id: str | None
    queue_arn: str
    batch_size: int = Field(default=10, ge=1)
    maximum_batching_window_in_seconds: int = Field(default=0, ge=0, le=300)
    function_response_types: list[str] = Field(default_factory=list)
    maximum_concurrency: int | None = Field(default=None, ge=2)
    enabled: bool = True

    @property
    def report_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


_PATH_PARAM = re.compile(r"\{([A-Za-z0-9_.\-]+)(\+?)\}")


class ApiRoute(_FrozenSpec):
    """One ``Api`` event of a function: a REST API resource + method."""

    function_logical_id: str
    event_name: str
    path: str
    method: str
    rest_api_id: str
    api_key_required: bool
    #: SigV4 (AWS_IAM) authorization: not emulated locally.
    iam_auth: bool = False
    timeout_ms: int = DEFAULT_INTEGRATION_TIMEOUT_MS

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when ``method path`` is this route, else ``None``."""
        if self.method not in {"ANY", method.upper()}:
            return None
        return match_path(self.path, path)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key: literal segments beat ``{param}``, which beats ``{proxy+}``."""
        segments = [s for s in self.path.split("/") if s]
        greedy = sum(1 for s in segments if s.endswith("+}"))
        params = sum(1 for s in segments if s.startswith("{"))
        return (greedy, params, -len(segments))


def match_path(template: str, path: str) -> dict[str, str] | None:
    """Match an API Gateway resource path (``/a/{b}/{c+}``) against a request path."""
    want = [s for s in template.split("/") if s]
    have = [s for s in path.split("/") if s]
    params: dict[str, str] = {}
    for index, segment in enumerate(want):
        found = _PATH_PARAM.fullmatch(segment)
        if found and found.group(2) == "+":
            if index != len(want) - 1 or index >= len(have):
                return None
            params[found.group(1)] = "/".join(have[index:])
            return params
        if index >= len(have):
            return None
        if found:
            params[found.group(1)] = have[index]
        elif segment != have[index]:
            return None
    return params if len(want) == len(have) else None


class GatewayResponse(_FrozenSpec):
    """A customised API Gateway response (``x-amazon-apigateway-gateway-responses``)."""

    status_code: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    #: content type -> body template (``$context.requestId``, ``$context.error.*``).
    templates: dict[str, str] = Field(default_factory=dict)


class ApiSpec(_FrozenSpec):
    """An ``AWS::Serverless::Api`` (or SAM's implicit ``ServerlessRestApi``)."""

    logical_id: str
    stage_name: str = "Prod"
    api_key_required: bool = False
    binary_media_types: list[str] = Field(default_factory=list)
    #: response type (``INVALID_API_KEY``, ``DEFAULT_4XX`` ...) -> customisation.
    gateway_responses: dict[str, GatewayResponse] = Field(default_factory=dict)


class FunctionSpec(_FrozenSpec):
    """A function as the local stack runs it."""

    logical_id: str
    function_name: str
    arn: str
    handler: str
    code_uri: Path
    runtime: str | None = None
    timeout: int = Field(default=3, ge=1, le=900)
    memory_size: int = Field(default=128, ge=128, le=10_240)
    environment: dict[str, str] = Field(default_factory=dict)
    layers: list[str] = Field(default_factory=list)

    @property
    def handler_module(self) -> str:
        module, _, _ = self.handler.rpartition(".")
        return module.replace("/", ".")

    @property
    def handler_function(self) -> str:
        return self.handler.rpartition(".")[2]
