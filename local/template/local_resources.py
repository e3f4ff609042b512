"""A template's resources as local physical resources: names, ARNs, queue URLs, ``GetAtt``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.template.errors import TemplateError
from local.template.intrinsics import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    IntrinsicEngine,
    text_value,
)
from local.template.sam_globals import global_defaults

__all__ = [
    "API_TYPE",
    "BUCKET_TYPE",
    "FUNCTION_TYPES",
    "LAYER_TYPES",
    "QUEUE_TYPE",
    "TABLE_TYPES",
    "LocalResources",
]

FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
TABLE_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"})
LAYER_TYPES = frozenset({"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"})
QUEUE_TYPE = "AWS::SQS::Queue"
BUCKET_TYPE = "AWS::S3::Bucket"
API_TYPE = "AWS::Serverless::Api"
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type
TOPIC_TYPE = "AWS::SNS::Topic"

#: The property that names a resource explicitly, per resource type.
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    QUEUE_TYPE: "QueueName",
    BUCKET_TYPE: "BucketName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    SECRET_TYPE: "Name",
}
#: Resource types whose ``Ref`` is their ARN (not their name).
_REF_IS_ARN = LAYER_TYPES | {SECRET_TYPE, TOPIC_TYPE}


class LocalResources(IntrinsicEngine):
    """The intrinsic engine with resources resolved locally.

    ``Ref`` of a table is its local name, of a queue its moto URL
    (``{endpoint_url}/{account_id}/{queue_name}``), ``GetAtt X.Arn`` a local ARN.
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
        super().__init__(
            document,
            stack_name=stack_name,
            region=region,
            account_id=account_id,
            parameter_overrides=parameter_overrides,
        )
        self.base_dir = Path(base_dir).resolve()
        self.path = path
        self.endpoint_url = endpoint_url.rstrip("/")
        self.resources: dict[str, dict[str, Any]] = dict(self.document["Resources"])

    # ---------------------------------------------------------------- lookup

    def resource(self, logical_id: str) -> dict[str, Any]:
        found = self.resources.get(logical_id)
        if not isinstance(found, dict):
            raise TemplateError(f"no resource {logical_id!r} in the template")
        return found

    def resource_type(self, logical_id: str) -> str:
        return str(self.resource(logical_id).get("Type", ""))

    def raw_properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties as written (intrinsics unresolved)."""
        props = self.resource(logical_id).get("Properties") or {}
        if not isinstance(props, dict):
            raise TemplateError(f"{logical_id}: Properties must be a mapping")
        return props

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties with every intrinsic resolved."""
        resolved = self.resolve(self.raw_properties(logical_id))
        assert isinstance(resolved, dict)
        return resolved

    def exists(self, logical_id: str) -> bool:
        """False when the resource's ``Condition`` is false (it is not created)."""
        condition = self.resource(logical_id).get("Condition")
        return condition is None or self.condition(str(condition))

    def ids_of(self, types: frozenset[str] | str) -> list[str]:
        """The logical ids of the created resources of these types, in template order."""
        wanted = {types} if isinstance(types, str) else types
        return [
            logical_id
            for logical_id, body in self.resources.items()
            if isinstance(body, dict) and body.get("Type") in wanted and self.exists(logical_id)
        ]

    # ---------------------------------------------------------------- physical ids

    def physical_name(self, logical_id: str) -> str:
        """The local name: the template's explicit name, else ``<stack>-<LogicalId>``."""
        kind = self.resource_type(logical_id)
        name_property = _NAME_PROPERTY.get(kind)
        props = self.raw_properties(logical_id)
        if name_property and props.get(name_property) is not None:
            name = text_value(self.resolve(props[name_property]))
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
        if kind in LAYER_TYPES:
            return head.format(service="lambda") + f":layer:{name}:1"
        if kind == SECRET_TYPE:
            return head.format(service="secretsmanager") + f":secret:{name}"
        if kind == TOPIC_TYPE:
            return head.format(service="sns") + f":{name}"
        service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "unknown"
        return head.format(service=service) + f":{logical_id}/{name}"

    def queue_url(self, logical_id: str) -> str:
        return f"{self.endpoint_url}/{self.account_id}/{self.physical_name(logical_id)}"

    def _function_reference(self, logical_id: str, kind: str) -> str:
        """SAM's ``Fn.Alias``/``Fn.Version`` (``AutoPublishAlias``) as local ARNs."""
        alias = self.resolve(self.raw_properties(logical_id).get("AutoPublishAlias"))
        if alias is None:
            alias = self.resolve(global_defaults(self.document, "Function").get("AutoPublishAlias"))
        if alias is None:
            raise TemplateError(f"{logical_id}.{kind} needs AutoPublishAlias on the function")
        return f"{self.arn(logical_id)}:{alias if kind == 'Alias' else 1}"

    # ---------------------------------------------------------------- intrinsics

    def resource_ref(self, logical_id: str) -> Any:
        resource, _, suffix = logical_id.partition(".")
        if suffix in {"Alias", "Version"} and self.resource_type(resource) in FUNCTION_TYPES:
            return self._function_reference(resource, suffix)
        kind = self.resource_type(logical_id)
        if kind == QUEUE_TYPE:
            return self.queue_url(logical_id)
        if kind in _REF_IS_ARN:
            return self.arn(logical_id)
        return self.physical_name(logical_id)

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
