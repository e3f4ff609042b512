"""template.yaml <-> code: handlers, environment, IAM, event sources, data contracts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from agents.config import ENV_VARS, REQUIRED_IN_AWS, Settings
from tests.infra import iam_actions
from tests.infra.cfn import (
    ROOT,
    canonical,
    function_properties,
    parameter_defaults,
    resolve_env,
    resources,
    run_tool,
    template,
    tool,
)

FUNCTIONS = (
    "ApiFunction",
    "WorkerFunction",
    "CollectorFunction",
    "AuthorizerFunction",
    "SweeperFunction",
    "WebhookFunction",
)
ARTIFACT_PACKAGES = {"handlers", "agents"}

# ------------------------------------------------------------ environment ----

_BOTH = {
    "AGENTS_BUCKET",
    "AGENTS_PREFIX",
    "PAYLOAD_BUCKET",
    "PAYLOAD_PREFIX",
    "INVOCATIONS_TABLE",
    "IDEMPOTENCY_TABLE",
    "EVENTS_TABLE",
    "INVOCATION_QUEUE_URL",
    "DLQ_URL",
    "MODEL_ALIASES",
    "MODEL_PRICES",
    "DEFAULT_MODEL",
    "DEFAULT_MAX_TOKENS",
    "MAX_TOKENS_LIMIT",
    "MAX_TURNS",
    "RETENTION_DAYS",
    "ANTHROPIC_API_KEY_SECRET",
    "DEADLINE_MARGIN_MS",
    "MAX_INPUT_CHARS",
    "OFFLOAD_THRESHOLD_BYTES",
    "LOG_INPUT",
    "DEFINITION_CACHE_TTL_SECONDS",
    "WORKSPACE_MAX_FILES",
    "WORKSPACE_MAX_BYTES",
    "WORKSPACE_MAX_FILE_BYTES",
    "WORKSPACE_MAX_PATH_CHARS",
    "DISABLED_TOOLS",
    "CODE_EXECUTION",
    "MCP_SERVERS",
    "WEB_SEARCH_MAX_USES",
    "WEB_FETCH_MAX_USES",
    "WEB_ALLOWED_DOMAINS",
    "WEB_BLOCKED_DOMAINS",
    "WEBHOOK_QUEUE_URL",
}
#: Resumable runs (issue #15): read by every function that runs an invocation.
_RESUMABLE = {
    "MAX_RUN_SECONDS",
    "APPROVAL_TIMEOUT_SECONDS",
    "HANDOFF_GRACE_SECONDS",
    "TURN_WRITE_MARGIN_MS",
}
#: Which of config.ENV_VARS each function reads (the rest of ENV_VARS: LOCAL_ONLY).
NEEDS: dict[str, set[str]] = {
    "ApiFunction": _BOTH
    | {"API_TIMEOUT_MS", "MAX_REQUEST_BYTES", "BATCH_MAX_ITEMS"}
    | {"AUTH_MODE", "TENANT_CLAIM", "TENANTS_TABLE"}
    | _RESUMABLE,
    "WorkerFunction": _BOTH
    | {"MAX_RECEIVE_COUNT", "LEASE_SECONDS", "WORKER_CONCURRENCY", "ECONOMY_QUEUE_URL"}
    | {"TENANTS_TABLE"}
    | _RESUMABLE,
    "CollectorFunction": _BOTH
    | {
        "MAX_RECEIVE_COUNT",
        "ECONOMY_QUEUE_URL",
        "ECONOMY_MAX_REQUESTS",
        "ECONOMY_MAX_BYTES",
        "ECONOMY_RECONCILE_AFTER_SECONDS",
    },
    # agents.sweeper: the store, the two queues (continuations, DLQ) and the timeouts.
    "SweeperFunction": _BOTH | {"APPROVAL_TIMEOUT_SECONDS", "HANDOFF_GRACE_SECONDS"},
    # Globals give it the shared variables too; it reads only these (checked on its own block).
    "AuthorizerFunction": {"TENANTS_TABLE", "TENANT_KEY_PEPPER_SECRET", "KEY_LAST_USED_INTERVAL_S"},
    # Globals give it the shared variables too; its own block holds only these.
    "WebhookFunction": {
        "INVOCATIONS_TABLE",
        "TENANTS_TABLE",
        "WEBHOOK_QUEUE_URL",
        "WEBHOOK_DLQ_URL",
        "WEBHOOK_SECRET_PREFIX",
        "WEBHOOK_RETRY_SCHEDULE",
        "WEBHOOK_ALLOW_LOCAL",
        "WEBHOOK_CONNECT_TIMEOUT_S",
        "WEBHOOK_READ_TIMEOUT_S",
        "WEBHOOK_LINK_BASE",
    },
}
#: Functions whose own Environment block is checked for extras (Globals are shared).
OWN_ENV_ONLY = {"AuthorizerFunction", "WebhookFunction"}
#: Read only outside AWS; never set by the template.
LOCAL_ONLY = {"ANTHROPIC_API_KEY"}
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}


def _env(fn: str) -> dict[str, Any]:
    env: dict[str, Any] = function_properties(fn)["Environment"]["Variables"]
    return env


def test_every_config_variable_is_assigned_to_a_function_or_local_only() -> None:
    placed = set().union(*NEEDS.values()) | LOCAL_ONLY
    assert set(ENV_VARS) == placed, {
        "new in config.ENV_VARS: decide which function needs it (NEEDS) and set it in "
        "template.yaml": sorted(set(ENV_VARS) - placed),
        "no longer in config.ENV_VARS": sorted(placed - set(ENV_VARS)),
    }


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_function_sets_the_variables_it_reads(fn: str) -> None:
    env = _env(fn)
    missing = (NEEDS[fn] | REQUIRED_IN_AWS | POWERTOOLS) - set(env)
    assert not missing, f"{fn} reads {sorted(missing)} but template.yaml does not set them"
    unknown = set(env) - set(ENV_VARS) - POWERTOOLS
    assert not unknown, f"{fn} sets {sorted(unknown)}, which src/agents/config.py never reads"
    own = resources()[fn]["Properties"]["Environment"]["Variables"] if fn in OWN_ENV_ONLY else env
    extra = set(own) & set(ENV_VARS) - NEEDS[fn]
    assert not extra, f"{fn} sets {sorted(extra)} that it does not need (least privilege)"


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_the_api_key_never_travels_in_an_environment_variable(fn: str) -> None:
    env = _env(fn)
    assert "ANTHROPIC_API_KEY" not in env
    assert env["ANTHROPIC_API_KEY_SECRET"] == {"Ref": "AnthropicApiKeySecretName"}
    for value in resolve_env(env).values():
        assert not value.startswith("sk-ant-"), "a literal API key in template.yaml"


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_environment_values_are_valid_settings(fn: str) -> None:
    resolved = resolve_env(_env(fn))
    settings = Settings.from_env(resolved)  # raises ConfigError on a bad value
    assert settings.agents_bucket == "<AgentsBucket>"
    assert settings.effective_payload_bucket == settings.agents_bucket
    assert settings.agents_prefix == iam_actions.AGENTS_PREFIX
    assert settings.payload_prefix == iam_actions.PAYLOAD_PREFIX
    assert settings.invocations_table == "<InvocationsTable>"
    assert settings.idempotency_table == "<IdempotencyTable>"
    assert settings.invocation_queue_url == "<InvocationQueue>"
    assert settings.dlq_url == "<DeadLetterQueue>"
    assert settings.retention_days == int(parameter_defaults()["RetentionDays"])


def test_deadlines_fit_their_timeouts() -> None:
    api = function_properties("ApiFunction")
    integration = _proxy_operation()["x-amazon-apigateway-integration"]
    api_timeout_ms = int(_env("ApiFunction")["API_TIMEOUT_MS"])
    assert api_timeout_ms <= integration["timeoutInMillis"] <= 29_000
    assert api_timeout_ms < api["Timeout"] * 1000

    worker = function_properties("WorkerFunction")
    env = _env("WorkerFunction")
    # The run lease must outlive one worker invocation, or a live run looks abandoned.
    assert int(env["LEASE_SECONDS"]) > worker["Timeout"]
    assert env["MAX_RECEIVE_COUNT"] == {"Ref": "MaxReceiveCount"}
    assert env["WORKER_CONCURRENCY"] == {"Ref": "WorkerBatchSize"}


def test_payloads_outlive_their_records() -> None:
    defaults = parameter_defaults()
    # DynamoDB TTL deletes lazily (typically within a few days); a record must never
    # point at a payload the lifecycle rule already expired.
    assert int(defaults["PayloadRetentionDays"]) >= int(defaults["RetentionDays"]) + 2


# ---------------------------------------------------------------- handlers ----


def _import_report(fn: str) -> dict[str, Any]:
    """Import a function's handler in a fresh interpreter, with its template environment,
    as Lambda's init phase does, and report what got loaded."""
    handler = function_properties(fn)["Handler"]
    module, _, attr = handler.rpartition(".")
    probe = (
        "import importlib, json, sys\n"
        f"m = importlib.import_module({module!r})\n"
        f"h = getattr(m, {attr!r}, None)\n"
        "from aws_lambda_powertools.event_handler import api_gateway as ag\n"
        "print(json.dumps({\n"
        "  'callable': callable(h),\n"
        "  'file': m.__file__,\n"
        "  'project': sorted({n.split('.')[0] for n in sys.modules}\n"
        "                    & {'agw', 'local', 'tests', 'bench'}),\n"
        "  'resolvers': sorted({type(v).__name__ for v in vars(m).values()\n"
        "                       if isinstance(v, ag.ApiGatewayResolver)}),\n"
        "}))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT / "src"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": fn,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # Never reach AWS from an import: a client created at import time would fail here.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **resolve_env(_env(fn)),
    }
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT / "src",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"{fn}: importing {handler} failed:\n{proc.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_handler_exists_in_the_artifact_and_imports(fn: str) -> None:
    handler = function_properties(fn)["Handler"]
    module = handler.rpartition(".")[0]
    assert module.split(".")[0] in ARTIFACT_PACKAGES, f"{handler} is outside handlers/ and agents/"
    path = ROOT / "src" / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{fn}: {path.relative_to(ROOT)} does not exist"
    report = _import_report(fn)
    assert report["callable"], f"{handler} is not a callable"
    assert report["file"].startswith(str(ROOT / "src")), report["file"]
    # The artifact holds handlers/ and agents/ only: importing anything else fails in AWS.
    assert report["project"] == [], f"{handler} imports {report['project']} (not shipped)"


def test_api_handler_speaks_rest_api_proxy_events() -> None:
    # API Gateway REST (v1 payload) proxy integration -> a Powertools REST resolver.
    resolvers = _import_report("ApiFunction")["resolvers"]
    assert resolvers, "handlers.api defines no Powertools API Gateway resolver"
    assert set(resolvers) <= {"APIGatewayRestResolver"}, (
        f"template.yaml sends REST API (payload v1) events; the handler uses {resolvers}"
    )


# ----------------------------------------------------------- event sources ----


def _proxy_operation() -> dict[str, Any]:
    body = resources()["Api"]["Properties"]["DefinitionBody"]
    operation: dict[str, Any] = body["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]
    return operation


def test_api_routes_every_request_to_the_api_function_alias() -> None:
    body = resources()["Api"]["Properties"]["DefinitionBody"]
    assert list(body["paths"]) == ["/{proxy+}"]
    integration = _proxy_operation()["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy"
    assert integration["httpMethod"] == "POST"
    # The alias, not $LATEST: SnapStart only applies to published versions.
    assert "${ApiFunction.Alias}" in integration["uri"]["Fn::Sub"]
    permission = resources()["ApiInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "ApiFunction.Alias"}
    assert permission["Principal"] == "apigateway.amazonaws.com"


def test_every_api_operation_requires_authentication() -> None:
    body = resources()["Api"]["Properties"]["DefinitionBody"]
    schemes = body["components"]["securitySchemes"]
    assert schemes["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    authorizer = schemes["tenant_key"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert authorizer["identitySource"] == "method.request.header.x-api-key"
    assert authorizer["authorizerResultTtlInSeconds"] == {"Ref": "AuthorizerCacheTtlSeconds"}
    assert "${AuthorizerFunction.Arn}" in authorizer["authorizerUri"]["Fn::Sub"]
    assert 0 < int(parameter_defaults()["AuthorizerCacheTtlSeconds"]) <= 300
    assert parameter_defaults()["AuthMode"] == "KEYS"
    assert body["x-amazon-apigateway-api-key-source"] == {
        "Fn::If": ["UseKeys", "AUTHORIZER", "HEADER"]
    }
    expected = {
        "Fn::If": [
            "UseIamAuth",
            {"sigv4": []},
            {
                "Fn::If": [
                    "UseKeys",
                    {"tenant_key": []},
                    {"Fn::If": ["UseCognito", {"cognito": []}, {"api_key": []}]},
                ]
            },
        ]
    }
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            (requirement,) = operation["security"]
            assert requirement == expected, f"{method} {path} is not behind AuthMode"
    assert "unfit for production" in template()["Parameters"]["AuthMode"]["Description"]
    plan = resources()["ApiUsagePlan"]
    assert plan["Condition"] == "UseApiKey"
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": {"Ref": "ApiThrottleRateLimit"},
        "BurstLimit": {"Ref": "ApiThrottleBurstLimit"},
    }
    assert plan["Properties"]["Quota"] == {
        "Limit": {"Ref": "ApiQuotaLimit"},
        "Period": {"Ref": "ApiQuotaPeriod"},
    }


def test_worker_is_fed_by_the_invocation_queue_with_partial_batch_failures() -> None:
    mappings = resources("AWS::Lambda::EventSourceMapping")
    assert set(mappings) == {"WorkerInvocationQueueMapping", "WebhookQueueMapping"}
    props = mappings["WorkerInvocationQueueMapping"]["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["InvocationQueue", "Arn"]}
    assert props["FunctionName"] == {"Ref": "WorkerFunction.Alias"}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == {"Ref": "WorkerBatchSize"}
    assert props["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerMaxConcurrency"}}
    for fn in FUNCTIONS:
        assert "Events" not in function_properties(fn), f"{fn}: SAM events bypass the roles"


def test_webhook_function_is_fed_by_its_queue_with_a_dlq_and_an_alarm() -> None:
    props = resources("AWS::Lambda::EventSourceMapping")["WebhookQueueMapping"]["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert props["FunctionName"] == {"Ref": "WebhookFunction.Alias"}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources()["WebhookQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]
    }
    assert queue["VisibilityTimeout"] >= 6 * function_properties("WebhookFunction")["Timeout"]
    alarm = resources()["WebhookDeadLetterQueueAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["WebhookDeadLetterQueue", "QueueName"]
    }
    env = resources()["WebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert env["WEBHOOK_ALLOW_LOCAL"] == "false", "deployed webhooks never allow loopback"


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_functions_target_arm64_python313_with_snapstart_and_the_layer(fn: str) -> None:
    props = function_properties(fn)
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Tracing"] == "Active"
    assert props["AutoPublishAlias"] == "live"
    assert props["SnapStart"] == {"ApplyOn": {"Ref": "SnapStartMode"}}
    assert props["Layers"] == [{"Ref": "DependenciesLayer"}]
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["CodeUri"] == "src/"
    assert resources()[fn]["Metadata"]["BuildMethod"] == "makefile"
    assert parameter_defaults()["SnapStartMode"] == "PublishedVersions"


# ---------------------------------------------------------------------- IAM ----


def _statements(fn: str) -> list[dict[str, Any]]:
    role_ref = function_properties(fn)["Role"]
    assert role_ref == {"Fn::GetAtt": [f"{fn}Role", "Arn"]}, f"{fn} must use its own role"
    role = resources()[f"{fn}Role"]["Properties"]
    assert "ManagedPolicyArns" not in role, f"{fn}Role: managed policies are not least privilege"
    statements: list[dict[str, Any]] = []
    for policy in role["Policies"]:
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed(fn: str) -> set[tuple[str, str]]:
    allowed: set[tuple[str, str]] = set()
    for statement in _statements(fn):
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{fn}: wildcard action {action}"
            for resource in _as_list(statement["Resource"]):
                allowed.add((action, canonical(resource)))
    return allowed


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_role_allows_exactly_the_calls_the_code_makes(fn: str) -> None:
    needed = {(call.action, call.resource) for call in iam_actions.CALLS[fn]}
    allowed = _allowed(fn)
    assert needed <= allowed, f"{fn} would get AccessDenied for {sorted(needed - allowed)}"
    assert allowed <= needed, (
        f"{fn} is allowed {sorted(allowed - needed)}, which tests/infra/iam_actions.py does "
        "not list: remove the grant, or list the call the code makes"
    )


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_role_uses_wildcard_resources_only_where_aws_offers_no_other(fn: str) -> None:
    for action, resource in _allowed(fn):
        if resource == "*":
            assert action in iam_actions.WILDCARD_ACTIONS, f"{fn}: {action} on *"


@pytest.mark.parametrize("fn", ["ApiFunction", "WorkerFunction"])
def test_listing_is_confined_to_the_agents_prefix(fn: str) -> None:
    (listing,) = (s for s in _statements(fn) if "s3:ListBucket" in _as_list(s["Action"]))
    prefixes = listing["Condition"]["StringLike"]["s3:prefix"]
    assert prefixes == [iam_actions.AGENTS_PREFIX, iam_actions.AGENTS_PREFIX + "*"]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_role_trusts_lambda_only(fn: str) -> None:
    trust = resources()[f"{fn}Role"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    # No confused-deputy conditions: Lambda does not document supplying them when it
    # assumes an execution role, and a trust policy that does not match breaks deploys.
    assert set(statement) == {"Effect", "Principal", "Action"}


@cache
def _transformed() -> dict[str, Any]:
    """template.yaml through the SAM translator (offline, from the tools venv)."""
    script = (
        "import json, sys\n"
        "from samtranslator.translator.transform import transform\n"
        "from samtranslator.yaml_helper import yaml_parse\n"
        "class NoManagedPolicies:\n"
        "    def load(self): return {}\n"
        "tpl = yaml_parse(open(sys.argv[1]).read())\n"
        "for r in tpl['Resources'].values():\n"
        "    p = r.get('Properties', {})\n"
        "    for k in ('CodeUri', 'ContentUri'):\n"
        "        if isinstance(p.get(k), str) and not p[k].startswith('s3://'):\n"
        "            p[k] = 's3://artifacts/' + p[k].strip('/')\n"
        "print(json.dumps(transform(tpl, {}, NoManagedPolicies()), default=str))\n"
    )
    proc = run_tool(
        [str(tool("sam", "python")), "-c", script, str(ROOT / "template.yaml")], timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def test_sam_adds_no_permissions_of_its_own() -> None:
    transformed = _transformed()["Resources"]
    roles = {k for k, v in transformed.items() if v["Type"] == "AWS::IAM::Role"}
    assert roles == {f"{fn}Role" for fn in FUNCTIONS} | {
        "ApiGatewayCloudWatchRole",
        "CollectorScheduleRole",
        "SweeperScheduleRole",
    }
    functions = {k: v for k, v in transformed.items() if v["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == set(FUNCTIONS)
    for fn, resource in functions.items():
        assert resource["Properties"]["Role"] == {"Fn::GetAtt": [f"{fn}Role", "Arn"]}
    for fn in FUNCTIONS:
        assert "ManagedPolicyArns" not in transformed[f"{fn}Role"]["Properties"]
    permissions = {k for k, v in transformed.items() if v["Type"] == "AWS::Lambda::Permission"}
    assert permissions == {"ApiInvokePermission", "AuthorizerInvokePermission"}
    # SnapStart needs published versions; the alias is what API Gateway and SQS invoke.
    aliases = {
        v["Properties"]["FunctionName"]["Ref"]
        for v in transformed.values()
        if v["Type"] == "AWS::Lambda::Alias"
    }
    assert aliases == set(FUNCTIONS)


def test_sam_translates_the_alias_references() -> None:
    transformed = _transformed()["Resources"]
    uri = transformed["Api"]["Properties"]["Body"]["paths"]["/{proxy+}"][
        "x-amazon-apigateway-any-method"
    ]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    assert "${ApiFunctionAliaslive}" in uri
    mapping = transformed["WorkerInvocationQueueMapping"]["Properties"]
    assert mapping["FunctionName"] == {"Ref": "WorkerFunctionAliaslive"}
    usage_plan = transformed["ApiUsagePlan"]["Properties"]["ApiStages"][0]
    assert usage_plan["Stage"] == {"Ref": "ApiStage"}


# --------------------------------------------------------------------- data ----


def test_invocations_table_matches_the_store() -> None:
    props = resources()["InvocationsTable"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    indexes = {i["IndexName"]: i["KeySchema"] for i in props["GlobalSecondaryIndexes"]}
    assert indexes == {
        "by-tenant": [
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "created_at", "KeyType": "RANGE"},
        ],
        "by-batch": [
            {"AttributeName": "batch_id", "KeyType": "HASH"},
            {"AttributeName": "created_at", "KeyType": "RANGE"},
        ],
        "SweepIndex": [
            {"AttributeName": "sweep_shard", "KeyType": "HASH"},
            {"AttributeName": "sweep_at", "KeyType": "RANGE"},
        ],
    }
    sweep = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}["SweepIndex"]
    assert sweep["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["status", "lease_expires_at", "checkpoint_turn", "mode", "tenant"],
    }
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types == {
        "id": "S",
        "tenant": "S",
        "batch_id": "S",
        "created_at": "S",
        "sweep_shard": "S",
        "sweep_at": "N",
    }
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_tenants_table_and_pepper_match_the_tenants_package() -> None:
    props = resources()["TenantsTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-tenant"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["tenant", "created_at"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    pepper = resources()["TenantKeyPepper"]
    assert pepper["Type"] == "AWS::SecretsManager::Secret"
    assert pepper["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    env = _env("AuthorizerFunction")
    assert env["TENANT_KEY_PEPPER_SECRET"] == pepper["Properties"]["Name"]


def test_idempotency_table_matches_powertools_defaults() -> None:
    import inspect

    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    defaults = inspect.signature(DynamoDBPersistenceLayer.__init__).parameters
    props = resources()["IdempotencyTable"]["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": defaults["key_attr"].default, "KeyType": "HASH"}
    ]
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": defaults["expiry_attr"].default,
        "Enabled": True,
    }
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_bucket_is_private_versioned_tls_only_and_expires_payloads() -> None:
    props = resources()["AgentsBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    payloads = rules["expire-offloaded-payloads"]
    assert payloads["Prefix"] == iam_actions.PAYLOAD_PREFIX
    assert payloads["ExpirationInDays"] == {"Ref": "PayloadRetentionDays"}
    workspaces = rules["expire-uploaded-workspaces"]
    assert workspaces["Prefix"] == "workspaces/"
    assert workspaces["ExpirationInDays"] == 1
    assert "NoncurrentVersionExpiration" in rules["expire-noncurrent-versions"]
    assert "Prefix" not in rules["expire-noncurrent-versions"]

    (statement,) = resources()["AgentsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {canonical(r) for r in statement["Resource"]} == {
        "<AgentsBucket>",
        "<AgentsBucket>/*",
    }


def test_queue_visibility_and_redrive() -> None:
    queue = resources()["InvocationQueue"]["Properties"]
    worker_timeout = function_properties("WorkerFunction")["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * worker_timeout
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    # The worker gives up (FAILED + one DLQ message) on the MaxReceiveCount-th receive;
    # the queue's redrive sits one above so it only catches crashes.
    assert redrive["maxReceiveCount"] == {
        "Fn::FindInMap": ["RedriveLimits", {"Ref": "MaxReceiveCount"}, "QueueMaxReceiveCount"]
    }
    limits = template()["Mappings"]["RedriveLimits"]
    allowed = template()["Parameters"]["MaxReceiveCount"]["AllowedValues"]
    assert set(limits) == set(allowed)
    for value in allowed:
        assert limits[value]["QueueMaxReceiveCount"] == int(value) + 1
    dlq = resources()["DeadLetterQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_alarms_cover_dlq_worker_and_api() -> None:
    alarms = resources("AWS::CloudWatch::Alarm")
    metrics = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()
    }
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "5XXError"),
    } <= metrics
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    api_name = resources()["Api"]["Properties"]["Name"]
    (api_alarm,) = (a for a in alarms.values() if a["Properties"]["Namespace"] == "AWS/ApiGateway")
    dims = {d["Name"]: d["Value"] for d in api_alarm["Properties"]["Dimensions"]}
    assert dims == {"ApiName": api_name, "Stage": {"Ref": "ApiStageName"}}
    assert resources()["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_outputs_tell_how_to_reach_the_stack() -> None:
    outputs = template()["Outputs"]
    assert {
        "ApiUrl",
        "ApiKeyId",
        "AgentsBucketName",
        "AgentsPrefix",
        "InvocationsTableName",
        "IdempotencyTableName",
        "InvocationQueueUrl",
        "DeadLetterQueueUrl",
        "TenantsTableName",
        "TenantKeyPepperSecretName",
        "EventsTableName",
    } <= set(outputs)
    assert "get-api-key" in outputs["ApiKeyId"]["Description"]
    assert outputs["AgentsPrefix"]["Value"] == iam_actions.AGENTS_PREFIX


# -------------------------------------------------------------------- layer ----


def _pyproject_dependencies() -> dict[str, Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = (Requirement(r) for r in data["project"]["dependencies"])
    return {canonicalize_name(r.name): r for r in reqs}


def _layer_requirements() -> dict[str, Requirement]:
    lines = (ROOT / "layers" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    reqs = (Requirement(line) for line in lines if line.strip() and not line.startswith("#"))
    return {canonicalize_name(r.name): r for r in reqs}


def test_layer_requirements_mirror_the_runtime_dependencies() -> None:
    project = _pyproject_dependencies()
    layer = _layer_requirements()
    assert set(layer) == set(project), "layers/requirements.txt must list pyproject's runtime deps"
    for name, req in layer.items():
        assert req.extras == project[name].extras, f"{name}: extras differ"
        (pin,) = req.specifier
        assert pin.operator == "==", f"{name}: pin an exact version in the layer"
        assert project[name].specifier.contains(pin.version), (
            f"{name}=={pin.version} is outside pyproject's {project[name].specifier}"
        )


def test_layer_build_targets_linux_arm64_cpython313_wheels_only() -> None:
    makefile = (ROOT / "layers" / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"--platform manylinux2014_aarch64", makefile)
    for flag in ("--implementation cp", "--python-version 3.13", "--only-binary=:all:"):
        assert flag in makefile
    assert "--invalidation-mode unchecked-hash" in makefile
    layer = resources()["DependenciesLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


# -------------------------------------------------- code -> IAM (static scan) ----

#: receiver names (``self.s3.get_object``, ``dynamodb.put_item``) -> boto3 service
_RECEIVERS = {"s3": "s3", "dynamodb": "dynamodb", "ddb": "dynamodb", "sqs": "sqs"}
_SERVICES = ("s3", "dynamodb", "sqs", "secretsmanager")
#: boto3 operations whose IAM action is not ``<service>:<OperationName>``.
#: (TransactWriteItems has no action of its own: list the per-item actions it uses.)
_ACTION_OVERRIDES = {
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:HeadObject": "s3:GetObject",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "dynamodb:TransactGetItems": "dynamodb:GetItem",
    # agents.events.log: a transaction of conditional puts only
    "dynamodb:TransactWriteItems": "dynamodb:PutItem",
}


@cache
def _operations() -> dict[str, dict[str, str]]:
    """service -> snake_case method -> IAM action, from botocore's service models."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    out: dict[str, dict[str, str]] = {}
    for service in _SERVICES:
        model = session.get_service_model(service)
        prefix = model.signing_name
        out[service] = {
            xform_name(op): _ACTION_OVERRIDES.get(f"{prefix}:{op}", f"{prefix}:{op}")
            for op in model.operation_names
        }
    return out


def _service_of(node: Any, assigned: dict[str, str]) -> str | None:
    import ast

    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "client" and node.args[0].value in _SERVICES:
            return str(node.args[0].value)
    if isinstance(node, ast.Attribute):
        return _RECEIVERS.get(node.attr)
    if isinstance(node, ast.Name):
        return assigned.get(node.id) or _RECEIVERS.get(node.id)
    return None


#: Core modules only the operator's CLI runs (``agw dlq redrive``, ``agw agents push``), with
#: the operator's credentials: no function role needs their calls.
OPERATOR_MODULES = frozenset(
    {
        "src/agents/redrive.py",
        "src/agents/publish.py",
        "src/agents/tenants/lifecycle.py",
        "src/agents/queue_peek.py",
        "src/agents/webhooks/dead_letters.py",
    }
)


def _code_actions() -> dict[str, set[str]]:
    """IAM action -> places in src/agents and src/handlers that call it on a boto3 client."""
    import ast

    found: dict[str, set[str]] = {}
    for package in sorted(ARTIFACT_PACKAGES):
        for path in sorted((ROOT / "src" / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in OPERATOR_MODULES:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assigned = {  # name = aws.client("sqs")
                target.id: service
                for node in ast.walk(tree)
                if isinstance(node, ast.Assign)
                and (service := _service_of(node.value, {})) is not None
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Attribute):
                    continue
                service = _service_of(node.value, assigned)
                action = _operations().get(service or "", {}).get(node.attr)
                if action is not None:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.setdefault(action, set()).add(where)
    return found


def test_the_scan_recognises_boto3_calls() -> None:
    # Guard for the scanner itself, on a snippet in each receiver style the code uses.
    import ast

    snippet = ast.parse(
        "q = aws.client('sqs')\nq.send_message_batch()\nself.s3.list_object_versions\n"
        "aws.client('dynamodb').transact_get_items()\nregistry.scan()\n"
    )
    assigned = {"q": "sqs"}
    actions = {
        _operations()[svc][n.attr]
        for n in ast.walk(snippet)
        if isinstance(n, ast.Attribute)
        and (svc := _service_of(n.value, assigned)) is not None
        and n.attr in _operations()[svc]
    }
    assert actions == {"sqs:SendMessage", "s3:ListBucketVersions", "dynamodb:GetItem"}


def test_every_boto3_call_in_the_code_is_in_the_iam_table() -> None:
    tabled = {call.action for calls in iam_actions.CALLS.values() for call in calls}
    missing = {action: sorted(where) for action, where in _code_actions().items()}
    missing = {a: w for a, w in missing.items() if a not in tabled}
    assert not missing, (
        "the code calls AWS actions no function may perform: add rows to "
        f"tests/infra/iam_actions.py and statements to template.yaml: {missing}"
    )


def test_no_function_code_imports_the_operator_modules() -> None:
    """The IAM scan skips OPERATOR_MODULES, so nothing a function runs may import them."""
    names = {
        str(Path(m).relative_to("src/agents").with_suffix("")).replace("/", ".")
        for m in OPERATOR_MODULES
    }
    offenders = []
    for package in sorted(ARTIFACT_PACKAGES):
        for path in sorted((ROOT / "src" / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in OPERATOR_MODULES:
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.name}: {n}" for n in names if f"agents.{n}" in text]
    assert not offenders


# ------------------------------------------------------------- sweeper (#15) ----


def test_sweeper_runs_every_five_minutes_one_at_a_time_and_alarms_on_errors() -> None:
    schedule = resources("AWS::Scheduler::Schedule")["SweeperSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["Target"]["Arn"] == {"Ref": "SweeperFunction.Alias"}
    assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["SweeperScheduleRole", "Arn"]}
    role = resources()["SweeperScheduleRole"]["Properties"]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunction"]
    assert statement["Resource"] == {"Ref": "SweeperFunction.Alias"}
    assert function_properties("SweeperFunction")["ReservedConcurrentExecutions"] == 1
    alarms = resources("AWS::CloudWatch::Alarm")
    (alarm,) = (
        a["Properties"]
        for a in alarms.values()
        if a["Properties"].get("Dimensions")
        == [{"Name": "FunctionName", "Value": {"Ref": "SweeperFunction"}}]
    )
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")


def test_sweeper_queries_only_the_sweep_index() -> None:
    queries = {r for a, r in _allowed("SweeperFunction") if a == "dynamodb:Query"}
    # the index for finding due records; the event log's tail for its transitions' events
    assert queries == {iam_actions.SWEEP_INDEX, iam_actions.EVENTS}
    assert not {a for a, _ in _allowed("SweeperFunction") if a in {"dynamodb:Scan"}}
