"""``agw invocations list|get|cancel|follow|actions|approve``: the caller's invocations,
through the API (``actions``/``approve``: :mod:`agw.approvals_cmd`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from agw.approvals_cmd import register_verbs as register_approval_verbs
from agw.client_cli import add_api_command, add_noun

if TYPE_CHECKING:
    from agw.client import AgwClient

STATUSES = ("QUEUED", "RUNNING", "WAITING", "SUCCEEDED", "FAILED", "CANCELLED")


def register(nouns: Any) -> None:
    """Add the ``invocations`` noun to the top-level ``agw`` subparsers."""
    verbs = add_noun(
        nouns,
        "invocations",
        help="list, show, cancel and approve invocations (API)",
        description=__doc__,
    )

    listing = add_api_command(
        verbs,
        "list",
        _list,
        help="the caller's invocations, newest first (GET /invocations)",
        json_help="print JSON lines",
    )
    listing.add_argument("--agent", help="only this agent")
    listing.add_argument("--status", choices=STATUSES, help="only this status")
    listing.add_argument("--batch", dest="batch_id", metavar="BATCH_ID", help="only this batch")
    listing.add_argument(
        "--limit", type=int, default=50, metavar="N", help="at most N (default 50; 0 = all)"
    )
    for name, body, help_text in (
        ("get", _get, "one invocation with its output (GET /invocations/ID)"),
        ("cancel", _cancel, "cancel a QUEUED or WAITING invocation"),
    ):
        verb = add_api_command(
            verbs, name, body, help=help_text, json_help="print the invocation as JSON"
        )
        verb.add_argument("invocation_id", metavar="ID")
    follow = add_api_command(
        verbs,
        "follow",
        _follow,
        help="a live view of a run: its events until it ends (GET /invocations/ID/events)",
        json_help="print the final invocation as JSON",
    )
    follow.add_argument("invocation_id", metavar="ID")
    follow.add_argument(
        "--after", type=int, default=0, metavar="SEQ", help="start after this event (default 0)"
    )
    follow.add_argument(
        "--timeout", type=float, default=900.0, metavar="S", help="give up after S seconds"
    )
    register_approval_verbs(verbs)


def _list(client: AgwClient, args: argparse.Namespace) -> int:
    import json

    items = list(
        client.iter_invocations(
            max_items=args.limit or None,
            page_size=min(200, args.limit or 200),
            agent=args.agent,
            status=args.status,
            batch_id=args.batch_id,
        )
    )
    if args.json:
        for item in items:
            print(json.dumps(item, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "agent", "status", "mode", "created", "tokens in/out", "cost"):
        table.add_column(column, no_wrap=True)
    for item in items:
        usage = item.get("usage") or {}
        table.add_row(
            str(item.get("id")),
            str(item.get("agent")),
            str(item.get("status")),
            str(item.get("mode") or "-"),
            str(item.get("created_at") or "-"),
            f"{usage.get('input_tokens', 0)}/{usage.get('output_tokens', 0)}",
            f"${float(item.get('cost_usd') or 0):.4f}",
        )
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    print(f"{len(items)} invocation{'s' if len(items) != 1 else ''}", file=sys.stderr)
    return 0


def _get(client: AgwClient, args: argparse.Namespace) -> int:
    from agw.client_cli import print_view, render_invocation

    print_view(client.get_invocation(args.invocation_id), args.json, render_invocation)
    return 0


def _follow(client: AgwClient, args: argparse.Namespace) -> int:
    from agw.follow import follow_run, print_followed

    followed = follow_run(
        client, args.invocation_id, as_json=args.json, after=args.after, timeout_s=args.timeout
    )
    return print_followed(followed, as_json=args.json)


def _cancel(client: AgwClient, args: argparse.Namespace) -> int:
    from agw.client_cli import print_view

    def status_line(invocation: Any) -> None:
        print(f"{invocation.get('id')} {invocation.get('status')}")

    print_view(client.cancel(args.invocation_id), args.json, status_line)
    return 0
