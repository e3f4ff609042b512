"""``agw webhooks add|list|remove|secret|rotate|deliveries|redrive|delete``: tenant webhooks.

Subscriptions live in the TenantsTable, signing secrets in Secrets Manager, dead deliveries
in the webhook DLQ. Where they are (:mod:`agw.stack_target`): ``--stack NAME``'s
CloudFormation outputs, else the environment (``TENANTS_TABLE``, ``WEBHOOK_*``), else the
running ``agw dev`` stack (``.agw/dev.json``; there ``http://127.0.0.1`` URLs are allowed).
docs/operations.md ("Webhooks") is the runbook.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from agw.client_cli import add_noun, add_verb

if TYPE_CHECKING:
    from agw.stack_target import StackTarget


def register(nouns: Any) -> None:
    """Add the ``webhooks`` noun to the top-level ``agw`` subparsers."""
    from agents.webhooks.messages import EVENT_TYPES

    verbs = add_noun(
        nouns,
        "webhooks",
        help="tenant webhook subscriptions, secrets, dead deliveries",
        description=__doc__,
    )

    def verb(name: str, handler: Any, help_text: str, *, tenant: bool = True) -> Any:
        parser = add_verb(
            verbs,
            name,
            handler,
            shared=_locations,
            json_help="print JSON",
            help=help_text,
            description=help_text,
        )
        if tenant:
            parser.add_argument("--tenant", required=True, metavar="T", help="the tenant id")
        return parser

    add = verb("add", _add, "subscribe a URL to a tenant's events")
    add.add_argument("--url", required=True, help="https://… (http://127.0.0.1 on agw dev)")
    add.add_argument(
        "--event",
        action="append",
        default=[],
        choices=EVENT_TYPES,
        dest="events",
        help="an event type (repeat; default: every type)",
    )
    verb("list", _list, "the tenant's subscriptions (disabled ones too)")
    remove = verb("remove", _remove, "delete a subscription")
    remove.add_argument("subscription", metavar="SUBSCRIPTION_ID", help="whsub_…")
    verb("secret", _secret, "print the tenant's current signing secret (created if none)")
    rotate = verb("rotate", _rotate, "a new signing secret; the old one signs too for a while")
    rotate.add_argument(
        "--grace-hours", type=float, default=24.0, help="how long both are sent (24)"
    )
    listing = verb(
        "deliveries", _deliveries, "deliveries that gave up (the webhook DLQ)", tenant=False
    )
    listing.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")
    redrive = verb(
        "redrive", _redrive, "send dead deliveries again (attempt 1, same id)", tenant=False
    )
    redrive.add_argument("--all", action="store_true", help="every delivery in the DLQ")
    redrive.add_argument(
        "ids", nargs="*", default=[], metavar="ID", help="webhook ids (msg_…) or DLQ message ids"
    )
    delete = verb("delete", _delete, "delete dead deliveries", tenant=False)
    delete.add_argument("ids", nargs="+", metavar="ID")


def _locations(verb: argparse.ArgumentParser) -> None:
    from agw.stack_target import add_target_arguments

    add_target_arguments(verb)


def _target(args: argparse.Namespace) -> StackTarget:
    from agw.stack_target import target_from_args

    return target_from_args(args)


def _client(target: StackTarget, service: str) -> Any:
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5)
    session: Any = target.session()
    return session.client(service, endpoint_url=target.aws_endpoint, config=config)


def _table(target: StackTarget) -> Any:
    from agents.tenants.table import TenantsTable

    return TenantsTable(_client(target, "dynamodb"), target.require("tenants_table"))


def _secrets(target: StackTarget) -> Any:
    from agents.webhooks.tenant_secrets import TenantSecrets

    return TenantSecrets(_client(target, "secretsmanager"), target.require("webhook_secret_prefix"))


def _dead_letters(target: StackTarget) -> Any:
    from agents.webhooks.dead_letters import WebhookDeadLetters

    return WebhookDeadLetters(
        _client(target, "sqs"),
        dlq_url=target.require("webhook_dlq_url"),
        queue_url=target.webhook_queue_url,
    )


def _print(args: argparse.Namespace, data: Any, text: str) -> int:
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


def _add(args: argparse.Namespace) -> int:
    from agents.webhooks.subscriptions import add_subscription

    target = _target(args)
    found = add_subscription(
        _table(target),
        args.tenant,
        args.url,
        list(args.events),
        allow_local=target.source == "dev-file",
    )
    text = f"{found.subscription_id}  {found.url}  {', '.join(found.events)}"
    return _print(args, found.public(), text)


def _list(args: argparse.Namespace) -> int:
    from agents.webhooks.subscriptions import list_subscriptions

    found = list_subscriptions(_table(_target(args)), args.tenant)
    lines = [
        f"{s.subscription_id}  {s.status:<8}  {s.url}  {', '.join(s.events)}"
        + (f"  ({s.disabled_reason} at {s.disabled_at})" if s.disabled_reason else "")
        for s in found
    ]
    return _print(args, [s.public() for s in found], "\n".join(lines) or "(no subscriptions)")


def _remove(args: argparse.Namespace) -> int:
    from agents.webhooks.subscriptions import remove_subscription

    remove_subscription(_table(_target(args)), args.tenant, args.subscription)
    return _print(args, {"removed": args.subscription}, f"removed {args.subscription}")


def _secret(args: argparse.Namespace) -> int:
    secret = _secrets(_target(args)).ensure(args.tenant)
    data = {
        "tenant": args.tenant,
        "secret": secret.current,
        "previous_until": secret.previous_until,
    }
    return _print(args, data, secret.current)


def _rotate(args: argparse.Namespace) -> int:
    rotated = _secrets(_target(args)).rotate(args.tenant, grace_s=args.grace_hours * 3600)
    data = {
        "tenant": args.tenant,
        "secret": rotated.current,
        "previous_until": rotated.previous_until,
    }
    text = (
        f"{rotated.current}\n(the previous secret also signs for {args.grace_hours:g} h: "
        "update the receiver within that time)"
    )
    return _print(args, data, text)


def _deliveries(args: argparse.Namespace) -> int:
    from agw.dlq_cmd import age_text

    found = _dead_letters(_target(args)).entries(limit=max(1, args.limit))
    if args.json:
        return _print(args, [d.public() for d in found], "")
    if not found:
        print("the webhook DLQ is empty", file=sys.stderr)
        return 0
    import time

    for d in found:
        age = None if d.sent_at_ms is None else time.time() - d.sent_at_ms / 1000
        print(
            f"{d.webhook_id or d.message_id}  {d.kind:<9}  {d.type or '-':<21}  "
            f"{d.tenant or '-'}  attempt {d.attempt or '-'}  {age_text(age)}  "
            f"{d.url or '-'}  {d.reason or ''}"
        )
    print(f"{len(found)} dead deliveries (`agw webhooks redrive --all`)", file=sys.stderr)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    if bool(args.all) == bool(args.ids):
        print("agw: error: give webhook ids or --all (not both)", file=sys.stderr)
        return 2
    report = _dead_letters(_target(args)).redrive(None if args.all else list(args.ids))
    data = [{"id": ident, "action": action} for ident, action in report]
    _print(args, data, "\n".join(f"{i}: {a}" for i, a in report) or "nothing to redrive")
    return 1 if any(a == "not-found" for _, a in report) else 0


def _delete(args: argparse.Namespace) -> int:
    report = _dead_letters(_target(args)).delete(list(args.ids))
    data = [{"id": ident, "action": action} for ident, action in report]
    _print(args, data, "\n".join(f"{i}: {a}" for i, a in report))
    return 0 if all(a == "deleted" for _, a in report) else 1
