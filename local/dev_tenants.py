"""The local stack's secrets and tenants: what ``agw dev`` bootstraps after moto is up.

Every ``AWS::SecretsManager::Secret`` of the template with a ``GenerateSecretString`` gets a
random value (the key pepper), as CloudFormation would generate one. In KEYS mode each
``--api-key`` becomes a tenant with that key (it must look like ``agw_<key id>_<secret>``;
``agw dev`` generates such keys when none is given).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from local.template import Template

__all__ = ["DevTenantError", "create_generated_secrets", "create_tenants"]

_SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type


class DevTenantError(ValueError):
    """An ``--api-key`` cannot be a tenant key (the message says what to pass)."""


def create_generated_secrets(template: Template, client: Any) -> list[str]:
    """Create the generated secrets in moto; their names."""
    names = []
    for logical_id in template.ids_of(_SECRET_TYPE):
        props = template.properties(logical_id)
        if "GenerateSecretString" not in props:
            continue
        name = template.physical_name(logical_id)
        with contextlib.suppress(client.exceptions.ResourceExistsException):
            client.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
        names.append(name)
    return names


def create_tenants(
    api_keys: Sequence[str], env: Mapping[str, str], dynamodb: Any, secretsmanager: Any
) -> dict[str, str]:
    """One tenant per key in the TenantsTable (KEYS mode); key -> tenant id."""
    from agents.tenants import lifecycle
    from agents.tenants.keys import parse_key
    from agents.tenants.table import TenantsTable

    parsed = []
    for key in api_keys:
        found = parse_key(key)
        if found is None:
            raise DevTenantError(
                "in AuthMode KEYS an --api-key must look like agw_<key id>_<secret> (key id: "
                "k + 16 of a-z2-7; secret: 43+ of A-Za-z0-9_-); omit --api-key to generate one"
            )
        parsed.append(found)
    table = TenantsTable(dynamodb, env["TENANTS_TABLE"])
    secret = secretsmanager.get_secret_value(SecretId=env["TENANT_KEY_PEPPER_SECRET"])
    salt = str(secret["SecretString"]).encode()
    tenants: dict[str, str] = {}
    for number, (parsed_key, value) in enumerate(zip(parsed, api_keys, strict=True), start=1):
        tenant, _ = lifecycle.create_tenant(table, salt, f"dev-tenant-{number}", key=parsed_key)
        tenants[value] = tenant.tenant_id
    return tenants
