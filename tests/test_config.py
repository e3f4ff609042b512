from __future__ import annotations

import json

import pytest

from agents.config import ENV_VARS, ConfigError, Settings
from agents.errors import ConfigurationError

#: One valid, non-default value for every variable the functions read. Written out by
#: hand so that the table in agents/config.py is checked against something independent.
SAMPLE_ENV: dict[str, str] = {
    "AGENTS_BUCKET": "agents-bucket",
    "AGENTS_PREFIX": "defs/",
    "PAYLOAD_BUCKET": "payload-bucket",
    "PAYLOAD_PREFIX": "blobs/",
    "INVOCATIONS_TABLE": "invocations",
    "IDEMPOTENCY_TABLE": "idempotency",
    "INVOCATION_QUEUE_URL": "http://queue/invocations",
    "DLQ_URL": "http://queue/dlq",
    "MODEL_ALIASES": json.dumps({"fast": "claude-haiku-4-5"}),
    "DEFAULT_MODEL": "haiku",
    "MODEL_PRICES": json.dumps({"claude-x": {"input": 1.0, "output": 2.0}}),
    "DEFAULT_MAX_TOKENS": "1024",
    "MAX_TOKENS_LIMIT": "64000",
    "MAX_TURNS": "40",
    "RETENTION_DAYS": "7",
    "ANTHROPIC_API_KEY_SECRET": "anthropic/key",
    "ANTHROPIC_API_KEY": "sk-ant-sample",
    "API_TIMEOUT_MS": "20000",
    "DEADLINE_MARGIN_MS": "900",
    "MAX_REQUEST_BYTES": "2048",
    "MAX_INPUT_CHARS": "1000",
    "OFFLOAD_THRESHOLD_BYTES": "4096",
    "LOG_INPUT": "on",
    "MAX_RECEIVE_COUNT": "5",
    "LEASE_SECONDS": "120",
    "MAX_RUN_SECONDS": "600",
    "APPROVAL_TIMEOUT_SECONDS": "3600",
    "HANDOFF_GRACE_SECONDS": "30",
    "TURN_WRITE_MARGIN_MS": "400",
    "DEFINITION_CACHE_TTL_SECONDS": "2.5",
    "BATCH_MAX_ITEMS": "50",
    "WORKER_CONCURRENCY": "4",
    "WORKSPACE_MAX_FILES": "20",
    "WORKSPACE_MAX_BYTES": "65536",
    "WORKSPACE_MAX_FILE_BYTES": "4096",
    "WORKSPACE_MAX_PATH_CHARS": "64",
    "DISABLED_TOOLS": "WebSearch, Bash",
    "CODE_EXECUTION": "true",
    "MCP_SERVERS": json.dumps(
        {"docs": {"url": "https://mcp.example.com", "token_secret": "agent-gateway/mcp/docs"}}
    ),
    "WEB_SEARCH_MAX_USES": "3",
    "WEB_FETCH_MAX_USES": "2",
    "WEB_ALLOWED_DOMAINS": "docs.python.org,example.com",
    "ECONOMY_QUEUE_URL": "https://sqs.example/economy",
    "ECONOMY_MAX_REQUESTS": "5000",
    "ECONOMY_MAX_BYTES": "100000000",
    "ECONOMY_RECONCILE_AFTER_SECONDS": "30",
    "AUTH_MODE": "KEYS",
    "TENANT_CLAIM": "custom:org",
    "TENANTS_TABLE": "tenants",
    "EVENTS_TABLE": "events",
    "TENANT_KEY_PEPPER_SECRET": "stack/pepper",
    "KEY_LAST_USED_INTERVAL_S": "60",
    "WEBHOOK_QUEUE_URL": "https://sqs.example/webhooks",
    "WEBHOOK_DLQ_URL": "https://sqs.example/webhooks-dlq",
    "WEBHOOK_SECRET_PREFIX": "stack/webhooks/",
    "WEBHOOK_RETRY_SCHEDULE": "1, 2.5,4",
    "WEBHOOK_ALLOW_LOCAL": "true",
    "WEBHOOK_CONNECT_TIMEOUT_S": "2",
    "WEBHOOK_READ_TIMEOUT_S": "4",
    "WEBHOOK_LINK_BASE": "https://api.example/prod",
}
#: Variables that cannot be combined with one in SAMPLE_ENV: checked on their own.
SAMPLE_ALONE = {"WEB_BLOCKED_DOMAINS": "ads.example"}


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.agents_prefix == "agents/"
    assert settings.api_timeout_ms == 29_000
    assert settings.log_input is False


def test_json_maps_and_booleans_parse() -> None:
    settings = Settings.from_env(
        {"MODEL_ALIASES": '{"fast": "claude-haiku-4-5"}', "LOG_INPUT": "true", "AGENTS_BUCKET": "b"}
    )
    assert settings.model_aliases == {"fast": "claude-haiku-4-5"}
    assert settings.log_input is True
    assert settings.effective_payload_bucket == "b"


def test_empty_means_unset_and_blank_json_means_empty() -> None:
    settings = Settings.from_env({"AGENTS_PREFIX": "", "LEASE_SECONDS": "", "MODEL_ALIASES": " "})
    assert settings.agents_prefix == "agents/"
    assert settings.lease_seconds == 960
    assert settings.model_aliases == {}


def test_only_the_exact_variable_names_are_read() -> None:
    settings = Settings.from_env({"agents_bucket": "lower", "Agents_Bucket": "mixed"})
    assert settings.agents_bucket == ""


def test_construction_does_not_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_MODEL", "haiku")
    assert Settings().default_model == "sonnet"
    assert Settings.from_env().default_model == "haiku"


@pytest.mark.parametrize(
    ("var", "value"),
    [("MODEL_ALIASES", "{not json"), ("MODEL_ALIASES", "[1]"), ("LEASE_SECONDS", "-1")],
)
def test_bad_values_are_config_errors(var: str, value: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({var: value})


def test_the_table_names_every_field_and_only_fields() -> None:
    assert set(ENV_VARS.values()) == set(Settings.model_fields)
    assert set(ENV_VARS) == set(SAMPLE_ENV) | set(SAMPLE_ALONE)


def test_every_variable_reaches_its_field() -> None:
    defaults = Settings.from_env({})
    settings = Settings.from_env(SAMPLE_ENV)
    for var, field in ENV_VARS.items():
        if var in SAMPLE_ALONE:
            alone_value = getattr(Settings.from_env({var: SAMPLE_ALONE[var]}), field)
            assert alone_value != getattr(defaults, field), f"{var} is not read"
            continue
        assert getattr(settings, field) != getattr(defaults, field), f"{var} is not read"
        alone = Settings.from_env({var: SAMPLE_ENV[var]}).model_dump()
        assert alone == {**defaults.model_dump(), field: settings.model_dump()[field]}, var


def test_config_errors_are_configuration_errors_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LEASE_SECONDS": "-17", "DEFAULT_MAX_TOKENS": "many"})
    error = info.value
    assert isinstance(error, ConfigurationError)
    assert (error.error_type, error.status, error.retryable) == ("configuration-error", 500, False)
    assert "LEASE_SECONDS" in error.detail
    assert "DEFAULT_MAX_TOKENS" in error.detail
    assert "-17" not in error.detail  # values may be secrets: never echoed
    assert "many" not in error.detail
    assert "pydantic" not in error.detail


def test_api_key_is_not_in_repr() -> None:
    settings = Settings.from_env({"ANTHROPIC_API_KEY": "sk-ant-secret-value"})
    assert "sk-ant-secret-value" not in repr(settings)
