"""``agw invoke AGENT "input"``: run an agent through the API (sync, or async with --wait),
optionally on files (``--files``, ``--workspace``), writing what it changed (``--out``,
``--patch``)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agw.client_cli import (
    add_client_arguments,
    add_repeatable,
    add_run_options,
    add_seconds,
    parse_pairs,
    run_api_command,
    run_options,
)
from agw.workspace_files import inline_files, write_changed_files, zip_directory

if TYPE_CHECKING:
    from agw.client import AgwClient

#: ``Prefer: wait=`` a synchronous ``agw invoke`` sends (under API Gateway's 29 s limit).
DEFAULT_PREFER_WAIT_S = 25.0
ASYNC_WAIT_TIMEOUT_S = 900.0
#: A run lasts at most MAX_RUN_SECONDS (2 h by default), plus a sweeper period or two.
HANDED_OFF_WAIT_TIMEOUT_S = 7800.0


def register(nouns: Any) -> None:
    """Add the ``invoke`` command to the top-level ``agw`` subparsers."""
    parser: argparse.ArgumentParser = nouns.add_parser(
        "invoke",
        help="run an agent through the API and print its output",
        description=(
            "POST /agents/AGENT/invocations. Prints the output (rendered Markdown in a "
            "terminal, raw when piped) on stdout, and the status, contract result, usage "
            "and cost on stderr. API errors are one line on stderr, exit status 1. A run "
            "longer than --prefer-wait goes on on the queue (202): agw follows it, one "
            "progress line per change, until it ends; a run that waits for approval prints "
            "its pending actions and the approve command, exit status 3."
        ),
    )
    parser.add_argument("agent", metavar="AGENT", help="the agent's name")
    parser.add_argument(
        "input", metavar="INPUT", help="the request text ('-' reads stdin, @FILE reads a file)"
    )
    add_repeatable(
        parser,
        "--context",
        metavar="NAME=VALUE",
        help="a named input of the agent's input contract (repeatable)",
    )
    add_repeatable(parser, "--metadata", metavar="KEY=VALUE", help="a label kept on the record")
    add_repeatable(
        parser,
        "--require-approval",
        metavar="TOOL",
        help="calls of this tool wait for a person's yes (repeatable; adds to the "
        "definition's approval list; `agw invocations approve`)",
    )
    add_run_options(parser)
    parser.add_argument(
        "--async",
        dest="asynchronous",
        action="store_true",
        help="queue it (202) and print the invocation id; with --wait, poll until done",
    )
    parser.add_argument("--wait", action="store_true", help="with --async: wait for the result")
    parser.add_argument(
        "--follow",
        action="store_true",
        help="queue it and show it live: one line per turn and tool call, the text as it "
        "comes (in a terminal), then the summary (resumes after a dropped connection)",
    )
    add_seconds(
        parser,
        "--prefer-wait",
        default=DEFAULT_PREFER_WAIT_S,
        help="synchronous: run inline for at most S seconds (Prefer: wait=S; the API caps it "
        f"at its deadline), then the run goes on on the queue and agw follows it (default "
        f"{DEFAULT_PREFER_WAIT_S:g})",
    )
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="S",
        help=f"give up waiting after S seconds (default {ASYNC_WAIT_TIMEOUT_S:g} with --async "
        f"--wait; {HANDED_OFF_WAIT_TIMEOUT_S:g} after a synchronous run went on the queue)",
    )
    parser.add_argument("--idempotency-key", metavar="KEY", help="Idempotency-Key header")
    parser.add_argument("--json", action="store_true", help="print the invocation as JSON")
    files = parser.add_argument_group("workspace")
    sources = files.add_mutually_exclusive_group()
    sources.add_argument(
        "--files",
        nargs="+",
        metavar="PATH",
        help="send these text files (or directories) inline, by their path relative to here",
    )
    sources.add_argument(
        "--workspace",
        metavar="DIR",
        help="zip DIR, upload it (POST /workspaces) and run on it",
    )
    files.add_argument(
        "--out", metavar="DIR", help="write the files the run added or modified under DIR"
    )
    files.add_argument(
        "--patch",
        action="store_true",
        help="print the run's patch on stdout (the output goes to stderr)",
    )
    add_client_arguments(parser)
    parser.set_defaults(handler=_handler)


def read_input(value: str) -> str:
    """``-`` -> stdin, ``@path`` -> the file, else the text itself."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@") and len(value) > 1:
        with open(value[1:], encoding="utf-8") as handle:
            return handle.read()
    return value


def _handler(args: argparse.Namespace) -> int:
    try:
        args.context_pairs = parse_pairs(args.context, "--context")
        args.metadata_pairs = parse_pairs(args.metadata, "--metadata")
        args.text = read_input(args.input)
        args.inline_files = inline_files(args.files) if args.files else None
        args.archive = zip_directory(Path(args.workspace)) if args.workspace else None
    except (ValueError, OSError) as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 2
    if (args.wait or args.follow) and not args.asynchronous:
        args.asynchronous = True
    return run_api_command(args, _invoke)


def _invoke(client: AgwClient, args: argparse.Namespace) -> int:
    from agw.client_cli import print_json, print_view, render_invocation
    from agw.progress import EXIT_WAITING, poll_progress, waiting_lines

    workspace_id = client.upload_workspace(args.archive) if args.archive is not None else None
    status, invocation = client.invoke(
        args.agent,
        args.text,
        context=args.context_pairs,
        metadata=args.metadata_pairs,
        asynchronous=args.asynchronous,
        idempotency_key=args.idempotency_key,
        files=args.inline_files,
        workspace=workspace_id,
        prefer_wait_s=None if args.asynchronous else args.prefer_wait,
        require_approval=args.require_approval,
        **run_options(args),
    )
    invocation_id = str(invocation.get("id") or invocation.get("invocation_id") or "")
    render = render_invocation
    if status == 202 and args.follow:
        from agw.follow import follow_run, render_followed

        timeout_s = ASYNC_WAIT_TIMEOUT_S if args.wait_timeout is None else args.wait_timeout
        followed = follow_run(client, invocation_id, as_json=args.json, timeout_s=timeout_s)
        invocation = followed.invocation
        render = partial(render_followed, streamed_text=followed.streamed_text)
    elif status == 202 and args.asynchronous and not args.wait:
        if args.json:
            print_json(invocation)
        else:
            print(invocation_id)
            print(
                f"queued: {invocation.get('status', 'QUEUED')}; "
                f"follow it with `agw invocations get {invocation_id}`",
                file=sys.stderr,
            )
        return 0
    elif status == 202:
        if args.asynchronous:
            print(f"queued {invocation_id}; waiting...", file=sys.stderr)
            default_timeout = ASYNC_WAIT_TIMEOUT_S
        else:
            print(
                f"{invocation_id} goes on on the queue (longer than --prefer-wait "
                f"{args.prefer_wait:g} s); following it...",
                file=sys.stderr,
            )
            default_timeout = HANDED_OFF_WAIT_TIMEOUT_S
        timeout_s = default_timeout if args.wait_timeout is None else args.wait_timeout
        invocation = poll_progress(client, invocation_id, timeout_s=timeout_s)
    if invocation.get("status") == "WAITING":
        if args.json:
            print_json(invocation)
        for line in waiting_lines(invocation):
            print(line, file=sys.stderr)
        return EXIT_WAITING
    if args.patch:
        with contextlib.redirect_stdout(sys.stderr):
            print_view(invocation, args.json, render)
        sys.stdout.write(str(invocation.get("patch") or ""))
    else:
        print_view(invocation, args.json, render)
    if args.out and invocation.get("status") == "SUCCEEDED":
        written = write_changed_files(client, invocation, Path(args.out))
        print(f"wrote {len(written)} file(s) under {args.out}", file=sys.stderr)
    return 0 if invocation.get("status") == "SUCCEEDED" else 1
