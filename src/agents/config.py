"""Configuration: every environment variable the functions read, in one place.

``template.yaml`` sets these for each function; the local stack sets them from
the same template. Nothing else in ``src/`` reads ``os.environ`` directly
(boto3 and the anthropic SDK read their own standard variables:
``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.container import per_container
from agents.errors import ConfigurationError

#: Environment variable name -> Settings field name. The template consistency
#: test reads this table, so keep it the single source of truth.
ENV_VARS: dict[str, str] = {
    "AGENTS_BUCKET": "agents_bucket",
    "AGENTS_PREFIX": "agents_prefix",
    "PAYLOAD_BUCKET": "payload_bucket",
    "PAYLOAD_PREFIX": "payload_prefix",
    "INVOCATIONS_TABLE": "invocations_table",
    "IDEMPOTENCY_TABLE": "idempotency_table",
    "INVOCATION_QUEUE_URL": "invocation_queue_url",
    "DLQ_URL": "dlq_url",
    "MODEL_ALIASES": "model_aliases",
    "DEFAULT_MODEL": "default_model",
    "MODEL_PRICES": "model_prices",
    "DEFAULT_MAX_TOKENS": "default_max_tokens",
    "MAX_TOKENS_LIMIT": "max_tokens_limit",
    "RETENTION_DAYS": "retention_days",
    "ANTHROPIC_API_KEY_SECRET": "anthropic_api_key_secret",
    "ANTHROPIC_API_KEY": "anthropic_api_key",
    "API_TIMEOUT_MS": "api_timeout_ms",
    "DEADLINE_MARGIN_MS": "deadline_margin_ms",
    "MAX_REQUEST_BYTES": "max_request_bytes",
    "MAX_INPUT_CHARS": "max_input_chars",
    "OFFLOAD_THRESHOLD_BYTES": "offload_threshold_bytes",
    "LOG_INPUT": "log_input",
    "MAX_RECEIVE_COUNT": "max_receive_count",
    "LEASE_SECONDS": "lease_seconds",
    "DEFINITION_CACHE_TTL_SECONDS": "definition_cache_ttl_seconds",
    "BATCH_MAX_ITEMS": "batch_max_items",
    "WORKER_CONCURRENCY": "worker_concurrency",
}

#: Variables every deployed function needs (the rest have defaults).
REQUIRED_IN_AWS: frozenset[str] = frozenset(
    {"AGENTS_BUCKET", "INVOCATIONS_TABLE", "INVOCATION_QUEUE_URL", "DLQ_URL"}
)


class ConfigError(ConfigurationError, RuntimeError):
    """The environment does not describe a usable configuration (``configuration-error``)."""


class Settings(BaseModel):
    """Typed view of the environment. Build with :meth:`from_env`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agents_bucket: str = ""
    agents_prefix: str = "agents/"
    payload_bucket: str = ""  # empty: same as agents_bucket
    payload_prefix: str = "payloads/"
    invocations_table: str = ""
    idempotency_table: str = ""
    invocation_queue_url: str = ""
    dlq_url: str = ""
    model_aliases: dict[str, str] = Field(default_factory=dict)
    default_model: str = "sonnet"
    model_prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    default_max_tokens: int = Field(default=4096, ge=1)
    max_tokens_limit: int = Field(default=32000, ge=1)
    retention_days: int = Field(default=30, ge=1)
    anthropic_api_key_secret: str = ""
    anthropic_api_key: str = Field(default="", repr=False)
    api_timeout_ms: int = Field(default=29_000, ge=1000)
    deadline_margin_ms: int = Field(default=1500, ge=0)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    max_input_chars: int = Field(default=500_000, ge=1)
    offload_threshold_bytes: int = Field(default=100_000, ge=1024)
    log_input: bool = False
    max_receive_count: int = Field(default=3, ge=1)
    lease_seconds: int = Field(default=960, ge=1)
    definition_cache_ttl_seconds: float = Field(default=60.0, ge=0)
    batch_max_items: int = Field(default=500, ge=1)
    worker_concurrency: int = Field(default=10, ge=1)

    @field_validator("model_aliases", "model_prices", mode="before")
    @classmethod
    def _json_maps(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return {}
            return json.loads(value)
        return value

    @field_validator("log_input", mode="before")
    @classmethod
    def _boolish(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @property
    def effective_payload_bucket(self) -> str:
        return self.payload_bucket or self.agents_bucket

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {field: env[var] for var, field in ENV_VARS.items() if env.get(var, "") != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(f"invalid configuration: {_problems(exc)}") from None


_VAR_OF_FIELD = {field: var for var, field in ENV_VARS.items()}


def _problems(exc: ValidationError) -> str:
    """Each invalid setting by its variable name, without its value (it may be a secret)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        parts.append(f"{_VAR_OF_FIELD.get(field, field or 'settings')}: {error['msg']}")
    return "; ".join(parts)


@per_container
def get_settings() -> Settings:
    """The container's settings, read once (``agents.container.reset()`` forgets them)."""
    return Settings.from_env()
