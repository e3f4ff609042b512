"""``agw dlq list|show|redrive|delete``: inspect and redrive the dead-letter queue.

Where things are (:mod:`agw.stack_target`): ``--dlq-url`` / ``--queue-url`` / ``--table`` /
``--aws-endpoint`` / ``--region``, else the environment the functions read (``DLQ_URL``,
``INVOCATION_QUEUE_URL``, ``INVOCATIONS_TABLE``, ``AWS_ENDPOINT_URL``, ``AWS_REGION``),
else ``--stack NAME``'s CloudFormation outputs, else the running ``agw dev`` stack
(``.agw/dev.json``). docs/operations.md is the runbook.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from agw.client_cli import add_noun, add_verb

if TYPE_CHECKING:
    from agents.dead_letter_entries import DlqEntry
    from agents.redrive import DeadLetters


def register(nouns: Any) -> None:
    """Add the ``dlq`` noun to the top-level ``agw`` subparsers."""
    verbs = add_noun(
        nouns, "dlq", help="inspect and redrive the dead-letter queue", description=__doc__
    )

    listing = add_verb(
        verbs,
        "list",
        _list,
        shared=_locations,
        json_help="print JSON",
        help="dead letters with error type, age and the invocation's status",
        description="Peek the DLQ (messages are hidden for a few seconds and then released; "
        "nothing is deleted) and show each dead letter with the invocation's current status.",
    )
    listing.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")

    show = add_verb(
        verbs,
        "show",
        _show,
        shared=_locations,
        json_help="print JSON",
        help="one dead letter and its invocation record",
        description="Show one entry.",
    )
    show.add_argument("id", metavar="ID", help="an invocation id or a DLQ message id")

    redrive = add_verb(
        verbs,
        "redrive",
        _redrive,
        shared=_locations,
        json_help="print JSON",
        help="run failed invocations again (FAILED -> QUEUED, attempts kept)",
        description="Requeue each invocation (FAILED -> QUEUED) and put it back on the "
        "invocation queue: SQS's message-move task for --all when the endpoint supports it "
        "and every dead letter can go, else a receive/send/delete loop. A permanent failure "
        "needs --force. Poison messages stay (see `agw dlq delete`). Exit status 1 when "
        "something was refused or not found.",
    )
    redrive.add_argument("--all", action="store_true", help="every invocation in the DLQ")
    redrive.add_argument("ids", nargs="*", default=[], metavar="ID", help="invocation ids")
    redrive.add_argument("--force", action="store_true", help="redrive permanent failures too")
    redrive.add_argument(
        "--method", choices=["auto", "move-task", "loop"], default="auto", help="default: auto"
    )

    delete = add_verb(
        verbs,
        "delete",
        _delete,
        shared=_locations,
        json_help="print JSON",
        help="delete dead letters (poison messages; an invocation's needs --force)",
        description="Delete DLQ messages by message id (or invocation id). Poison and stale "
        "messages go at once; the dead letter of a FAILED/QUEUED/RUNNING invocation needs "
        "--force (it is the only pointer to it in the DLQ).",
    )
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.add_argument("--force", action="store_true")


def _locations(verb: argparse.ArgumentParser) -> None:
    """Where the DLQ, the queue and the table are (:mod:`agw.stack_target`)."""
    from agw.stack_target import add_target_arguments

    verb.add_argument("--dlq-url", help="the DLQ (default: $DLQ_URL)")
    verb.add_argument("--queue-url", help="the invocation queue (default: $INVOCATION_QUEUE_URL)")
    verb.add_argument("--table", help="the invocations table (default: $INVOCATIONS_TABLE)")
    add_target_arguments(verb)


def _tool(args: argparse.Namespace) -> DeadLetters:
    from botocore.config import Config

    from agents.config import Settings
    from agents.redrive import DeadLetters
    from agents.store import InvocationStore
    from agw.stack_target import target_from_args

    settings = Settings.from_env()
    target = target_from_args(args)
    endpoint = target.aws_endpoint
    session = target.session()
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5)
    table = target.require("invocations_table")
    dlq_url = target.require("dlq_url")
    store = InvocationStore(
        table,
        payload_bucket=target.payload_bucket or target.agents_bucket,
        payload_prefix=target.payload_prefix,
        dlq_url=dlq_url,
        offload_threshold_bytes=settings.offload_threshold_bytes,
        retention_days=settings.retention_days,
        dynamodb=session.client("dynamodb", endpoint_url=endpoint, config=config),
        s3=session.client("s3", endpoint_url=endpoint, config=config),
    )
    return DeadLetters(
        dlq_url=dlq_url,
        queue_url=target.queue_url,
        store=store,
        sqs=session.client("sqs", endpoint_url=endpoint, config=config),
    )


def _row(entry: DlqEntry) -> list[str]:
    return [
        entry.invocation_id or f"(msg {entry.message_id})",
        entry.kind,
        entry.error_type or "-",
        "-" if entry.retryable is None else ("yes" if entry.retryable else "no"),
        age_text(entry.age_s()),
        entry.record_status or "-",
        entry.agent or "-",
        str(entry.attempts) if entry.attempts is not None else "-",
    ]


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def _list(args: argparse.Namespace) -> int:
    entries = _tool(args).entries(limit=max(1, args.limit))
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return 0
    if not entries:
        print("the DLQ is empty", file=sys.stderr)
        return 0
    header = ["INVOCATION", "KIND", "ERROR", "RETRYABLE", "AGE", "STATUS", "AGENT", "ATTEMPTS"]
    _print_table([_row(e) for e in entries], header)
    poison = sum(1 for e in entries if e.kind in {"poison", "unknown"})
    print(
        f"{len(entries)} dead letter{'s' if len(entries) != 1 else ''}"
        + (f" ({poison} poison: `agw dlq show`, `agw dlq delete`)" if poison else ""),
        file=sys.stderr,
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    entry, record = _tool(args).find(args.id)
    if entry is None and record is None:
        print(f"agw: error: {args.id} is neither in the DLQ nor an invocation", file=sys.stderr)
        return 1
    data: dict[str, Any] = {
        "dead_letter": entry.to_dict(body=entry.kind in {"poison", "unknown", "queue-redrive"})
        if entry
        else None,
        "invocation": record.model_dump(
            mode="json",
            exclude={"input", "context", "output", "lease_owner", "dlq_claimed_at"},
            exclude_none=True,
        )
        if record
        else None,
    }
    print(json.dumps(data, indent=2, default=str))
    return 0


def _redrive(args: argparse.Namespace) -> int:
    if bool(args.all) == bool(args.ids):
        print("agw: error: give invocation ids or --all (not both)", file=sys.stderr)
        return 2
    ids = None if args.all else list(args.ids)
    report = _tool(args).redrive(ids, force=args.force, method=args.method)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for item in report.items:
            print(f"{item.id}: {item.action}" + (f" - {item.detail}" if item.detail else ""))
        summary = f"method: {report.method}"
        if report.task_handle:
            summary += f", task {report.task_status or 'started'} (moved: {report.moved})"
        print(summary, file=sys.stderr)
        if any(item.action == "refused" for item in report.items):
            print("agw: permanent failures need --force to be redriven", file=sys.stderr)
    return 0 if report.ok else 1


def _delete(args: argparse.Namespace) -> int:
    items = _tool(args).delete(list(args.ids), force=args.force)
    if args.json:
        print(json.dumps([vars(item) for item in items], indent=2))
    else:
        for item in items:
            print(f"{item.id}: {item.action}" + (f" - {item.detail}" if item.detail else ""))
    return 0 if all(item.action == "deleted" for item in items) else 1


def age_text(seconds: float | None) -> str:
    """An age for a table: ``42s``, ``17m``, ``3.5h``, ``2.0d`` (``?`` when unknown)."""
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86_400:.1f}d"
