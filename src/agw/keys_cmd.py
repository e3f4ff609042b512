"""``agw keys create|list|revoke|rotate --tenant T``: a tenant's access keys (KEYS mode).

A key's value is printed once, at ``create`` and ``rotate``; only its hash is stored.
``rotate`` makes a new key and lets the old one expire after ``--grace`` seconds. A revoked
key stops working once the authorizer cache TTL has passed (docs/security.md).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(nouns: Any) -> None:
    """Add the ``keys`` noun to the top-level ``agw`` subparsers."""
    from agents.tenants.lifecycle import DEFAULT_GRACE_S
    from agw.client_cli import add_noun
    from agw.tenants_cmd import add_table_verb

    verbs = add_noun(
        nouns, "keys", help="create, list, revoke and rotate tenant keys", description=__doc__
    )

    def verb(name: str, help_text: str, handler: Any, *, key: bool = False) -> Any:
        def arguments(command: argparse.ArgumentParser) -> None:
            command.add_argument("--tenant", required=True, help="the tenant id (tn…)")
            if key:
                command.add_argument("key_id", metavar="KEY_ID", help="the key id (k…)")

        return add_table_verb(verbs, name, help_text, handler, arguments)

    verb("create", "a new key for the tenant (shown once)", _create)
    verb("list", "the tenant's keys (never their values)", _list)
    verb("revoke", "revoke a key now", _revoke, key=True)
    rotate = verb("rotate", "a new key; the old one expires after the grace", _rotate, key=True)
    rotate.add_argument(
        "--grace", type=int, default=DEFAULT_GRACE_S, metavar="SECONDS",
        help=f"seconds the old key keeps working ({DEFAULT_GRACE_S})",
    )  # fmt: skip


def _create(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import print_result, tenants_target

    table, pepper = tenants_target(args)
    issued = lifecycle.create_key(table, pepper, args.tenant)
    data = {**issued.record.public(), "key": issued.key.value}
    return print_result(
        args, data, f"key {issued.key.value}\n(shown once: only its hash is stored)"
    )


def _list(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import print_result, tenants_target

    table, _ = tenants_target(args)
    keys = lifecycle.list_keys(table, args.tenant)
    lines = [
        f"{k.key_id}  {k.status:<8}  created {k.created_at}  last used {k.last_used_at or '-'}"
        f"  expires {k.expires_at or '-'}"
        for k in keys
    ]
    return print_result(args, [k.public() for k in keys], "\n".join(lines) or "(no keys)")


def _revoke(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import print_result, tenants_target

    table, _ = tenants_target(args)
    key = lifecycle.revoke_key(table, args.tenant, args.key_id)
    return print_result(args, key.public(), f"key {key.key_id}: {key.status}")


def _rotate(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import print_result, tenants_target

    table, pepper = tenants_target(args)
    issued, old = lifecycle.rotate_key(table, pepper, args.tenant, args.key_id, grace_s=args.grace)
    data = {"new": {**issued.record.public(), "key": issued.key.value}, "old": old.public()}
    text = f"key {issued.key.value}\n(shown once)\nold key {old.key_id} expires {old.expires_at}"
    return print_result(args, data, text)
