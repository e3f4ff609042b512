"""The key-hash pepper: the Secrets Manager secret ``TENANT_KEY_PEPPER_SECRET``.

Read through Powertools parameters (cached ``PEPPER_MAX_AGE_S`` per container), like
the Anthropic key. It never appears in logs, errors or responses.
"""

from __future__ import annotations

from typing import Any

from agents.container import per_container
from agents.errors import ConfigurationError, ServiceUnavailable

__all__ = ["PEPPER_MAX_AGE_S", "MissingPepper", "pepper"]

PEPPER_MAX_AGE_S = 300
_MIN_BYTES = 16
_PERMANENT = frozenset({"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"})


class MissingPepper(ConfigurationError):
    """The pepper secret is not configured, missing or too short."""


def pepper(secret_name: str) -> bytes:
    """The pepper's bytes (raises :class:`MissingPepper` / ``ServiceUnavailable``)."""
    if not secret_name:
        raise MissingPepper("no key pepper configured: set TENANT_KEY_PEPPER_SECRET")
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = _provider().get(secret_name, max_age=PEPPER_MAX_AGE_S)
    except GetParameterError as exc:
        from agents.awserrors import error_code

        code = error_code(exc.__context__) or "error"
        if code in _PERMANENT:
            raise MissingPepper(f"cannot read the key pepper secret: {code}") from None
        raise ServiceUnavailable(f"could not read the key pepper secret: {code}") from None
    data = value if isinstance(value, bytes) else str(value).encode()
    if len(data.strip()) < _MIN_BYTES:
        raise MissingPepper(f"the key pepper secret holds fewer than {_MIN_BYTES} bytes")
    return data.strip()


@per_container
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from agents import aws

    return SecretsProvider(boto3_client=aws.client("secretsmanager"))
