"""local.aws_stack: the template's resources on moto server, over real HTTP.

What moto holds is compared with what the template declares (the expectations are
derived from the template, not copied from it), so an edit of the template that
the local stack did not carry over fails here.
"""

from __future__ import annotations

import copy
import json
import socket
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest

from local.aws_stack import (
    LocalAwsStack,
    MotoServer,
    PortInUseError,
    StackDescription,
    create_resources,
)
from local.template import BucketSpec, QueueSpec, TableSpec, Template, merge_globals
from tests.plugins.local_stack import FIXTURE_TEMPLATE, PROJECT_TEMPLATE

pytestmark = pytest.mark.integration


def _client(service: str, endpoint: str) -> object:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def _keys(schema: list[Any]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def _attributes(definitions: list[Any]) -> set[tuple[str, str]]:
    return {(a["AttributeName"], a["AttributeType"]) for a in definitions}


def _index_layout(indexes: list[Any]) -> dict[str, tuple[list[tuple[str, str]], str]]:
    return {
        i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]["ProjectionType"]) for i in indexes
    }


def _table_differences(spec: TableSpec) -> list[str]:
    """Where the table in moto differs from the template's declaration (empty: none)."""
    dynamodb = boto3.client("dynamodb")
    table = dynamodb.describe_table(TableName=spec.table_name)["Table"]
    declared = spec.model_dump(by_alias=True)
    expected: dict[str, Any] = {
        "key schema": _keys(declared["key_schema"]),
        "attributes": _attributes(declared["attribute_definitions"]),
        "billing mode": spec.billing_mode,
        "global indexes": _index_layout(declared["global_secondary_indexes"]),
        "local indexes": _index_layout(declared["local_secondary_indexes"]),
        "ttl attribute": spec.ttl_attribute,
        "point-in-time recovery": spec.point_in_time_recovery,
    }
    ttl = dynamodb.describe_time_to_live(TableName=spec.table_name)["TimeToLiveDescription"]
    backups = dynamodb.describe_continuous_backups(TableName=spec.table_name)
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    actual: dict[str, Any] = {
        "key schema": _keys(table["KeySchema"]),
        "attributes": _attributes(table["AttributeDefinitions"]),
        "billing mode": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        "global indexes": _index_layout(table.get("GlobalSecondaryIndexes", [])),
        "local indexes": _index_layout(table.get("LocalSecondaryIndexes", [])),
        "ttl attribute": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
        "point-in-time recovery": recovery["PointInTimeRecoveryStatus"] == "ENABLED",
    }
    return [
        f"{spec.logical_id} {what}: template {expected[what]!r}, moto {actual[what]!r}"
        for what in expected
        if expected[what] != actual[what]
    ]


def _queue_differences(spec: QueueSpec) -> list[str]:
    sqs = boto3.client("sqs")
    answer = sqs.get_queue_attributes(QueueUrl=spec.url, AttributeNames=["All"])
    attrs: dict[str, str] = {str(k): v for k, v in answer["Attributes"].items()}
    expected: dict[str, Any] = {**spec.attributes(), "QueueArn": spec.arn}
    differences = [
        f"{spec.logical_id} {name}: template {value!r}, moto {attrs.get(name)!r}"
        for name, value in expected.items()
        if name != "RedrivePolicy" and attrs.get(name) != value
    ]
    redrive = json.loads(expected.get("RedrivePolicy", "null"))
    if json.loads(attrs.get("RedrivePolicy", "null")) != redrive:
        differences.append(f"{spec.logical_id} RedrivePolicy: template {redrive!r}")
    return differences


def _expected_lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """What S3 answers for a CloudFormation lifecycle rule (the fields the template uses)."""
    expected: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        expected["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        expected["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
    if "AbortIncompleteMultipartUpload" in rule:
        expected["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return expected


def _bucket_differences(spec: BucketSpec) -> list[str]:
    s3 = boto3.client("s3")
    name = spec.bucket_name
    expected_rules = {r["Id"]: _expected_lifecycle_rule(r) for r in spec.lifecycle_rules}
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    actual_rules = {
        rule_id: {k: v for k, v in rules.get(rule_id, {}).items() if k in expected}
        for rule_id, expected in expected_rules.items()
    }
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    expected: dict[str, Any] = {
        "versioning": spec.versioning,
        "public access block": spec.public_access_block,
        "lifecycle rule ids": set(expected_rules),
        "lifecycle rules": expected_rules,
    }
    actual: dict[str, Any] = {
        "versioning": s3.get_bucket_versioning(Bucket=name).get("Status"),
        "public access block": dict(block),
        "lifecycle rule ids": set(rules),
        "lifecycle rules": actual_rules,
    }
    return [
        f"{spec.logical_id} {what}: template {expected[what]!r}, moto {actual[what]!r}"
        for what in expected
        if expected[what] != actual[what]
    ]


def _differences(template: Template) -> list[str]:
    return [
        *(d for spec in template.tables() for d in _table_differences(spec)),
        *(d for spec in template.queues() for d in _queue_differences(spec)),
        *(d for spec in template.buckets() for d in _bucket_differences(spec)),
    ]


def test_every_declared_resource_exists_as_declared(
    local_stack: StackDescription, project_template: Template
) -> None:
    assert set(local_stack.tables) == {t.logical_id for t in project_template.tables()}
    assert set(local_stack.queues) == {q.logical_id for q in project_template.queues()}
    assert set(local_stack.buckets) == {b.logical_id for b in project_template.buckets()}
    # the template declares the layouts the code relies on, so the comparison has teeth
    assert any(t.global_secondary_indexes and t.ttl_attribute for t in project_template.tables())
    assert any(q.redrive_policy for q in project_template.queues())
    assert all(b.lifecycle_rules for b in project_template.buckets())
    assert _differences(project_template) == []


def test_redrive_targets_are_created_queues(
    local_stack: StackDescription, project_template: Template
) -> None:
    arns = {q.arn for q in local_stack.queues.values()}
    for spec in project_template.queues():
        if spec.redrive_policy is not None:
            assert spec.redrive_policy.dead_letter_target_arn in arns


def _edited(document: dict[str, Any]) -> dict[str, Any]:
    """The project template with one table, queue and bucket setting changed each."""
    edited = copy.deepcopy(document)
    resources = edited["Resources"]
    table = resources["InvocationsTable"]["Properties"]
    index = table["GlobalSecondaryIndexes"][0]
    index["Projection"] = {"ProjectionType": "KEYS_ONLY"}
    index["KeySchema"] = [k for k in index["KeySchema"] if k["KeyType"] == "HASH"]
    table["TimeToLiveSpecification"] = {"AttributeName": "edited_ttl", "Enabled": True}
    queue = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::Queue")
    queue["VisibilityTimeout"] = 77
    bucket = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::S3::Bucket")
    bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] = 3
    return edited


def test_an_edited_template_is_what_gets_created(project_template: Template) -> None:
    edited = Template(
        _edited(project_template.document),
        base_dir=project_template.base_dir,
        endpoint_url=project_template.endpoint_url,
        stack_name="edited",
    )
    create_resources(edited)
    assert _differences(edited) == []
    # the same resources compared with the unedited declaration: every edit is seen
    unedited = Template(
        project_template.document,
        base_dir=project_template.base_dir,
        endpoint_url=project_template.endpoint_url,
        stack_name="edited",
    )
    found = " | ".join(_differences(unedited))
    for what in ("global indexes", "ttl attribute", "VisibilityTimeout", "lifecycle rules"):
        assert what in found


def _declared_environment(template: Template, function_id: str) -> dict[str, Any]:
    """A function's environment variables as written (Globals merged, unresolved)."""
    defaults = (template.document.get("Globals") or {}).get("Function") or {}
    props = merge_globals(defaults, template.raw_properties(function_id))
    variables: dict[str, Any] = props["Environment"]["Variables"]
    return variables


def test_function_environments_point_at_created_resources(
    local_stack: StackDescription, project_template: Template
) -> None:
    created = {
        **{k: t.name for k, t in local_stack.tables.items()},
        **{k: q.url for k, q in local_stack.queues.items()},
        **{k: b.name for k, b in local_stack.buckets.items()},
    }
    sqs = boto3.client("sqs")
    for function_id in project_template.function_ids():
        env = local_stack.environment_for(function_id)
        assert env["AWS_ENDPOINT_URL"] == local_stack.endpoint_url
        assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
        spec = project_template.function(function_id)
        references = {
            name: value["Ref"]
            for name, value in _declared_environment(project_template, function_id).items()
            if isinstance(value, dict) and value.get("Ref") in created
        }
        assert references, f"{function_id} names no created resource in its environment"
        for name, logical_id in references.items():
            assert env[name] == spec.environment[name] == created[logical_id], name
        for name, logical_id in references.items():
            if logical_id in local_stack.queues:  # the URL SQS answers for the queue name
                queue_name = local_stack.queues[logical_id].name
                assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"] == env[name]
    overridden = local_stack.environment_for("ApiFunction", {"DEFAULT_MODEL": "haiku"})
    assert overridden["DEFAULT_MODEL"] == "haiku"
    merged, conflicts = local_stack.merged_environment()
    assert conflicts == []  # the functions agree on every shared variable
    for function_id in project_template.function_ids():  # so one process can run them all
        assert local_stack.environment_for(function_id).items() <= merged.items()


def test_creating_again_updates(project_template: Template, local_stack: StackDescription) -> None:
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


def test_moto_in_a_child_process_serves_the_stack_and_stops_with_it() -> None:
    # a process of its own: its state is not this process's moto (no other test's queues)
    stack = LocalAwsStack(FIXTURE_TEMPLATE, port=0, stack_name="child-server", in_process=False)
    description = stack.start()
    try:
        url = stack.url
        sqs = _client("sqs", url)
        urls = sqs.list_queues()["QueueUrls"]  # type: ignore[attr-defined]
        assert sorted(urls) == sorted(q.url for q in description.queues.values())
    finally:
        stack.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2)


def test_context_manager_stops() -> None:
    with LocalAwsStack(PROJECT_TEMPLATE, port=0, stack_name="ctx-manager") as description:
        url = description.endpoint_url
        assert set(description.functions) >= {"ApiFunction", "WorkerFunction"}
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2)
