"""Tables, queues and buckets from the template (:class:`TableSpec` ...)."""

from __future__ import annotations

import json
from typing import Any

from local.template.local_resources import BUCKET_TYPE, QUEUE_TYPE, TABLE_TYPES, LocalResources
from local.template.models import BucketSpec, QueueSpec, RedrivePolicy, TableSpec

__all__ = ["bucket_specs", "queue_specs", "table_specs"]

_SIMPLE_TABLE_TYPE = "AWS::Serverless::SimpleTable"
_SIMPLE_TABLE_KEY_TYPES = {"String": "S", "Number": "N", "Binary": "B"}
_TRUE = frozenset({True, "true"})


def _simple_table_properties(props: dict[str, Any]) -> dict[str, Any]:
    """An ``AWS::Serverless::SimpleTable`` as the ``AWS::DynamoDB::Table`` SAM makes of it."""
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    kind = _SIMPLE_TABLE_KEY_TYPES[key["Type"]]
    provisioned = "ProvisionedThroughput" in props
    return {
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
        "ProvisionedThroughput": props.get("ProvisionedThroughput"),
    }


def table_specs(resources: LocalResources) -> list[TableSpec]:
    return [_table_spec(resources, logical_id) for logical_id in resources.ids_of(TABLE_TYPES)]


def queue_specs(resources: LocalResources) -> list[QueueSpec]:
    return [_queue_spec(resources, logical_id) for logical_id in resources.ids_of(QUEUE_TYPE)]


def bucket_specs(resources: LocalResources) -> list[BucketSpec]:
    return [_bucket_spec(resources, logical_id) for logical_id in resources.ids_of(BUCKET_TYPE)]


def _table_spec(resources: LocalResources, logical_id: str) -> TableSpec:
    props = resources.properties(logical_id)
    if resources.resource_type(logical_id) == _SIMPLE_TABLE_TYPE:
        props = _simple_table_properties(props)
    ttl = props.get("TimeToLiveSpecification") or {}
    stream = props.get("StreamSpecification") or {}
    pitr = props.get("PointInTimeRecoverySpecification") or {}
    return TableSpec(
        logical_id=logical_id,
        table_name=resources.physical_name(logical_id),
        arn=resources.arn(logical_id),
        attribute_definitions=props.get("AttributeDefinitions") or [],
        key_schema=props.get("KeySchema") or [],
        global_secondary_indexes=props.get("GlobalSecondaryIndexes") or [],
        local_secondary_indexes=props.get("LocalSecondaryIndexes") or [],
        billing_mode=props.get("BillingMode", "PROVISIONED"),
        provisioned_throughput=props.get("ProvisionedThroughput"),
        ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") in _TRUE else None,
        stream_view_type=stream.get("StreamViewType"),
        point_in_time_recovery=pitr.get("PointInTimeRecoveryEnabled") in _TRUE,
    )


def _redrive_policy(value: Any) -> RedrivePolicy | None:
    redrive = json.loads(value) if isinstance(value, str) else value
    if not redrive:
        return None
    return RedrivePolicy(
        dead_letter_target_arn=str(redrive["deadLetterTargetArn"]),
        max_receive_count=int(redrive["maxReceiveCount"]),
    )


def _queue_spec(resources: LocalResources, logical_id: str) -> QueueSpec:
    props = resources.properties(logical_id)
    return QueueSpec(
        logical_id=logical_id,
        queue_name=resources.physical_name(logical_id),
        url=resources.queue_url(logical_id),
        arn=resources.arn(logical_id),
        visibility_timeout=int(props.get("VisibilityTimeout", 30)),
        message_retention_period=int(props.get("MessageRetentionPeriod", 345_600)),
        delay_seconds=int(props.get("DelaySeconds", 0)),
        maximum_message_size=int(props.get("MaximumMessageSize", 262_144)),
        receive_message_wait_time_seconds=int(props.get("ReceiveMessageWaitTimeSeconds", 0)),
        fifo_queue=props.get("FifoQueue") in _TRUE,
        content_based_deduplication=props.get("ContentBasedDeduplication") in _TRUE,
        redrive_policy=_redrive_policy(props.get("RedrivePolicy")),
    )


def _bucket_spec(resources: LocalResources, logical_id: str) -> BucketSpec:
    props = resources.properties(logical_id)
    return BucketSpec(
        logical_id=logical_id,
        bucket_name=resources.physical_name(logical_id),
        arn=resources.arn(logical_id),
        versioning=(props.get("VersioningConfiguration") or {}).get("Status"),
        lifecycle_rules=(props.get("LifecycleConfiguration") or {}).get("Rules") or [],
        public_access_block=props.get("PublicAccessBlockConfiguration"),
    )
