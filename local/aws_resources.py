"""The template's tables, queues and buckets created on a moto server (or in ``mock_aws``).

Everything comes from ``template.yaml``'s resource definitions (:mod:`local.template`),
so local never drifts from deploy. :func:`create_resources` creates them all;
:func:`create_table` and :func:`create_bucket` create one, for fixtures and benchmarks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local.moto_server import LOCAL_CREDENTIALS
from local.stack_description import (
    BucketInfo,
    FunctionInfo,
    QueueInfo,
    StackDescription,
    TableInfo,
)
from local.template import BucketSpec, FunctionSpec, QueueSpec, TableSpec, Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "create_bucket",
    "create_queues",
    "create_resources",
    "create_resources_with",
    "create_table",
    "local_clients",
]

log = logging.getLogger(__name__)


def local_clients(endpoint_url: str, region: str) -> tuple[DynamoDBClient, SQSClient, S3Client]:
    """DynamoDB, SQS and S3 clients for a local endpoint, with the fake credentials."""
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


def create_table(
    dynamodb: DynamoDBClient, spec: TableSpec, *, table_name: str | None = None
) -> None:
    """Create the table ``spec`` declares (keys, indexes, TTL, streams, PITR), under
    ``table_name`` if given; an existing table is left as it is."""
    if table_name is not None:
        spec = spec.model_copy(update={"table_name": table_name})
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


def s3_lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
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


def create_bucket(s3: S3Client, spec: BucketSpec, region: str) -> None:
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
            LifecycleConfiguration={"Rules": [s3_lifecycle_rule(r) for r in spec.lifecycle_rules]},  # type: ignore[misc]
        )


def create_queues(sqs: SQSClient, queues: list[QueueSpec], endpoint_url: str) -> dict[str, str]:
    """Create (or update) every queue, then their redrive policies; URLs by logical id."""
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
                f"expected {queue.url}: is {endpoint_url} really the moto server?"
            )
    for queue in queues:
        if queue.redrive_policy is not None:
            sqs.set_queue_attributes(
                QueueUrl=urls[queue.logical_id],
                Attributes={"RedrivePolicy": queue.redrive_policy.to_json()},
            )
    return urls


def create_resources(template: Template, endpoint_url: str | None = None) -> StackDescription:
    """Create the template's tables, queues and buckets on a running moto server.

    ``endpoint_url`` defaults to the template's own; the template is re-bound
    to it so queue URLs in the function environments point at this server.
    """
    if endpoint_url is not None and endpoint_url.rstrip("/") != template.endpoint_url:
        template = template.bind(endpoint_url=endpoint_url)
    return create_resources_with(template, *local_clients(template.endpoint_url, template.region))


def create_resources_with(
    template: Template, dynamodb: DynamoDBClient, sqs: SQSClient, s3: S3Client
) -> StackDescription:
    """Create the template's resources with these clients (moto server, or ``mock_aws``)."""
    tables = template.tables()
    for table in tables:
        create_table(dynamodb, table)

    queues = template.queues()
    urls = create_queues(sqs, queues, template.endpoint_url)

    buckets = template.buckets()
    for bucket in buckets:
        create_bucket(s3, bucket, template.region)

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
