"""local.aws_stack: the template's resources on moto server, over real HTTP."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import boto3
import pytest

from local.aws_stack import LocalAwsStack, MotoServer, PortInUseError, StackDescription
from local.template import Template
from tests.plugins.local_stack import FIXTURE_TEMPLATE, PROJECT_TEMPLATE

pytestmark = pytest.mark.integration


def _client(service: str, endpoint: str) -> object:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def test_tables_from_the_template(
    local_stack: StackDescription, project_template: Template
) -> None:
    dynamodb = boto3.client("dynamodb")
    assert set(local_stack.tables) == {t.logical_id for t in project_template.tables()}
    table = dynamodb.describe_table(TableName=local_stack.tables["InvocationsTable"].name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by-tenant", "by-batch"}
    assert indexes["by-tenant"]["KeySchema"] == [
        {"AttributeName": "tenant", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert indexes["by-tenant"]["Projection"] == {"ProjectionType": "ALL"}
    ttl = dynamodb.describe_time_to_live(TableName=local_stack.tables["InvocationsTable"].name)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    backups = dynamodb.describe_continuous_backups(
        TableName=local_stack.tables["InvocationsTable"].name
    )["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    idem = local_stack.tables["IdempotencyTable"].name
    assert (
        dynamodb.describe_time_to_live(TableName=idem)["TimeToLiveDescription"]["AttributeName"]
        == "expiration"
    )


def test_queues_with_redrive_policy(local_stack: StackDescription) -> None:
    sqs = boto3.client("sqs")
    queue = local_stack.queues["InvocationQueue"]
    dlq = local_stack.queues["DeadLetterQueue"]
    attrs = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == queue.arn
    assert attrs["VisibilityTimeout"] == "5400"
    assert attrs["MessageRetentionPeriod"] == "345600"
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 4}
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq.url, AttributeNames=["All"])["Attributes"]
    assert dlq_attrs["MessageRetentionPeriod"] == "1209600"
    assert "RedrivePolicy" not in dlq_attrs


def test_bucket_versioning_lifecycle_public_access(local_stack: StackDescription) -> None:
    s3 = boto3.client("s3")
    bucket = local_stack.buckets["AgentsBucket"].name
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["expire-offloaded-payloads"]["Filter"] == {"Prefix": "payloads/"}
    assert rules["expire-offloaded-payloads"]["Expiration"] == {"Days": 32}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 90
    }


def test_function_environments_point_at_created_resources(local_stack: StackDescription) -> None:
    env = local_stack.environment_for("ApiFunction")
    assert env["AWS_ENDPOINT_URL"] == local_stack.endpoint_url
    assert env["INVOCATIONS_TABLE"] == local_stack.tables["InvocationsTable"].name
    assert env["INVOCATION_QUEUE_URL"] == local_stack.queues["InvocationQueue"].url
    assert env["DLQ_URL"] == local_stack.queues["DeadLetterQueue"].url
    assert env["AGENTS_BUCKET"] == local_stack.buckets["AgentsBucket"].name
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    overridden = local_stack.environment_for("ApiFunction", {"DEFAULT_MODEL": "haiku"})
    assert overridden["DEFAULT_MODEL"] == "haiku"
    merged, conflicts = local_stack.merged_environment()
    assert merged["API_TIMEOUT_MS"] == "29000"
    assert merged["MAX_RECEIVE_COUNT"] == "3"
    assert conflicts == []  # the two functions agree on every shared variable
    # the queue URL in the environment is the one SQS answers for the queue name
    sqs = boto3.client("sqs")
    name = local_stack.queues["InvocationQueue"].name
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == env["INVOCATION_QUEUE_URL"]


def test_creating_again_updates(project_template: Template, local_stack: StackDescription) -> None:
    from local.aws_stack import create_resources

    again = create_resources(project_template)
    assert again == local_stack
    # an edited template (other visibility timeout) updates the existing queue
    edited = Template.load(
        FIXTURE_TEMPLATE,
        endpoint_url=project_template.endpoint_url,
        parameter_overrides={"QueueVisibilityTimeout": "7"},
    )
    create_resources(edited)
    edited_again = Template.load(
        FIXTURE_TEMPLATE,
        endpoint_url=project_template.endpoint_url,
        parameter_overrides={"QueueVisibilityTimeout": "9"},
    )
    description = create_resources(edited_again)
    url = description.queues["InvocationQueue"].url
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "9"


def test_own_server_start_stop_and_taken_port() -> None:
    # moto keeps its state per process: a second server in this process sees the
    # session server's resources too, hence a stack name of its own.
    stack = LocalAwsStack(FIXTURE_TEMPLATE, port=0, stack_name="own-server")
    description = stack.start()
    try:
        url = stack.url
        assert description.endpoint_url == url
        assert url.startswith("http://127.0.0.1:")
        sqs = _client("sqs", url)
        urls = sqs.list_queues(QueueNamePrefix="own-server")["QueueUrls"]  # type: ignore[attr-defined]
        assert sorted(urls) == sorted(q.url for q in description.queues.values())
        assert description.queues["InvocationQueue"].url.startswith(url)
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port}.*--aws-port"):
            MotoServer("127.0.0.1", port).start()
        with pytest.raises(PortInUseError):
            LocalAwsStack(FIXTURE_TEMPLATE, port=port, stack_name="own-server").start()
    finally:
        stack.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2)
    # the port is free again
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_context_manager_stops() -> None:
    with LocalAwsStack(PROJECT_TEMPLATE, port=0, stack_name="ctx-manager") as description:
        url = description.endpoint_url
        assert set(description.functions) >= {"ApiFunction", "WorkerFunction"}
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2)
