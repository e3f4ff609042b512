"""``agw keys create|list|revoke|rotate --tenant T``: a tenant's access keys (KEYS mode).

A key's value is printed once, at ``create`` and ``rotate``; only its hash is stored.
``rotate`` makes a new key and lets the old one expire after ``--grace`` seconds. A revoked
key stops working once the authorizer cache TTL has passed (docs/security.md).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(nouns: Any) -> None:
    """Add the ``keys`` noun to the top-level ``agw`` subparsers."""
    from agents.tenants.lifecycle import DEFAULT_GRACE_S
    from agw.stack_target import add_target_arguments

    parser: argparse.ArgumentParser = nouns.add_parser(
        "keys", help="create, list, revoke and rotate tenant keys", description=__doc__
    )
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)

    def verb(name: str, help_text: str, handler: Any, *, key: bool = False) -> Any:
        command = verbs.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--tenant", required=True, help="the tenant id (tn…)")
        if key:
            command.add_argument("key_id", metavar="KEY_ID", help="the key id (k…)")
        add_target_arguments(command)
        command.add_argument("--json", action="store_true", help="print JSON")
        command.set_defaults(handler=handler)
        return command

    verb("create", "a new key for the tenant (shown once)", _create)
    verb("list", "the tenant's keys (never their values)", _list)
    verb("revoke", "revoke a key now", _revoke, key=True)
    rotate = verb("rotate", "a new key; the old one expires after the grace", _rotate, key=True)
    rotate.add_argument(
        "--grace", type=int, default=DEFAULT_GRACE_S, metavar="SECONDS",
        help=f"seconds the old key keeps working ({DEFAULT_GRACE_S})",
    )  # fmt: skip


def _print(args: argparse.Namespace, data: Any, text: str) -> int:
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


def _create(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import tenants_target

    table, pepper = tenants_target(args)
    issued = lifecycle.create_key(table, pepper, args.tenant)
    data = {**issued.record.public(), "key": issued.key.value}
    return _print(args, data, f"key {issued.key.value}\n(shown once: only its hash is stored)")


def _list(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import tenants_target

    table, _ = tenants_target(args)
    keys = lifecycle.list_keys(table, args.tenant)
    lines = [
        f"{k.key_id}  {k.status:<8}  created {k.created_at}  last used {k.last_used_at or '-'}"
        f"  expires {k.expires_at or '-'}"
        for k in keys
    ]
    return _print(args, [k.public() for k in keys], "\n".join(lines) or "(no keys)")


def _revoke(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import tenants_target

    table, _ = tenants_target(args)
    key = lifecycle.revoke_key(table, args.tenant, args.key_id)
    return _print(args, key.public(), f"key {key.key_id}: {key.status}")


def _rotate(args: argparse.Namespace) -> int:
    from agents.tenants import lifecycle
    from agw.tenants_cmd import tenants_target

    table, pepper = tenants_target(args)
    issued, old = lifecycle.rotate_key(table, pepper, args.tenant, args.key_id, grace_s=args.grace)
    data = {"new": {**issued.record.public(), "key": issued.key.value}, "old": old.public()}
    text = f"key {issued.key.value}\n(shown once)\nold key {old.key_id} expires {old.expires_at}"
    return _print(args, data, text)
