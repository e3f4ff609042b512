"""``agw batch AGENT inputs.jsonl --out results.jsonl``: many inputs, one agent, via the API.

Each non-blank line of the input file is a JSON object
``{"input": "...", "context": {...}?, "metadata": {...}?, "idempotency_key": "..."?}``.
A line without ``idempotency_key`` gets a deterministic one derived from its
line number and its content, so the batch id (derived by the API from the
items' keys) and every invocation id are the same when the same file is
submitted again: a re-run resumes, it never runs a finished item twice.

The command submits the batch (``POST /batches``), shows a progress bar with
the counts by status until every item is terminal (``GET /batches/{id}``,
bounded by ``--timeout``), then writes one JSON line per input line, in
order, to ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agw.client_cli import (
    add_client_arguments,
    add_documented_command,
    add_run_options,
    add_seconds,
    run_api_command,
    run_options,
)

if TYPE_CHECKING:
    from agw.client import AgwClient

_ITEM_FIELDS = frozenset({"input", "context", "metadata", "idempotency_key"})
_COUNT_ORDER = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")


class BatchFileError(ValueError):
    """The input file is not what ``agw batch`` reads (the message names the line)."""


@dataclass(frozen=True)
class BatchLine:
    line: int
    item: dict[str, Any]


def register(nouns: Any) -> None:
    """Add the ``batch`` command to the top-level ``agw`` subparsers."""
    parser: argparse.ArgumentParser = add_documented_command(
        nouns, "batch", help="run an agent over a JSONL file of inputs (resumable)", doc=__doc__
    )
    parser.add_argument("agent", metavar="AGENT")
    parser.add_argument("inputs", metavar="INPUTS.jsonl", type=Path)
    parser.add_argument(
        "--out", type=Path, required=True, metavar="RESULTS.jsonl", help="one JSON line per input"
    )
    add_run_options(parser)
    add_seconds(
        parser,
        "--timeout",
        default=3600.0,
        help="stop waiting after S seconds (default 3600); re-run to resume",
    )
    add_seconds(parser, "--poll-interval", default=1.0, help="default 1 s")
    parser.add_argument("--json", action="store_true", help="print the final batch view as JSON")
    parser.add_argument(
        "--economy",
        action="store_true",
        help="run the items in an Anthropic Message Batch: half the price, results within "
        "24 h (agents without tools; docs/batches.md)",
    )
    add_client_arguments(parser)
    parser.set_defaults(handler=_handler)


def derived_key(line: int, raw: str) -> str:
    """The idempotency key of an input line that has none: line number + content hash."""
    canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    return f"agw-L{line}-{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def read_batch_file(path: Path) -> list[BatchLine]:
    """The items of a JSONL file (blank lines skipped), each with an idempotency key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BatchFileError(f"{path}: {exc.strerror or exc}") from None
    lines: list[BatchLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError as exc:
            raise BatchFileError(f"{path}:{number}: not JSON ({exc})") from None
        if not isinstance(item, dict):
            raise BatchFileError(f'{path}:{number}: expected an object {{"input": "..."}}')
        unknown = sorted(set(item) - _ITEM_FIELDS)
        if unknown:
            raise BatchFileError(
                f"{path}:{number}: unknown field(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_ITEM_FIELDS))})"
            )
        if not isinstance(item.get("input"), str) or not item["input"]:
            raise BatchFileError(f'{path}:{number}: "input" must be a non-empty string')
        if not item.get("idempotency_key"):
            item["idempotency_key"] = derived_key(number, raw)
        lines.append(BatchLine(number, item))
    if not lines:
        raise BatchFileError(f"{path}: no inputs (one JSON object per line)")
    keys = [entry.item["idempotency_key"] for entry in lines]
    if len(set(keys)) != len(keys):
        raise BatchFileError(f"{path}: two lines share an idempotency_key")
    return lines


def _handler(args: argparse.Namespace) -> int:
    try:
        args.lines = read_batch_file(args.inputs)
    except BatchFileError as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 2
    return run_api_command(args, _run)


def _counts_text(counts: dict[str, Any]) -> str:
    return "  ".join(f"{name.lower()} {counts.get(name, 0)}" for name in _COUNT_ORDER)


def wait_for_batch(
    client: AgwClient,
    batch_id: str,
    *,
    timeout_s: float,
    interval_s: float,
    on_update: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Poll ``GET /batches/{id}`` until ``done`` or ``timeout_s``; returns the last view."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = client.get_batch(batch_id)
        on_update(view)
        if view.get("done") or time.monotonic() >= deadline:
            return view
        time.sleep(min(interval_s, max(0.05, deadline - time.monotonic())))


def _run(client: AgwClient, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    lines: list[BatchLine] = args.lines
    submitted = client.submit_batch(
        args.agent,
        [entry.item for entry in lines],
        processing="economy" if args.economy else None,
        **run_options(args),
    )
    batch_id = str(submitted["id"])
    total = int(submitted.get("item_count") or len(lines))
    console = Console(stderr=True)
    console.print(f"batch {batch_id}: {total} items for {args.agent}")

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("running", total=total, counts="")

        def update(view: dict[str, Any]) -> None:
            counts = view.get("counts") or {}
            done = sum(int(counts.get(s, 0)) for s in ("SUCCEEDED", "FAILED", "CANCELLED"))
            progress.update(task, completed=done, counts=_counts_text(counts))

        view = wait_for_batch(
            client,
            batch_id,
            timeout_s=args.timeout,
            interval_s=args.poll_interval,
            on_update=update,
        )

    ids = _invocation_ids(client, submitted, lines, batch_id)
    written = _write_results(client, args.out, lines, ids)
    counts = view.get("counts") or {}
    if args.json:
        print(json.dumps(view, indent=2))
    console.print(f"{_counts_text(counts)}; wrote {written} lines to {args.out}")
    if not view.get("done"):
        console.print(
            f"[yellow]not finished after {args.timeout:g} s[/]: run the same command again "
            "to resume (finished items are not run again)"
        )
        return 1
    return 0 if int(counts.get("SUCCEEDED", 0)) == total else 1


def _invocation_ids(
    client: AgwClient, submitted: dict[str, Any], lines: list[BatchLine], batch_id: str
) -> dict[str, str]:
    """idempotency key -> invocation id (from the submit answer, else by listing the batch)."""
    ids: dict[str, str] = {}
    refs = submitted.get("items")
    if isinstance(refs, list):
        for ref in refs:
            index = int(ref.get("index", -1))
            if 0 <= index < len(lines):
                ids[lines[index].item["idempotency_key"]] = str(ref["invocation_id"])
    if len(ids) < len(lines):
        for item in client.iter_invocations(batch_id=batch_id):
            key = item.get("idempotency_key")
            if key and key not in ids:
                ids[str(key)] = str(item["id"])
    return ids


def _write_results(
    client: AgwClient, out: Path, lines: list[BatchLine], ids: dict[str, str]
) -> int:
    from agw.client import TERMINAL_STATUSES

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for entry in lines:
            key = entry.item["idempotency_key"]
            invocation_id = ids.get(key)
            record: dict[str, Any] = {
                "line": entry.line,
                "idempotency_key": key,
                "invocation_id": invocation_id,
            }
            if invocation_id:
                invocation = client.get_invocation(invocation_id)
                status = invocation.get("status")
                record.update(
                    status=status,
                    output=invocation.get("output") if status in TERMINAL_STATUSES else None,
                    contract=invocation.get("contract"),
                    usage=invocation.get("usage"),
                    cost_usd=invocation.get("cost_usd"),
                    model=invocation.get("model"),
                    error=invocation.get("error"),
                    metadata=invocation.get("metadata") or {},
                )
            else:
                record["status"] = None
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return len(lines)
