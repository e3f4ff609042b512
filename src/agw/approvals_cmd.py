"""``agw invocations actions|approve``: a WAITING run's pending actions, and the decision.

``actions ID`` shows the tool calls a run waits on (``GET /invocations/{id}``'s
``pending_actions``). ``approve ID`` approves every pending action except the ones named
by ``--deny`` (their ``--message`` goes back to the model as the tool's error), in one
``POST /invocations/{id}/actions`` under an ``Idempotency-Key``; the run resumes on the
queue (docs/api.md, "Human approval").
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agw.client_cli import add_api_command, add_repeatable

if TYPE_CHECKING:
    from agw.client import AgwClient

__all__ = ["decisions_for", "register_verbs"]


def register_verbs(verbs: Any) -> None:
    """Add ``actions`` and ``approve`` to the ``agw invocations`` verbs."""
    actions = add_api_command(
        verbs,
        "actions",
        _actions,
        help="the tool calls a WAITING invocation waits on (pending_actions)",
        json_help="print the pending actions as JSON",
    )
    actions.add_argument("invocation_id", metavar="ID")
    approve = add_api_command(
        verbs,
        "approve",
        _approve,
        help="approve a WAITING invocation's pending actions (deny some with --deny)",
        description=__doc__,
        json_help="print the invocation as JSON",
    )
    approve.add_argument("invocation_id", metavar="ID")
    add_repeatable(
        approve,
        "--deny",
        metavar="ACTION_ID",
        help="deny this pending action instead (repeatable); the others are approved",
    )
    approve.add_argument(
        "--message", metavar="TEXT", help="with --deny: the reason the model is given"
    )
    approve.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="Idempotency-Key header (default: a fresh one; reuse it to retry safely)",
    )


def _pending(invocation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in invocation.get("pending_actions") or [] if isinstance(a, Mapping)]


def decisions_for(
    pending: Sequence[Mapping[str, Any]], deny: Sequence[str], message: str | None
) -> list[dict[str, Any]]:
    """One decision per pending action: ``deny`` for the listed ids, ``approve`` otherwise.

    ``ValueError`` for a ``--deny`` id that is not pending, or ``--message`` without ``--deny``.
    """
    ids = [str(action.get("id")) for action in pending]
    unknown = sorted(set(deny) - set(ids))
    if unknown:
        raise ValueError(
            f"--deny {', '.join(unknown)}: not a pending action (pending: {', '.join(ids) or '-'})"
        )
    if message is not None and not deny:
        raise ValueError("--message is the reason given for --deny; name an action to deny")
    decisions: list[dict[str, Any]] = []
    for action_id in ids:
        if action_id in deny:
            decision: dict[str, Any] = {"id": action_id, "decision": "deny"}
            if message is not None:
                decision["message"] = message
        else:
            decision = {"id": action_id, "decision": "approve"}
        decisions.append(decision)
    return decisions


def _actions(client: AgwClient, args: argparse.Namespace) -> int:
    from agw.client_cli import print_json
    from agw.progress import waiting_lines

    invocation = client.get_invocation(args.invocation_id)
    if args.json:
        print_json(_pending(invocation))
        return 0
    if invocation.get("status") != "WAITING":
        print(f"{invocation.get('id')} is {invocation.get('status')}: no pending actions")
        return 0
    for line in waiting_lines(invocation):
        print(line)
    return 0


def _approve(client: AgwClient, args: argparse.Namespace) -> int:
    from agw.client_cli import print_view

    invocation = client.get_invocation(args.invocation_id)
    if invocation.get("status") != "WAITING":
        print(
            f"agw: error: {invocation.get('id')} is {invocation.get('status')}, not WAITING: "
            "nothing to approve",
            file=sys.stderr,
        )
        return 1
    try:
        decisions = decisions_for(_pending(invocation), args.deny or [], args.message)
    except ValueError as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 2
    key = args.idempotency_key or f"agw-approve-{uuid.uuid4().hex}"
    updated = client.decide_actions(args.invocation_id, decisions, idempotency_key=key)

    def decided(view: Mapping[str, Any]) -> None:
        denied = sum(1 for d in decisions if d["decision"] == "deny")
        print(
            f"{view.get('id')} {view.get('status')}: {len(decisions) - denied} approved, "
            f"{denied} denied; follow it with `agw invocations get {view.get('id')}`"
        )

    print_view(updated, args.json, decided)
    return 0
