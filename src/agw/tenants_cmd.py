"""``agw tenants create|list|show|disable|enable|set-budget``: the TenantsTable's tenants.

Where the table and the pepper are: :mod:`agw.stack_target` (``--stack NAME``, else the
environment, else the running ``agw dev``). ``create`` prints the tenant id and its first
key, once. docs/security.md is the key lifecycle.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.tenants.table import TenantsTable


def register(nouns: Any) -> None:
    """Add the ``tenants`` noun to the top-level ``agw`` subparsers."""
    from agw.client_cli import add_noun

    verbs = add_noun(
        nouns, "tenants", help="create and manage tenants (KEYS mode)", description=__doc__
    )

    def verb(name: str, help_text: str, handler: Any, *, tenant: bool = True) -> Any:
        def arguments(command: argparse.ArgumentParser) -> None:
            if tenant:
                command.add_argument("tenant", metavar="TENANT", help="the tenant id (tn…)")

        return add_table_verb(verbs, name, help_text, handler, arguments)

    create = verb("create", "a new tenant and its first key (shown once)", _create, tenant=False)
    create.add_argument("name", metavar="NAME", help="a name for people (not an identifier)")
    create.add_argument("--plan", default="default", help="plan name (authorizer context)")
    verb("list", "every tenant", _list, tenant=False)
    verb("show", "one tenant, its budget and its keys", _show)
    verb("disable", "refuse every key of the tenant (within the cache TTL)", _disable)
    verb("enable", "accept the tenant's active keys again", _enable)
    budget = verb("set-budget", "daily/monthly spend caps in USD (omit one to clear it)", _budget)
    budget.add_argument("--daily", type=float, metavar="USD", help="daily cap (UTC day)")
    budget.add_argument("--monthly", type=float, metavar="USD", help="monthly cap (UTC month)")


def add_table_verb(
    verbs: Any,
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace], int],
    arguments: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    """A verb over the TenantsTable (``agw tenants`` and ``agw keys``): its ``arguments``,
    then the target flags and ``--json``."""
    from agw.client_cli import add_verb
    from agw.stack_target import add_target_arguments

    def shared(command: argparse.ArgumentParser) -> None:
        arguments(command)
        add_target_arguments(command)

    return add_verb(
        verbs, name, handler, help=help_text, description=help_text, json_help="print JSON",
        shared=shared,
    )  # fmt: skip


def tenants_target(args: argparse.Namespace) -> tuple[TenantsTable, bytes]:
    """The target's TenantsTable and pepper (one place for ``agw tenants`` and ``agw keys``)."""
    from agents.tenants.table import TenantsTable
    from agw.stack_target import target_from_args

    target = target_from_args(args)
    session = target.session()
    endpoint = target.aws_endpoint
    table = TenantsTable(
        session.client("dynamodb", endpoint_url=endpoint), target.require("tenants_table")
    )
    secret = session.client("secretsmanager", endpoint_url=endpoint).get_secret_value(
        SecretId=target.require("tenant_key_pepper_secret")
    )
    return table, str(secret["SecretString"]).strip().encode()


def print_result(args: argparse.Namespace, data: Any, text: str) -> int:
    """``data`` as JSON with ``--json``, else ``text`` (``agw tenants`` and ``agw keys``)."""
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


def _create(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle

    table, pepper = tenants_target(args)
    tenant, issued = lifecycle.create_tenant(table, pepper, args.name, plan=args.plan)
    data = {**tenant.public(), "key_id": issued.record.key_id, "key": issued.key.value}
    text = (
        f"tenant {tenant.tenant_id} ({tenant.name})\nkey    {issued.key.value}\n"
        "(the key is shown once: only its hash is stored)"
    )
    return print_result(args, data, text)


def _list(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle

    table, _ = tenants_target(args)
    tenants = lifecycle.list_tenants(table)
    lines = [f"{t.tenant_id}  {t.status:<8}  {t.plan:<10}  {t.name}" for t in tenants]
    return print_result(args, [t.public() for t in tenants], "\n".join(lines) or "(no tenants)")


def _show(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agents.tenants.budget import spend_of

    table, _ = tenants_target(args)
    tenant = lifecycle.require_tenant(table, args.tenant)
    keys = [k.public() for k in lifecycle.list_keys(table, args.tenant)]
    from datetime import UTC, datetime

    day, month = spend_of(table.raw_tenant_item(args.tenant) or {}, datetime.now(UTC))
    data = {**tenant.public(), "spent_today_usd": day, "spent_month_usd": month, "keys": keys}
    return print_result(args, data, json.dumps(data, indent=2))


def _status(args: argparse.Namespace, status: str) -> int:
    from agents.tenants import lifecycle

    table, _ = tenants_target(args)
    tenant = lifecycle.set_tenant_status(table, args.tenant, status)
    return print_result(args, tenant.public(), f"tenant {tenant.tenant_id}: {tenant.status}")


def _disable(args: argparse.Namespace) -> int:
    return _status(args, "disabled")


def _enable(args: argparse.Namespace) -> int:
    return _status(args, "active")


def _budget(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle

    table, _ = tenants_target(args)
    tenant = lifecycle.set_budget(table, args.tenant, daily=args.daily, monthly=args.monthly)
    text = (
        f"tenant {tenant.tenant_id}: daily {tenant.budget_daily_usd or 'none'} USD, "
        f"monthly {tenant.budget_monthly_usd or 'none'} USD"
    )
    return print_result(args, tenant.public(), text)
