"""local.template: short tags, intrinsic resolution, what the local stack extracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import ENV_VARS
from local.template import (
    Template,
    TemplateError,
    load_document,
    match_path,
)
from tests.plugins.local_stack import FIXTURE_TEMPLATE, PROJECT_TEMPLATE, REPO

ENDPOINT = "http://127.0.0.1:5999"
ACCOUNT = "123456789012"


@pytest.fixture
def real() -> Template:
    return Template.load(PROJECT_TEMPLATE, endpoint_url=ENDPOINT)


@pytest.fixture
def fixture_template() -> Template:
    return Template.load(FIXTURE_TEMPLATE, endpoint_url=ENDPOINT)


def test_short_tags_become_long_form(tmp_path: Path) -> None:
    file = tmp_path / "t.yaml"
    file.write_text(
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Resources:\n"
        "  X:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      A: !Ref Y\n"
        "      B: !GetAtt Y.Arn\n"
        "      C: !Sub '${Y}-x'\n"
        "      D: !If [Cond, !Ref AWS::NoValue, 1]\n"
        "      E: !Join ['-', [a, !Select [0, [b, c]]]]\n"
        "      F: !Equals [a, b]\n"
        "      G: !GetAtt [Y, Arn]\n"
        "      H: !Condition Cond\n"
        "      I: !FindInMap [M, k, v]\n"
    )
    props = load_document(file)["Resources"]["X"]["Properties"]
    assert props == {
        "A": {"Ref": "Y"},
        "B": {"Fn::GetAtt": ["Y", "Arn"]},
        "C": {"Fn::Sub": "${Y}-x"},
        "D": {"Fn::If": ["Cond", {"Ref": "AWS::NoValue"}, 1]},
        "E": {"Fn::Join": ["-", ["a", {"Fn::Select": [0, ["b", "c"]]}]]},
        "F": {"Fn::Equals": ["a", "b"]},
        "G": {"Fn::GetAtt": ["Y", "Arn"]},
        "H": {"Condition": "Cond"},
        "I": {"Fn::FindInMap": ["M", "k", "v"]},
    }
    # dates stay text, as CloudFormation reads them
    assert load_document(file)["AWSTemplateFormatVersion"] == "2010-09-09"


def test_bad_documents_are_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.yaml"
    with pytest.raises(TemplateError, match="cannot read"):
        load_document(missing)
    empty = tmp_path / "empty.yaml"
    empty.write_text("Description: no resources\n")
    with pytest.raises(TemplateError, match="Resources"):
        load_document(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [\n")
    with pytest.raises(TemplateError, match="not a valid template"):
        load_document(broken)


def test_real_template_functions(real: Template) -> None:
    api = real.function("ApiFunction")
    worker = real.function("WorkerFunction")
    assert api.handler == "handlers.api.handler"
    assert (api.handler_module, api.handler_function) == ("handlers.api", "handler")
    assert worker.handler == "handlers.worker.handler"
    assert api.code_uri == worker.code_uri == REPO / "src"
    # Globals merged: MemorySize from Globals for the API, the worker's own value wins.
    assert (api.timeout, api.memory_size) == (30, 512)
    assert (worker.timeout, worker.memory_size) == (900, 1024)
    assert set(real.function_ids()) >= {"ApiFunction", "WorkerFunction"}


def test_real_template_environment_resolves_to_local_resources(real: Template) -> None:
    env = real.function("ApiFunction").environment
    tables = {t.logical_id: t.table_name for t in real.tables()}
    queues = {q.logical_id: q for q in real.queues()}
    buckets = {b.logical_id: b.bucket_name for b in real.buckets()}
    assert env["INVOCATIONS_TABLE"] == tables["InvocationsTable"]
    assert env["IDEMPOTENCY_TABLE"] == tables["IdempotencyTable"]
    assert env["AGENTS_BUCKET"] == buckets["AgentsBucket"]
    assert env["INVOCATION_QUEUE_URL"] == queues["InvocationQueue"].url
    assert (
        env["INVOCATION_QUEUE_URL"]
        == f"{ENDPOINT}/{ACCOUNT}/{queues['InvocationQueue'].queue_name}"
    )
    assert env["DLQ_URL"] == queues["DeadLetterQueue"].url
    assert env["DEFAULT_MODEL"] == "sonnet"  # a parameter's Default
    assert env["API_TIMEOUT_MS"] == "29000"  # the function's own variables
    worker_env = real.function("WorkerFunction").environment
    assert worker_env["MAX_RECEIVE_COUNT"] == "3"
    assert "API_TIMEOUT_MS" not in worker_env
    # every variable is one the code reads (or Powertools' own)
    for name in {*env, *worker_env}:
        assert name in ENV_VARS or name.startswith("POWERTOOLS_"), name
    # nothing unresolved slips through
    for value in {*env.values(), *worker_env.values()}:
        assert "Ref" not in value
        assert "Fn::" not in value
        assert "${" not in value


def test_parameter_overrides(real: Template) -> None:
    custom = Template.load(
        PROJECT_TEMPLATE,
        endpoint_url=ENDPOINT,
        parameter_overrides={"DefaultModel": "haiku", "MaxReceiveCount": "1"},
    )
    assert custom.function("WorkerFunction").environment["DEFAULT_MODEL"] == "haiku"
    # the queue's redrive limit is MaxReceiveCount + 1 through the template's Mappings
    default_policy = real.queue("InvocationQueue").redrive_policy
    assert default_policy is not None
    assert default_policy.max_receive_count == 4
    policy = custom.queue("InvocationQueue").redrive_policy
    assert policy is not None
    assert policy.max_receive_count == 2
    with pytest.raises(TemplateError, match="unknown template parameter"):
        Template.load(PROJECT_TEMPLATE, parameter_overrides={"Nope": "1"})
    with pytest.raises(TemplateError, match="is not one of"):
        Template.load(PROJECT_TEMPLATE, parameter_overrides={"AuthMode": "OPEN"})


def test_real_template_data_resources(real: Template) -> None:
    tables = {t.logical_id: t for t in real.tables()}
    assert set(tables) == {"InvocationsTable", "IdempotencyTable", "TenantsTable", "EventsTable"}
    events = tables["EventsTable"]
    assert [(k.attribute_name, k.key_type) for k in events.key_schema] == [
        ("invocation_id", "HASH"),
        ("seq", "RANGE"),
    ]
    assert events.ttl_attribute == "expires_at"
    assert events.billing_mode == "PAY_PER_REQUEST"
    assert tables["TenantsTable"].point_in_time_recovery
    invocations = tables["InvocationsTable"]
    assert [k.attribute_name for k in invocations.key_schema] == ["id"]
    assert {i.index_name for i in invocations.global_secondary_indexes} == {
        "by-tenant",
        "by-batch",
        "SweepIndex",
    }
    assert invocations.ttl_attribute == "expires_at"
    assert invocations.billing_mode == "PAY_PER_REQUEST"
    assert invocations.arn == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{invocations.table_name}"
    assert tables["IdempotencyTable"].ttl_attribute == "expiration"

    queue = real.queue("InvocationQueue")
    dlq = real.queue("DeadLetterQueue")
    assert queue.visibility_timeout == 5400
    assert queue.redrive_policy is not None
    assert queue.redrive_policy.dead_letter_target_arn == dlq.arn
    assert dlq.message_retention_period == 1_209_600

    (bucket,) = real.buckets()
    assert bucket.versioning == "Enabled"
    assert bucket.bucket_name == bucket.bucket_name.lower()


def test_real_template_worker_event_source(real: Template) -> None:
    source = real.sqs_event_source("WorkerFunction")
    assert source is not None
    assert source.queue_logical_id == "InvocationQueue"
    assert source.queue_arn == real.queue("InvocationQueue").arn
    assert source.batch_size == 5
    assert source.maximum_batching_window_in_seconds == 0
    assert source.report_batch_item_failures
    assert source.maximum_concurrency == 5
    assert real.sqs_event_source("ApiFunction") is None


def test_real_template_api_routes_from_openapi_body(real: Template) -> None:
    (keys_route,) = real.api_routes("ApiFunction")
    assert not keys_route.api_key_required  # KEYS: the authorizer, not an API key
    assert not keys_route.iam_auth
    api_key = Template.load(PROJECT_TEMPLATE, parameter_overrides={"AuthMode": "API_KEY"})
    (route,) = api_key.api_routes("ApiFunction")
    assert (route.path, route.method) == ("/{proxy+}", "ANY")
    assert route.api_key_required
    assert not route.iam_auth
    assert route.timeout_ms == 29_000
    api = real.api(route.rest_api_id)
    assert api.stage_name == "v1"
    assert api.gateway_responses["INVALID_API_KEY"].status_code == 403
    assert api.gateway_responses["INVALID_API_KEY"].headers == {
        "Content-Type": "application/problem+json"
    }
    assert real.api_routes("WorkerFunction") == []
    iam = Template.load(PROJECT_TEMPLATE, parameter_overrides={"AuthMode": "IAM"})
    (iam_route,) = iam.api_routes("ApiFunction")
    assert iam_route.iam_auth
    assert not iam_route.api_key_required


def test_conditions_novalue_sub_findinmap(fixture_template: Template) -> None:
    api = fixture_template.function("ApiFunction")
    # !If [HasSecret, ..., !Ref AWS::NoValue] with the empty default removes the key
    assert "ANTHROPIC_API_KEY_SECRET" not in api.environment
    assert api.environment["LOG_INPUT"] == "false"  # YAML booleans become "true"/"false"
    assert api.environment["RETENTION_DAYS"] == "30"
    assert api.environment["SELF"] == f"agent-gateway-local@us-east-1/{ACCOUNT}"
    table_arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/agent-gateway-local-InvocationsTable"
    assert api.environment["TABLE_ARN"] == f"{table_arn}/index/*"
    assert fixture_template.function("WorkerFunction").environment["WORKER_CONCURRENCY"] == "4"
    # explicit names (TableName: !Sub ...) are honoured
    names = {t.logical_id: t.table_name for t in fixture_template.tables()}
    assert names["IdempotencyTable"] == "agent-gateway-local-idempotency"
    # a resource whose Condition is false does not exist locally either
    assert "SecretOnlyTable" not in names

    with_secret = Template.load(
        FIXTURE_TEMPLATE,
        endpoint_url=ENDPOINT,
        stack_name="other",
        parameter_overrides={"AnthropicApiKeySecretArn": "arn:secret"},
    )
    env = with_secret.function("ApiFunction").environment
    assert env["ANTHROPIC_API_KEY_SECRET"] == "arn:secret"
    assert env["INVOCATIONS_TABLE"] == "other-InvocationsTable"
    assert "SecretOnlyTable" in {t.logical_id for t in with_secret.tables()}


def test_fixture_routes_and_api(fixture_template: Template) -> None:
    routes = fixture_template.api_routes("ApiFunction")
    by_name = {r.event_name: r for r in routes}
    assert by_name["Health"].api_key_required is False  # the event's own Auth wins
    assert by_name["Invoke"].api_key_required is True  # the Api's Auth default
    assert by_name["Invoke"].method == "POST"
    assert by_name["Files"].method == "ANY"
    # literal routes are tried before parameterised and greedy ones
    assert routes.index(by_name["ListInvocations"]) < routes.index(by_name["GetInvocation"])
    assert routes[-1].event_name == "Files"
    api = fixture_template.api("Api")
    assert api.stage_name == "v1"
    assert api.binary_media_types == ["application/octet-stream"]


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/health", "/health", {}),
        ("/health", "/health/", {}),
        ("/health", "/healthz", None),
        ("/invocations/{id}", "/invocations/abc", {"id": "abc"}),
        ("/invocations/{id}", "/invocations", None),
        ("/invocations/{id}", "/invocations/a/b", None),
        ("/agents/{name}/invocations", "/agents/x/invocations", {"name": "x"}),
        ("/{proxy+}", "/agents/x/invocations", {"proxy": "agents/x/invocations"}),
        ("/{proxy+}", "/", None),
        ("/files/{proxy+}", "/files/a/b.txt", {"proxy": "a/b.txt"}),
        ("/files/{proxy+}", "/files", None),
    ],
)
def test_match_path(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert match_path(template, path) == expected


def test_unknown_things_are_errors(real: Template) -> None:
    with pytest.raises(TemplateError, match="no resource"):
        real.function("NoSuchFunction")
    with pytest.raises(TemplateError, match="not a function"):
        real.function("InvocationsTable")
    with pytest.raises(TemplateError, match="not supported locally"):
        real.get_att("InvocationsTable", "Nope")
    with pytest.raises(TemplateError, match="no queue"):
        real.queue("InvocationsTable")


def test_bind_changes_only_the_endpoint(real: Template) -> None:
    other = real.bind(endpoint_url="http://127.0.0.1:6000/")
    assert other.queue("InvocationQueue").url.startswith("http://127.0.0.1:6000/")
    assert other.queue("InvocationQueue").queue_name == real.queue("InvocationQueue").queue_name
    assert other.function("ApiFunction").code_uri == real.function("ApiFunction").code_uri
