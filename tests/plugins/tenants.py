"""The TenantsTable (from template.yaml) and the key pepper secret in moto, for one test.

``tenant_stack`` creates them in the clean per-test account and points the settings at
them (``TENANTS_TABLE``, ``TENANT_KEY_PEPPER_SECRET``), as template.yaml does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from agents import aws
from agents.tenants.table import TenantsTable
from local.aws_resources import create_table
from tests.plugins.aws import settings_env

if TYPE_CHECKING:
    from local.template import TableSpec

PEPPER_SECRET = "agw-test/tenant-key-pepper"
PEPPER = "test-pepper-PEPPER-CANARY-0123456789abcdef"


@dataclass(frozen=True)
class TenantStack:
    table: TenantsTable
    pepper: bytes


@pytest.fixture
def tenant_stack(
    aws_endpoint: str, template_tables: dict[str, TableSpec], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TenantStack]:
    name = "agw-tenants"
    create_table(aws.client("dynamodb"), template_tables["TenantsTable"], table_name=name)
    aws.client("secretsmanager").create_secret(Name=PEPPER_SECRET, SecretString=PEPPER)
    env = {"TENANTS_TABLE": name, "TENANT_KEY_PEPPER_SECRET": PEPPER_SECRET}
    with settings_env(monkeypatch, env):
        yield TenantStack(TenantsTable(aws.client("dynamodb"), name), PEPPER.encode())
