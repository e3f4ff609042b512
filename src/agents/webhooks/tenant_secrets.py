"""One signing secret per tenant (``whsec_…``), kept in Secrets Manager.

The secret ``<WEBHOOK_SECRET_PREFIX><tenant>`` holds JSON:
``{"current": "whsec_…", "previous": "whsec_…" | null, "previous_until": epoch | null}``.
Secrets Manager encrypts it (KMS, ``aws/secretsmanager``); the WebhookFunction may read
and create secrets under the prefix only (decision 16.52). The WebhookFunction creates a
tenant's secret the first time it signs for it; the operator reads it with
``agw webhooks secret`` and rotates it with ``agw webhooks rotate`` (both signatures are
sent until ``previous_until``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from agents.errors import BadRequest

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "DEFAULT_ROTATION_GRACE_S",
    "SigningSecret",
    "TenantSecrets",
    "new_secret",
    "secret_name",
]

#: How long the previous secret keeps signing after a rotation (24 h).
DEFAULT_ROTATION_GRACE_S: Final = 86_400
_SAFE_TENANT = re.compile(r"^[A-Za-z0-9_+=.@-]{1,128}$")


def new_secret() -> str:
    """A fresh ``whsec_`` secret: 32 random bytes, base64 (the Standard Webhooks form)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_name(prefix: str, tenant: str) -> str:
    """The tenant's secret name (tenant ids that are not name-safe are hashed)."""
    if not prefix:
        from agents.config import ConfigError

        raise ConfigError("webhook secrets are not configured (WEBHOOK_SECRET_PREFIX)")
    if _SAFE_TENANT.match(tenant):
        return f"{prefix}{tenant}"
    return f"{prefix}h-{hashlib.sha256(tenant.encode()).hexdigest()[:40]}"


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """A tenant's secret value (``repr`` never shows it)."""

    current: str
    previous: str | None = None
    previous_until: float | None = None

    def __repr__(self) -> str:
        return f"SigningSecret(<hidden>, previous={'yes' if self.previous else 'no'})"

    def signing(self, now: float) -> list[str]:
        """The secrets to sign with at ``now``: current, plus previous within its grace."""
        keep = self.previous and self.previous_until is not None and now < self.previous_until
        return [self.current, self.previous] if keep and self.previous else [self.current]

    def to_json(self) -> str:
        return json.dumps(
            {
                "current": self.current,
                "previous": self.previous,
                "previous_until": self.previous_until,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SigningSecret:
        data: dict[str, Any] = json.loads(text)
        until = data.get("previous_until")
        return cls(
            current=str(data["current"]),
            previous=str(data["previous"]) if data.get("previous") else None,
            previous_until=float(until) if until is not None else None,
        )


class TenantSecrets:
    """Read, create and rotate the tenants' signing secrets under ``prefix``."""

    def __init__(self, client: SecretsManagerClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def get(self, tenant: str) -> SigningSecret | None:
        """The tenant's secret (None when it has none yet)."""
        name = secret_name(self.prefix, tenant)
        try:
            found = self.client.get_secret_value(SecretId=name)
        except self.client.exceptions.ResourceNotFoundException:
            return None
        return SigningSecret.from_json(str(found["SecretString"]))

    def ensure(self, tenant: str) -> SigningSecret:
        """The tenant's secret, created when it has none (a concurrent creator wins)."""
        existing = self.get(tenant)
        if existing is not None:
            return existing
        created = SigningSecret(current=new_secret())
        try:
            self.client.create_secret(
                Name=secret_name(self.prefix, tenant),
                Description="agent-gateway webhook signing secret (Standard Webhooks)",
                SecretString=created.to_json(),
            )
        except self.client.exceptions.ResourceExistsException:
            again = self.get(tenant)
            if again is None:
                raise
            return again
        return created

    def rotate(
        self, tenant: str, *, grace_s: float = DEFAULT_ROTATION_GRACE_S, now: float | None = None
    ) -> SigningSecret:
        """A new current secret; the old one keeps signing for ``grace_s`` seconds."""
        if grace_s < 0:
            raise BadRequest("the grace period must be >= 0 seconds")
        old = self.ensure(tenant)
        moment = time.time() if now is None else now
        rotated = SigningSecret(
            current=new_secret(), previous=old.current, previous_until=moment + grace_s
        )
        self.client.put_secret_value(
            SecretId=secret_name(self.prefix, tenant), SecretString=rotated.to_json()
        )
        return rotated
