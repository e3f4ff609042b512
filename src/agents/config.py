"""Configuration: every environment variable the functions read, in one place.

``template.yaml`` sets these for each function; the local stack sets them from
the same template. Nothing else in ``src/`` reads ``os.environ`` directly
(boto3 and the anthropic SDK read their own standard variables:
``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from agents.container import per_container
from agents.errors import ConfigurationError

__all__ = [
    "ENV_VARS",
    "MCP_TOKEN_SECRET_PREFIX",
    "REQUIRED_IN_AWS",
    "ConfigError",
    "McpServerSetting",
    "Settings",
    "get_settings",
]

#: Variables every deployed function needs (the rest have defaults).
REQUIRED_IN_AWS: frozenset[str] = frozenset(
    {"AGENTS_BUCKET", "INVOCATIONS_TABLE", "INVOCATION_QUEUE_URL", "DLQ_URL"}
)


class ConfigError(ConfigurationError, RuntimeError):
    """The environment does not describe a usable configuration (``configuration-error``)."""


#: MCP token secrets live under this name prefix (the functions' IAM reads only these).
MCP_TOKEN_SECRET_PREFIX = "agent-gateway/mcp/"  # noqa: S105 - a name prefix, not a secret


class McpServerSetting(BaseModel):
    """One entry of ``MCP_SERVERS``: an MCP server the deployment lets agents use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https://[^\s]+$")
    #: Secrets Manager secret holding the server's bearer token ("" = no token).
    token_secret: str = Field(default="", pattern=r"^(agent-gateway/mcp/[A-Za-z0-9/_+=.@-]+)?$")


#: A comma-separated environment value read as a tuple of names.
CommaList = Annotated[tuple[str, ...], NoDecode]
#: A comma-separated environment value read as a tuple of non-negative numbers.
FloatList = Annotated[tuple[Annotated[float, Field(ge=0)], ...], NoDecode]


class Settings(BaseSettings):
    """Typed view of the environment: each field is read from its upper-cased name.

    ``Settings(...)`` is the defaults plus its arguments; :meth:`from_env` reads
    the environment (or a given mapping).
    """

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", case_sensitive=False, env_ignore_empty=True
    )

    agents_bucket: str = ""
    agents_prefix: str = "agents/"
    payload_bucket: str = ""  # empty: same as agents_bucket
    payload_prefix: str = "payloads/"
    invocations_table: str = ""
    idempotency_table: str = ""
    #: The event log (docs/api.md, "The event log"); empty: runs write no events.
    events_table: str = ""
    invocation_queue_url: str = ""
    dlq_url: str = ""
    model_aliases: dict[str, str] = Field(default_factory=dict)
    default_model: str = "sonnet"
    model_prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    default_max_tokens: int = Field(default=4096, ge=1)
    max_tokens_limit: int = Field(default=32000, ge=1)
    #: A tool run's turns when neither the request nor the definition says (``max_turns``).
    max_turns: int = Field(default=25, ge=1)
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
    #: Resumable runs (docs/architecture.md, "Resumable runs"): a run ends by these, never by
    #: one function's timeout.
    max_run_seconds: int = Field(default=7200, ge=1)
    approval_timeout_seconds: int = Field(default=86_400, ge=1)
    handoff_grace_seconds: int = Field(default=60, ge=1)
    turn_write_margin_ms: int = Field(default=1000, ge=0)
    definition_cache_ttl_seconds: float = Field(default=60.0, ge=0)
    batch_max_items: int = Field(default=500, ge=1)
    worker_concurrency: int = Field(default=10, ge=1)
    workspace_max_files: int = Field(default=1000, ge=1)
    workspace_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    workspace_max_file_bytes: int = Field(default=2 * 1024 * 1024, ge=1)
    workspace_max_path_chars: int = Field(default=256, ge=8)
    # --- tools (docs/tools.md) ---
    disabled_tools: CommaList = ()
    code_execution: bool = False
    mcp_servers: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")], McpServerSetting
    ] = Field(default_factory=dict)
    web_search_max_uses: int = Field(default=5, ge=1, le=50)
    web_fetch_max_uses: int = Field(default=5, ge=1, le=50)
    web_allowed_domains: CommaList = ()
    web_blocked_domains: CommaList = ()
    #: Economy batches (docs/batches.md): the submitter's queue and its Message Batch bounds.
    economy_queue_url: str = ""
    economy_max_requests: int = Field(default=10_000, ge=1, le=100_000)
    economy_max_bytes: int = Field(default=200_000_000, ge=1024, le=256_000_000)
    economy_reconcile_after_seconds: float = Field(default=120.0, ge=0)
    # tenants and access (docs/security.md)
    auth_mode: Literal["KEYS", "COGNITO", "IAM", "API_KEY"] = "API_KEY"
    tenant_claim: str = "custom:tenant"
    tenants_table: str = ""
    tenant_key_pepper_secret: str = ""
    key_last_used_interval_s: int = Field(default=300, ge=0)
    # webhooks (docs/api.md "Webhooks", docs/operations.md)
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""
    #: Secrets Manager name prefix of the tenants' signing secrets (``<prefix><tenant>``).
    webhook_secret_prefix: str = ""
    #: Seconds before each retry (attempt n+1 waits the n-th); the last is 24 h after the first.
    webhook_retry_schedule: FloatList = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 23095.0)
    #: Local development only: allow ``http://127.0.0.1`` / ``localhost`` and loopback.
    webhook_allow_local: bool = False
    webhook_connect_timeout_s: float = Field(default=3.0, gt=0, le=10)
    webhook_read_timeout_s: float = Field(default=5.0, gt=0, le=15)
    #: The API's public base URL, for the ``link`` of each webhook payload.
    webhook_link_base: str = ""

    @field_validator(
        "disabled_tools",
        "web_allowed_domains",
        "web_blocked_domains",
        "webhook_retry_schedule",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @model_validator(mode="after")
    def _one_domain_list(self) -> Settings:
        if self.web_allowed_domains and self.web_blocked_domains:
            raise ValueError(
                "set WEB_ALLOWED_DOMAINS or WEB_BLOCKED_DOMAINS, not both (Anthropic's web "
                "tools take one of them)"
            )
        return self

    @field_validator("log_input", "code_execution", "webhook_allow_local", mode="before")
    @classmethod
    def _boolish(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @property
    def effective_payload_bucket(self) -> str:
        return self.payload_bucket or self.agents_bucket

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the arguments: the environment comes in through :meth:`from_env`."""
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); :class:`ConfigError` if invalid."""
        source = EnvironmentSource(cls, os.environ if environ is None else environ)
        try:
            return cls(**source())
        except ValidationError as exc:
            raise ConfigError(f"invalid configuration: {_problems(exc)}") from None
        except SettingsError as exc:
            raise ConfigError(f"invalid configuration: {exc}") from None


def _problems(exc: ValidationError) -> str:
    """Each invalid setting by its variable name, without its value (it may be a secret)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        parts.append(f"{field.upper() or 'settings'}: {error['msg']}")
    return "; ".join(parts)


#: Environment variable name -> Settings field name (the template consistency test reads it).
ENV_VARS: dict[str, str] = {field.upper(): field for field in Settings.model_fields}


class EnvironmentSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping.

    Only the exact names in :data:`ENV_VARS` count; an empty value means unset; a
    blank JSON-valued variable means an empty map.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        named = {var: value for var, value in self._environ.items() if var in ENV_VARS}
        return parse_env_vars(
            named, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return {}
        return super().decode_complex_value(field_name, field, value)


@per_container
def get_settings() -> Settings:
    """The container's settings, read once (``agents.container.reset()`` forgets them)."""
    return Settings.from_env()
