from __future__ import annotations

import pytest

from agents.config import ENV_VARS, ConfigError, Settings
from agents.errors import ConfigurationError


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


@pytest.mark.parametrize(
    ("var", "value"), [("MODEL_ALIASES", "{not json"), ("LEASE_SECONDS", "-1")]
)
def test_bad_values_are_config_errors(var: str, value: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({var: value})


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


def test_every_env_var_maps_to_a_field() -> None:
    assert set(ENV_VARS.values()) <= set(Settings.model_fields)


def test_api_key_is_not_in_repr() -> None:
    settings = Settings.from_env({"ANTHROPIC_API_KEY": "sk-ant-secret-value"})
    assert "sk-ant-secret-value" not in repr(settings)
