"""agw.stack_target: which stack an operations command works on (flags, environment,
``--stack`` from CloudFormation in moto server, ``.agw/dev.json``)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import boto3
import pytest

from agw.cli import main
from agw.stack_target import resolve_target
from local.dev_file import DevFile, DevFileModel, DevFileResources, read_dev_file, write_dev_file

pytestmark = pytest.mark.integration

#: A small stack shaped like template.yaml: its output names and logical ids.
CFN_TEMPLATE = {
    "Resources": {
        "InvocationsTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            },
        },
        "InvocationQueue": {"Type": "AWS::SQS::Queue"},
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "AgentsBucket": {"Type": "AWS::S3::Bucket"},
    },
    "Outputs": {
        "InvocationsTableName": {"Value": {"Ref": "InvocationsTable"}},
        "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
        "AgentsBucketName": {"Value": {"Ref": "AgentsBucket"}},
        # no InvocationQueueUrl output: the queue comes from the stack's resources
    },
}
_TARGET_ENV = (
    "INVOCATIONS_TABLE",
    "IDEMPOTENCY_TABLE",
    "INVOCATION_QUEUE_URL",
    "DLQ_URL",
    "AGENTS_BUCKET",
    "PAYLOAD_BUCKET",
)


def dev_file(
    tmp_path: Path, *, pid: int | None = None, aws_url: str = "http://127.0.0.1:1"
) -> Path:
    path = tmp_path / ".agw" / "dev.json"
    dev = DevFile(
        pid=os.getpid() if pid is None else pid,
        started_at="2026-01-01T00:00:00+00:00",
        project_root=str(tmp_path),
        stack_name="agent-gateway-local",
        region="eu-west-1",
        api_url="http://127.0.0.1:2",
        aws_url=aws_url,
        model=DevFileModel(
            kind="offline",
            base_url="http://127.0.0.1:3",
            key_source="offline-placeholder",
            offline_api_key="offline-local-model",
        ),
        resources=DevFileResources(
            invocations_table="dev-table",
            idempotency_table="dev-idem",
            queue_url=f"{aws_url}/123456789012/dev-queue",
            dlq_url=f"{aws_url}/123456789012/dev-dlq",
            agents_bucket="dev-bucket",
            agents_prefix="agents/",
            payload_bucket="dev-bucket",
            payload_prefix="payloads/",
        ),
        tenants={"k": "t"},
        environment={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    assert write_dev_file(path, dev)
    return path


@pytest.fixture
def no_target_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _TARGET_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def deployed_stack(aws_endpoint: str, no_target_env: None) -> str:
    name = f"agw-ops-{uuid.uuid4().hex[:8]}"
    cloudformation = boto3.client("cloudformation", endpoint_url=aws_endpoint)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(CFN_TEMPLATE))
    return name


def test_stack_reads_outputs_then_resources_from_cloudformation(
    deployed_stack: str, aws_endpoint: str
) -> None:
    target = resolve_target({}, stack=deployed_stack, environ={"AWS_ENDPOINT_URL": aws_endpoint})
    sqs = boto3.client("sqs", endpoint_url=aws_endpoint)
    assert target.source == "cloudformation"
    assert target.stack_name == deployed_stack
    boto3.client("dynamodb", endpoint_url=aws_endpoint).describe_table(
        TableName=target.invocations_table
    )
    assert sqs.get_queue_attributes(QueueUrl=target.dlq_url, AttributeNames=["QueueArn"])
    assert "InvocationQueue" in target.queue_url  # from describe_stack_resources
    assert target.queue_url != target.dlq_url
    assert target.agents_bucket
    assert target.payload_bucket == target.agents_bucket
    assert target.payload_prefix == "payloads/"


def test_agw_dlq_list_with_stack_flag_lists_that_stacks_dlq(
    deployed_stack: str, aws_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dlq = resolve_target({}, stack=deployed_stack).dlq_url
    boto3.client("sqs", endpoint_url=aws_endpoint).send_message(QueueUrl=dlq, MessageBody="{oops")
    capsys.readouterr()
    assert main(["dlq", "list", "--stack", deployed_stack, "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in entries] == ["unknown"]  # not a message the worker wrote


def test_an_unknown_stack_is_one_clear_error(
    aws_endpoint: str, no_target_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dlq", "list", "--stack", "no-such-stack"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("agw: error: cannot read stack 'no-such-stack'")
    assert "\n" not in err


def test_flags_then_environment_then_the_stack(deployed_stack: str, aws_endpoint: str) -> None:
    env = {"AWS_ENDPOINT_URL": aws_endpoint, "DLQ_URL": "env-dlq"}
    target = resolve_target({"table": "flag-table"}, stack=deployed_stack, environ=env)
    assert target.invocations_table == "flag-table"
    assert target.dlq_url == "env-dlq"
    assert "InvocationQueue" in target.queue_url


def test_without_stack_the_running_dev_file_is_used(tmp_path: Path) -> None:
    path = dev_file(tmp_path)
    target = resolve_target({}, environ={}, dev_file=path)
    assert target.source == "dev-file"
    assert (target.invocations_table, target.dlq_url) == (
        "dev-table",
        f"{target.aws_endpoint}/123456789012/dev-dlq",
    )
    assert target.aws_endpoint == "http://127.0.0.1:1"
    assert target.region == "eu-west-1"
    assert target.local_credentials == ("testing", "testing")
    # explicit flags and environment variables still win over the dev file
    env = {"INVOCATIONS_TABLE": "env-table", "AWS_ENDPOINT_URL": "http://elsewhere:1"}
    other = resolve_target({"dlq_url": "flag-dlq"}, environ=env, dev_file=path)
    assert (other.invocations_table, other.dlq_url) == ("env-table", "flag-dlq")
    assert other.aws_endpoint == "http://elsewhere:1"
    assert other.local_credentials is None  # not the dev stack's moto


def test_a_stale_dev_file_is_ignored_and_the_error_says_what_to_do(tmp_path: Path) -> None:
    path = dev_file(tmp_path, pid=2**22 + 12345)  # no such process
    assert read_dev_file(path) is None
    target = resolve_target({}, environ={}, dev_file=path)
    assert target.source == "none"
    with pytest.raises(Exception, match=r"--table, --stack NAME or set INVOCATIONS_TABLE"):
        target.require("invocations_table")


def test_the_dev_file_is_created_0600_and_not_replaced_while_its_owner_lives(
    tmp_path: Path,
) -> None:
    path = dev_file(tmp_path, pid=os.getppid())  # a live process that is not us
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    owner = read_dev_file(path)
    assert owner is not None
    mine = owner.model_copy(update={"pid": os.getpid()})
    assert not write_dev_file(path, mine)
    assert read_dev_file(path) == owner
