"""Where the Anthropic API key comes from.

``ANTHROPIC_API_KEY`` (local runs, tests) wins; otherwise the Secrets Manager
secret named by ``ANTHROPIC_API_KEY_SECRET`` is read through Powertools
parameters (cached ``SECRET_MAX_AGE_S`` per container). The secret may hold
the key itself or JSON with one of the fields in :data:`SECRET_JSON_FIELDS`.
The key never appears in logs, errors or responses.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agents.container import per_container
from agents.errors import ConfigurationError

if TYPE_CHECKING:
    from agents.config import Settings

__all__ = ["SECRET_JSON_FIELDS", "SECRET_MAX_AGE_S", "anthropic_api_key", "key_source"]

SECRET_MAX_AGE_S = 300
SECRET_JSON_FIELDS = ("ANTHROPIC_API_KEY", "anthropic_api_key", "api_key", "apiKey", "key")


class MissingApiKey(ConfigurationError):
    """No Anthropic API key is configured (permanent until the deployment is fixed)."""


def key_source(settings: Settings) -> str:
    """``env``, ``secretsmanager`` or ``none``."""
    if settings.anthropic_api_key:
        return "env"
    if settings.anthropic_api_key_secret:
        return "secretsmanager"
    return "none"


def _from_secret_string(value: str, secret_name: str) -> str:
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for field in SECRET_JSON_FIELDS:
                found = data.get(field)
                if isinstance(found, str) and found.strip():
                    return found.strip()
            raise MissingApiKey(
                f"secret {secret_name!r} is JSON without an API key field "
                f"(expected one of {', '.join(SECRET_JSON_FIELDS)})"
            )
    if not text:
        raise MissingApiKey(f"secret {secret_name!r} is empty")
    return text


def anthropic_api_key(settings: Settings, *, force_fetch: bool = False) -> str:
    """The API key to use (raises :class:`MissingApiKey` when none is configured)."""
    if settings.anthropic_api_key:
        return settings.anthropic_api_key
    name = settings.anthropic_api_key_secret
    if not name:
        raise MissingApiKey(
            "no Anthropic API key configured: set ANTHROPIC_API_KEY or ANTHROPIC_API_KEY_SECRET"
        )
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = _provider().get(name, max_age=SECRET_MAX_AGE_S, force_fetch=force_fetch)
    except GetParameterError as exc:
        from agents.awserrors import error_code

        cause = exc.__context__
        code = error_code(cause) or (type(cause).__name__ if cause is not None else "")
        if code in _PERMANENT_SECRET_ERRORS:
            raise MissingApiKey(
                f"cannot read the Anthropic API key secret {name!r}: {code}"
            ) from None
        from agents.errors import ServiceUnavailable

        raise ServiceUnavailable(
            f"could not read the Anthropic API key secret {name!r}: {code or 'error'}"
        ) from None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return _from_secret_string(str(value), name)


_PERMANENT_SECRET_ERRORS = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "DecryptionFailure",
        "InvalidRequestException",
        "InvalidParameterException",
    }
)


@per_container
def _provider() -> Any:
    """A Powertools ``SecretsProvider`` (with its cache) on the container's boto3 client."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from agents import aws

    return SecretsProvider(boto3_client=aws.client("secretsmanager"))
