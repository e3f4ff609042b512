"""Read ``template.yaml`` the way the local stack needs it.

The local stack derives everything from the SAM template so local never
drifts from deploy: the tables, queues and bucket it creates, each
function's handler, code location, timeout, memory and environment, the API
routes and the SQS event source mapping of the worker.

* :func:`load_document` parses YAML (or JSON) with the CloudFormation short
  tags (``!Ref``, ``!GetAtt``, ``!Sub``, ``!If`` ...) turned into their long
  forms (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), like the SAM CLI does.
* :class:`Template` resolves intrinsics against *local* physical resources:
  ``Ref`` of a table is its local name, of a queue its moto URL, ``GetAtt
  X.Arn`` a local ARN; parameters take their defaults unless overridden;
  conditions are evaluated; ``AWS::NoValue`` removes the key.
* The extracted pieces are pydantic models (:class:`FunctionSpec`,
  :class:`TableSpec`, :class:`QueueSpec`, :class:`BucketSpec`,
  :class:`SqsEventSourceSpec`, :class:`ApiRoute`, :class:`ApiSpec`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "ApiRoute",
    "ApiSpec",
    "BucketSpec",
    "FunctionSpec",
    "GatewayResponse",
    "QueueSpec",
    "RedrivePolicy",
    "SqsEventSourceSpec",
    "TableSpec",
    "Template",
    "TemplateError",
    "load_document",
]

DEFAULT_STACK_NAME = "agent-gateway-local"
DEFAULT_REGION = "us-east-1"
#: moto's default account.
DEFAULT_ACCOUNT_ID = "123456789012"
#: API Gateway's maximum (and default) integration timeout for REST APIs.
DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000

FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
TABLE_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"})
QUEUE_TYPE = "AWS::SQS::Queue"
BUCKET_TYPE = "AWS::S3::Bucket"
API_TYPE = "AWS::Serverless::Api"
#: The logical id SAM gives the API it creates for ``Api`` events without ``RestApiId``.
IMPLICIT_API_ID = "ServerlessRestApi"


class TemplateError(ValueError):
    """The template cannot be read or resolved for the local stack."""


# --------------------------------------------------------------------------- YAML


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short-form intrinsic tags."""


def _construct_intrinsic(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported node for !{tag_suffix}")
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


def _construct_timestamp_as_text(loader: _CfnLoader, node: yaml.Node) -> Any:
    # CloudFormation treats dates (e.g. AWSTemplateFormatVersion) as strings.
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)
_CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


def load_document(path: Path | str) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template file (YAML with short tags, or JSON)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {file}: {exc.strerror or exc}") from None
    try:
        document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{file}: not a valid template: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{file}: a template needs a 'Resources' mapping")
    return document


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
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


class TableSpec(_Model):
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


class RedrivePolicy(_Model):
    dead_letter_target_arn: str
    max_receive_count: int = Field(ge=1)

    def to_json(self) -> str:
        return json.dumps(
            {"deadLetterTargetArn": self.dead_letter_target_arn,
             "maxReceiveCount": self.max_receive_count}
        )  # fmt: skip


class QueueSpec(_Model):
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


class BucketSpec(_Model):
    """An ``AWS::S3::Bucket``."""

    logical_id: str
    bucket_name: str
    arn: str
    versioning: Literal["Enabled", "Suspended"] | None = None
    lifecycle_rules: list[dict[str, Any]] = Field(default_factory=list)
    public_access_block: dict[str, bool] | None = None


class SqsEventSourceSpec(_Model):
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


class ApiRoute(_Model):
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


class GatewayResponse(_Model):
    """A customised API Gateway response (``x-amazon-apigateway-gateway-responses``)."""

    status_code: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    #: content type -> body template (``$context.requestId``, ``$context.error.*``).
    templates: dict[str, str] = Field(default_factory=dict)


class ApiSpec(_Model):
    """An ``AWS::Serverless::Api`` (or SAM's implicit ``ServerlessRestApi``)."""

    logical_id: str
    stage_name: str = "Prod"
    api_key_required: bool = False
    binary_media_types: list[str] = Field(default_factory=list)
    #: response type (``INVALID_API_KEY``, ``DEFAULT_4XX`` ...) -> customisation.
    gateway_responses: dict[str, GatewayResponse] = Field(default_factory=dict)


class FunctionSpec(_Model):
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


# --------------------------------------------------------------------------- resolving


_X_INTEGRATION = "x-amazon-apigateway-integration"
_X_GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"
_X_BINARY = "x-amazon-apigateway-binary-media-types"
_X_ANY_METHOD = "x-amazon-apigateway-any-method"


def _method(name: str) -> str:
    upper = name.upper()
    return "ANY" if upper in {_X_ANY_METHOD.upper(), "ANY"} else upper


def _static_value(value: Any) -> str:
    """A gateway response parameter: ``"'text'"`` is the static value ``text``."""
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _scheme_kind(scheme: Mapping[str, Any]) -> str:
    """``API_KEY``, ``AWS_IAM`` or ``OTHER`` for an OpenAPI security scheme."""
    if scheme.get("x-amazon-apigateway-authtype", "").lower() == "awssigv4":
        return "AWS_IAM"
    if scheme.get("type") == "apiKey" and str(scheme.get("name", "")).lower() == "x-api-key":
        return "API_KEY"
    return "OTHER"


class _NoValue:
    """``AWS::NoValue``: removes the enclosing key or list item."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


def _merge_globals(defaults: Any, own: Any) -> Any:
    """SAM's Globals rules: maps merge, lists concatenate, scalars: the function wins."""
    if isinstance(defaults, dict) and isinstance(own, dict):
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = _merge_globals(defaults[key], value) if key in defaults else value
        return merged
    if isinstance(defaults, list) and isinstance(own, list):
        return [*defaults, *own]
    return own


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class Template:
    """A SAM template resolved against local resources.

    ``endpoint_url`` is the local AWS endpoint (moto server): queue URLs are
    ``{endpoint_url}/{account_id}/{queue_name}`` as moto builds them.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        base_dir: Path | str = ".",
        endpoint_url: str = "http://127.0.0.1:5050",
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        parameter_overrides: Mapping[str, str] | None = None,
        path: Path | None = None,
    ) -> None:
        self.document = dict(document)
        self.base_dir = Path(base_dir).resolve()
        self.path = path
        self.endpoint_url = endpoint_url.rstrip("/")
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.resources: dict[str, dict[str, Any]] = dict(self.document["Resources"])
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._overrides = dict(parameter_overrides or {})
        self.parameters = self._parameter_values(self._overrides)

    def bind(self, *, endpoint_url: str) -> Template:
        """The same template resolved against another local AWS endpoint."""
        return Template(
            self.document,
            base_dir=self.base_dir,
            endpoint_url=endpoint_url,
            stack_name=self.stack_name,
            region=self.region,
            account_id=self.account_id,
            parameter_overrides=self._overrides,
            path=self.path,
        )

    @classmethod
    def load(cls, path: Path | str, **options: Any) -> Template:
        """Load ``path``; code locations resolve relative to its directory."""
        file = Path(path).resolve()
        return cls(load_document(file), base_dir=file.parent, path=file, **options)

    # ---------------------------------------------------------------- parameters

    def _parameter_values(self, overrides: Mapping[str, str]) -> dict[str, str]:
        declared: dict[str, Any] = self.document.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            if name in overrides:
                value: Any = overrides[name]
            elif isinstance(spec, dict) and "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(
                    f"template parameter {name} has no Default: pass a value for it"
                )
            allowed = spec.get("AllowedValues") if isinstance(spec, dict) else None
            text = _env_text(value) if not isinstance(value, list) else ",".join(map(str, value))
            if allowed and text not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={text!r} is not one of {allowed}")
            values[name] = text
        return values

    # ---------------------------------------------------------------- resources

    def resource(self, logical_id: str) -> dict[str, Any]:
        found = self.resources.get(logical_id)
        if not isinstance(found, dict):
            raise TemplateError(f"no resource {logical_id!r} in the template")
        return found

    def resource_type(self, logical_id: str) -> str:
        return str(self.resource(logical_id).get("Type", ""))

    def _raw_properties(self, logical_id: str) -> dict[str, Any]:
        props = self.resource(logical_id).get("Properties") or {}
        if not isinstance(props, dict):
            raise TemplateError(f"{logical_id}: Properties must be a mapping")
        return props

    def _exists(self, logical_id: str) -> bool:
        """False when the resource's ``Condition`` is false (it is not created)."""
        condition = self.resource(logical_id).get("Condition")
        return condition is None or self.condition(str(condition))

    def _ids_of(self, types: frozenset[str] | str) -> list[str]:
        wanted = {types} if isinstance(types, str) else types
        return [
            logical_id
            for logical_id, body in self.resources.items()
            if isinstance(body, dict) and body.get("Type") in wanted and self._exists(logical_id)
        ]

    def physical_name(self, logical_id: str) -> str:
        """The local name: the template's explicit name, else ``<stack>-<LogicalId>``."""
        kind = self.resource_type(logical_id)
        name_property = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Serverless::SimpleTable": "TableName",
            QUEUE_TYPE: "QueueName",
            BUCKET_TYPE: "BucketName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Serverless::LayerVersion": "LayerName",
            "AWS::SecretsManager::Secret": "Name",
        }.get(kind)
        props = self._raw_properties(logical_id)
        if name_property and props.get(name_property) is not None:
            name = _env_text(self.resolve(props[name_property]))
        else:
            name = f"{self.stack_name}-{logical_id}"
            if kind == QUEUE_TYPE and self.resolve(props.get("FifoQueue", False)) in {
                True,
                "true",
            }:
                name += ".fifo"
        if kind == BUCKET_TYPE:
            name = name.lower()
        return name

    def arn(self, logical_id: str) -> str:
        kind = self.resource_type(logical_id)
        name = self.physical_name(logical_id)
        head = f"arn:aws:{{service}}:{self.region}:{self.account_id}"
        if kind in TABLE_TYPES:
            return head.format(service="dynamodb") + f":table/{name}"
        if kind == QUEUE_TYPE:
            return head.format(service="sqs") + f":{name}"
        if kind == BUCKET_TYPE:
            return f"arn:aws:s3:::{name}"
        if kind in FUNCTION_TYPES:
            return head.format(service="lambda") + f":function:{name}"
        if kind in {"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"}:
            return head.format(service="lambda") + f":layer:{name}:1"
        if kind == "AWS::SecretsManager::Secret":
            return head.format(service="secretsmanager") + f":secret:{name}"
        if kind == "AWS::SNS::Topic":
            return head.format(service="sns") + f":{name}"
        service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "unknown"
        return head.format(service=service) + f":{logical_id}/{name}"

    def _function_reference(self, logical_id: str, kind: str) -> str:
        """SAM's ``Fn.Alias``/``Fn.Version`` (``AutoPublishAlias``) as local ARNs."""
        alias = self.resolve(self._raw_properties(logical_id).get("AutoPublishAlias"))
        if alias is None:
            alias = self.resolve(
                ((self.document.get("Globals") or {}).get("Function") or {}).get("AutoPublishAlias")
            )
        if alias is None:
            raise TemplateError(f"{logical_id}.{kind} needs AutoPublishAlias on the function")
        return f"{self.arn(logical_id)}:{alias if kind == 'Alias' else 1}"

    def queue_url(self, logical_id: str) -> str:
        return f"{self.endpoint_url}/{self.account_id}/{self.physical_name(logical_id)}"

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
                f"{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource, _, suffix = name.partition(".")
        if suffix in {"Alias", "Version"} and self.resource_type(resource) in FUNCTION_TYPES:
            return self._function_reference(resource, suffix)
        kind = self.resource_type(name)
        if kind == QUEUE_TYPE:
            return self.queue_url(name)
        if kind in {
            "AWS::Serverless::LayerVersion",
            "AWS::Lambda::LayerVersion",
            "AWS::SecretsManager::Secret",
            "AWS::SNS::Topic",
        }:
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self.resource_type(logical_id)
        if kind in FUNCTION_TYPES and attribute in {"Alias", "Version"}:
            return self._function_reference(logical_id, attribute)
        if attribute == "Arn":
            return self.arn(logical_id)
        if kind == QUEUE_TYPE and attribute == "QueueName":
            return self.physical_name(logical_id)
        if kind == QUEUE_TYPE and attribute == "QueueUrl":
            return self.queue_url(logical_id)
        if kind in TABLE_TYPES and attribute == "StreamArn":
            return f"{self.arn(logical_id)}/stream/1970-01-01T00:00:00.000"
        if kind == BUCKET_TYPE and attribute in {"DomainName", "RegionalDomainName"}:
            return f"{self.physical_name(logical_id)}.s3.{self.region}.amazonaws.com"
        if kind == API_TYPE and attribute == "RootResourceId":
            return "root"
        raise TemplateError(f"GetAtt {logical_id}.{attribute} is not supported locally ({kind})")

    # ---------------------------------------------------------------- intrinsics

    def condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        conditions: dict[str, Any] = self.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise TemplateError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            value = self._truth(conditions[name])
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = value
        return value

    def _truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, arg),) = expression.items()
            if key == "Condition":
                return self.condition(str(arg))
            if key == "Fn::Equals":
                left, right = (self.resolve(x) for x in arg)
                return _env_text(left) == _env_text(right)
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(x) for x in arg)
            if key == "Fn::Or":
                return any(self._truth(x) for x in arg)
        value = self.resolve(expression)
        if isinstance(value, bool):
            return value
        raise TemplateError(f"not a condition: {expression!r}")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub needs a string, got {text!r}")

        def replace(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _env_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return _env_text(self.get_att(resource, attribute))
            return _env_text(self.ref(name))

        return _SUB_VAR.sub(replace, text)

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self.ref(str(arg))
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
            return self.get_att(str(parts[0]), str(self.resolve(parts[1])))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            separator, items = arg
            values = self.resolve(items)
            return str(separator).join(_env_text(v) for v in values)
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(str(separator))
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self.resolve(when_true if self.condition(str(name)) else when_false)
        if key in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"}:
            return self._truth({key: arg})
        if key == "Fn::FindInMap":
            mapping, top, second = (self.resolve(x) for x in arg)
            try:
                return self.document["Mappings"][mapping][top][second]
            except (KeyError, TypeError):
                raise TemplateError(f"Fn::FindInMap {mapping}.{top}.{second} not found") from None
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        raise TemplateError(f"{key} cannot be resolved locally")

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function in ``value`` (recursively)."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or (key.startswith("Fn::") and key != "Fn::Transform"):
                    return self._intrinsic(key, arg)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        return value

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties with every intrinsic resolved."""
        resolved = self.resolve(self._raw_properties(logical_id))
        assert isinstance(resolved, dict)
        return resolved

    # ---------------------------------------------------------------- functions

    def function_ids(self) -> list[str]:
        return self._ids_of(FUNCTION_TYPES)

    def _function_properties(self, logical_id: str) -> dict[str, Any]:
        if self.resource_type(logical_id) not in FUNCTION_TYPES:
            raise TemplateError(
                f"{logical_id} is not a function (known: {', '.join(self.function_ids())})"
            )
        own = self._raw_properties(logical_id)
        if self.resource_type(logical_id) == "AWS::Serverless::Function":
            defaults = (self.document.get("Globals") or {}).get("Function") or {}
            own = _merge_globals(defaults, own)
        resolved = self.resolve(own)
        assert isinstance(resolved, dict)
        return resolved

    def function(self, logical_id: str) -> FunctionSpec:
        props = self._function_properties(logical_id)
        code = props.get("CodeUri", props.get("Code", "."))
        if not isinstance(code, str):
            raise TemplateError(
                f"{logical_id}: CodeUri {code!r} is not a local path; the local stack "
                "runs code from the working tree"
            )
        handler = props.get("Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id}: Handler must look like 'module.function'")
        variables = (props.get("Environment") or {}).get("Variables") or {}
        return FunctionSpec(
            logical_id=logical_id,
            function_name=self.physical_name(logical_id),
            arn=self.arn(logical_id),
            handler=handler,
            code_uri=(self.base_dir / code).resolve(),
            runtime=props.get("Runtime"),
            timeout=int(props.get("Timeout", 3)),
            memory_size=int(props.get("MemorySize", 128)),
            environment={k: _env_text(v) for k, v in variables.items()},
            layers=[_env_text(x) for x in props.get("Layers") or []],
        )

    def functions(self) -> list[FunctionSpec]:
        return [self.function(logical_id) for logical_id in self.function_ids()]

    def _events(self, logical_id: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        events = self._function_properties(logical_id).get("Events") or {}
        return [
            (name, body.get("Properties") or {})
            for name, body in events.items()
            if isinstance(body, dict) and body.get("Type") == kind
        ]

    def _invokes(self, function_id: str, reference: str) -> bool:
        """Whether a ``FunctionName`` (name, ARN, alias/version ARN) is this function."""
        arn = self.arn(function_id)
        return reference in {self.physical_name(function_id), arn} or reference.startswith(
            arn + ":"
        )

    def sqs_event_source(self, logical_id: str) -> SqsEventSourceSpec | None:
        """The function's SQS trigger, if it has one: a SAM ``SQS`` event or an
        ``AWS::Lambda::EventSourceMapping`` whose source is one of the template's queues."""
        queue_arns = {self.arn(q): q for q in self._ids_of(QUEUE_TYPE)}
        found: list[tuple[str, dict[str, Any], str]] = [
            (name, props, str(props.get("Queue", "")))
            for name, props in self._events(logical_id, "SQS")
        ]
        self._function_properties(logical_id)  # a clear error when it is not a function
        for mapping_id in self._ids_of("AWS::Lambda::EventSourceMapping"):
            props = self.properties(mapping_id)
            source = str(props.get("EventSourceArn", ""))
            if source in queue_arns and self._invokes(logical_id, str(props.get("FunctionName"))):
                found.append((mapping_id, props, source))
        if not found:
            return None
        if len(found) > 1:
            raise TemplateError(f"{logical_id} has {len(found)} SQS triggers; expected one")
        (name, props, queue_arn) = found[0]
        scaling = props.get("ScalingConfig") or {}
        return SqsEventSourceSpec(
            function_logical_id=logical_id,
            event_name=name,
            queue_logical_id=queue_arns.get(queue_arn),
            queue_arn=queue_arn,
            batch_size=int(props.get("BatchSize", 10)),
            maximum_batching_window_in_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            function_response_types=list(props.get("FunctionResponseTypes") or []),
            maximum_concurrency=(
                int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None
            ),
            enabled=props.get("Enabled", True) not in {False, "false"},
        )

    def _api_properties(self, logical_id: str) -> dict[str, Any]:
        defaults = (self.document.get("Globals") or {}).get("Api") or {}
        if logical_id == IMPLICIT_API_ID and logical_id not in self.resources:
            props = self.resolve(defaults)
        else:
            if self.resource_type(logical_id) != API_TYPE:
                raise TemplateError(f"{logical_id} is not an AWS::Serverless::Api")
            props = self.resolve(_merge_globals(defaults, self._raw_properties(logical_id)))
        assert isinstance(props, dict)
        return props

    def api(self, logical_id: str = IMPLICIT_API_ID) -> ApiSpec:
        """A REST API: stage, default key requirement, binary types, gateway responses.

        Reads SAM properties (``StageName``, ``Auth``, ``BinaryMediaTypes``,
        ``GatewayResponses``) and the OpenAPI ``DefinitionBody`` extensions
        (``x-amazon-apigateway-binary-media-types``,
        ``x-amazon-apigateway-gateway-responses``). SAM's implicit API uses
        ``Globals.Api``.
        """
        props = self._api_properties(logical_id)
        found = props.get("DefinitionBody")
        body: dict[str, Any] = found if isinstance(found, dict) else {}
        auth = props.get("Auth") or {}
        binary = [*(props.get("BinaryMediaTypes") or []), *body.get(_X_BINARY, [])]
        responses: dict[str, GatewayResponse] = {}
        for kind, spec in (body.get(_X_GATEWAY_RESPONSES) or {}).items():
            headers = {
                name.removeprefix("gatewayresponse.header."): _static_value(value)
                for name, value in (spec.get("responseParameters") or {}).items()
                if name.startswith("gatewayresponse.header.")
            }
            responses[kind] = GatewayResponse(
                status_code=spec.get("statusCode"),
                headers=headers,
                templates=dict(spec.get("responseTemplates") or {}),
            )
        for kind, spec in (props.get("GatewayResponses") or {}).items():
            params = spec.get("ResponseParameters") or {}
            responses[kind] = GatewayResponse(
                status_code=spec.get("StatusCode"),
                headers={k: _static_value(v) for k, v in (params.get("Headers") or {}).items()},
                templates=dict(spec.get("ResponseTemplates") or {}),
            )
        return ApiSpec(
            logical_id=logical_id,
            stage_name=str(props.get("StageName", "Prod")),
            api_key_required=bool(auth.get("ApiKeyRequired", False)),
            binary_media_types=[str(t).replace("~1", "/") for t in binary],
            gateway_responses=responses,
        )

    def _function_for_uri(self, uri: str) -> str | None:
        """The function an ``aws_proxy`` integration URI invokes (by its ARN)."""
        for function_id in self.function_ids():
            arn = self.arn(function_id)
            if f"{arn}/" in uri or f"{arn}:" in uri:
                return function_id
        return None

    def _definition_routes(self, api_id: str) -> list[ApiRoute]:
        """Routes of an Api's OpenAPI ``DefinitionBody`` that proxy to a template function."""
        body = self._api_properties(api_id).get("DefinitionBody")
        if not isinstance(body, dict):
            return []
        components = body.get("components") or {}
        schemes: dict[str, Any] = {
            **(body.get("securityDefinitions") or {}),
            **(components.get("securitySchemes") or {}),
        }
        routes: list[ApiRoute] = []
        for path, operations in (body.get("paths") or {}).items():
            for method, operation in (operations or {}).items():
                if not isinstance(operation, dict):
                    continue
                integration = operation.get(_X_INTEGRATION) or {}
                if str(integration.get("type", "")).lower() != "aws_proxy":
                    continue
                function_id = self._function_for_uri(str(integration.get("uri", "")))
                if function_id is None:
                    continue
                security = operation.get("security", body.get("security")) or []
                names = {name for requirement in security for name in requirement}
                kinds = {_scheme_kind(schemes.get(name) or {}) for name in names}
                routes.append(
                    ApiRoute(
                        function_logical_id=function_id,
                        event_name=f"{method.upper()} {path}",
                        path=str(path),
                        method=_method(method),
                        rest_api_id=api_id,
                        api_key_required="API_KEY" in kinds,
                        iam_auth="AWS_IAM" in kinds,
                        timeout_ms=int(
                            integration.get("timeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)
                        ),
                    )
                )
        return routes

    def api_routes(self, logical_id: str | None = None) -> list[ApiRoute]:
        """The API routes of one function (or of every function), most specific first.

        Routes come from the functions' ``Api`` events and from the OpenAPI
        ``DefinitionBody`` of each ``AWS::Serverless::Api`` (``aws_proxy``
        integrations whose URI names a function of the template).
        """
        function_ids = [logical_id] if logical_id else self.function_ids()
        routes: list[ApiRoute] = []
        for function_id in function_ids:
            for name, props in self._events(function_id, "Api"):
                rest_api = props.get("RestApiId") or IMPLICIT_API_ID
                api_id = next(
                    (a for a in self._ids_of(API_TYPE) if self.physical_name(a) == rest_api),
                    str(rest_api),
                )
                api = self.api(api_id)
                auth = props.get("Auth") or {}
                routes.append(
                    ApiRoute(
                        function_logical_id=function_id,
                        event_name=name,
                        path=str(props["Path"]),
                        method=_method(str(props.get("Method", "ANY"))),
                        rest_api_id=api_id,
                        api_key_required=bool(auth.get("ApiKeyRequired", api.api_key_required)),
                        iam_auth=auth.get("Authorizer") == "AWS_IAM",
                        timeout_ms=int(
                            props.get("TimeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)
                        ),
                    )
                )
        for api_id in self._ids_of(API_TYPE):
            routes.extend(
                r for r in self._definition_routes(api_id) if r.function_logical_id in function_ids
            )
        return sorted(routes, key=lambda r: r.specificity)

    # ---------------------------------------------------------------- data resources

    def tables(self) -> list[TableSpec]:
        specs: list[TableSpec] = []
        for logical_id in self._ids_of(TABLE_TYPES):
            props = self.properties(logical_id)
            if self.resource_type(logical_id) == "AWS::Serverless::SimpleTable":
                key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
                kind = {"String": "S", "Number": "N", "Binary": "B"}[key["Type"]]
                props = {
                    "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
                    "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
                    "BillingMode": "PAY_PER_REQUEST" if "ProvisionedThroughput" not in props
                    else "PROVISIONED",
                    "ProvisionedThroughput": props.get("ProvisionedThroughput"),
                }  # fmt: skip
            ttl = props.get("TimeToLiveSpecification") or {}
            stream = props.get("StreamSpecification") or {}
            pitr = props.get("PointInTimeRecoverySpecification") or {}
            specs.append(
                TableSpec(
                    logical_id=logical_id,
                    table_name=self.physical_name(logical_id),
                    arn=self.arn(logical_id),
                    attribute_definitions=props.get("AttributeDefinitions") or [],
                    key_schema=props.get("KeySchema") or [],
                    global_secondary_indexes=props.get("GlobalSecondaryIndexes") or [],
                    local_secondary_indexes=props.get("LocalSecondaryIndexes") or [],
                    billing_mode=props.get("BillingMode", "PROVISIONED"),
                    provisioned_throughput=props.get("ProvisionedThroughput"),
                    ttl_attribute=(
                        ttl.get("AttributeName") if ttl.get("Enabled") in {True, "true"} else None
                    ),
                    stream_view_type=stream.get("StreamViewType"),
                    point_in_time_recovery=pitr.get("PointInTimeRecoveryEnabled") in {True, "true"},
                )
            )
        return specs

    def queues(self) -> list[QueueSpec]:
        specs: list[QueueSpec] = []
        for logical_id in self._ids_of(QUEUE_TYPE):
            props = self.properties(logical_id)
            redrive = props.get("RedrivePolicy")
            if isinstance(redrive, str):
                redrive = json.loads(redrive)
            specs.append(
                QueueSpec(
                    logical_id=logical_id,
                    queue_name=self.physical_name(logical_id),
                    url=self.queue_url(logical_id),
                    arn=self.arn(logical_id),
                    visibility_timeout=int(props.get("VisibilityTimeout", 30)),
                    message_retention_period=int(props.get("MessageRetentionPeriod", 345_600)),
                    delay_seconds=int(props.get("DelaySeconds", 0)),
                    maximum_message_size=int(props.get("MaximumMessageSize", 262_144)),
                    receive_message_wait_time_seconds=int(
                        props.get("ReceiveMessageWaitTimeSeconds", 0)
                    ),
                    fifo_queue=props.get("FifoQueue") in {True, "true"},
                    content_based_deduplication=props.get("ContentBasedDeduplication")
                    in {True, "true"},
                    redrive_policy=(
                        RedrivePolicy(
                            dead_letter_target_arn=str(redrive["deadLetterTargetArn"]),
                            max_receive_count=int(redrive["maxReceiveCount"]),
                        )
                        if redrive
                        else None
                    ),
                )
            )
        return specs

    def queue(self, logical_id: str) -> QueueSpec:
        for spec in self.queues():
            if spec.logical_id == logical_id:
                return spec
        raise TemplateError(f"no queue {logical_id!r} in the template")

    def buckets(self) -> list[BucketSpec]:
        specs: list[BucketSpec] = []
        for logical_id in self._ids_of(BUCKET_TYPE):
            props = self.properties(logical_id)
            versioning = (props.get("VersioningConfiguration") or {}).get("Status")
            specs.append(
                BucketSpec(
                    logical_id=logical_id,
                    bucket_name=self.physical_name(logical_id),
                    arn=self.arn(logical_id),
                    versioning=versioning,
                    lifecycle_rules=(props.get("LifecycleConfiguration") or {}).get("Rules") or [],
                    public_access_block=props.get("PublicAccessBlockConfiguration"),
                )
            )
        return specs
