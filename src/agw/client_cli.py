"""What the ``agw`` commands share: common flags, connection, errors, output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from agw.client import AgwClient

__all__ = [
    "add_api_command",
    "add_client_arguments",
    "add_documented_command",
    "add_noun",
    "add_repeatable",
    "add_run_options",
    "add_seconds",
    "add_verb",
    "client_from_args",
    "parse_pairs",
    "print_json",
    "print_view",
    "render_invocation",
    "run_api_command",
    "run_options",
    "summary_lines",
]


def add_documented_command(nouns: Any, name: str, *, help: str, doc: str | None) -> Any:
    """A command whose ``--help`` shows its module docstring as written."""
    return nouns.add_parser(
        name, help=help, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def add_noun(nouns: Any, name: str, *, help: str, description: str | None) -> Any:
    """``agw <name> <verb>``: the noun's parser; returns its verb subparsers."""
    parser: argparse.ArgumentParser = nouns.add_parser(name, help=help, description=description)
    return parser.add_subparsers(dest="verb", metavar="<verb>", required=True)


def add_verb(
    verbs: Any,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    help: str,
    description: str | None = None,
    json_help: str,
    shared: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    """A verb run by ``handler(args)``: the noun's ``shared`` flags, then ``--json``. The
    caller adds the verb's own arguments."""
    parser: argparse.ArgumentParser = verbs.add_parser(name, help=help, description=description)
    if shared is not None:
        shared(parser)
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.set_defaults(handler=handler)
    return parser


def add_api_command(
    verbs: Any,
    name: str,
    body: Callable[[AgwClient, argparse.Namespace], int],
    *,
    help: str,
    description: str | None = None,
    json_help: str = "print the API's JSON",
) -> argparse.ArgumentParser:
    """A verb that calls the API: ``--json``, the connection flags, ``body`` run by
    :func:`run_api_command`. The caller adds the verb's own arguments."""
    parser = add_verb(
        verbs,
        name,
        lambda args: run_api_command(args, body),
        help=help,
        description=description,
        json_help=json_help,
    )
    add_client_arguments(parser)
    return parser


def add_repeatable(parser: argparse.ArgumentParser, flag: str, *, metavar: str, help: str) -> None:
    """A flag that may be given many times (a list in ``args``; None when absent)."""
    parser.add_argument(flag, action="append", metavar=metavar, help=help)


def add_seconds(parser: Any, flag: str, *, default: float, help: str) -> None:
    """A duration flag in seconds (float, ``S``); ``parser`` may be an argument group."""
    parser.add_argument(flag, type=float, default=default, metavar="S", help=help)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--max-tokens`` and ``--version`` (as ``agent_version``): how an agent runs."""
    parser.add_argument("--max-tokens", type=int, metavar="N", help="output token limit")
    parser.add_argument("--version", dest="agent_version", help="pin the definition's version")


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """What :func:`add_run_options` parsed, as client keyword arguments."""
    return {"max_tokens": args.max_tokens, "version": args.agent_version}


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """``--endpoint``, ``--api-key``, ``--http-timeout`` (the same on every API command)."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--endpoint",
        metavar="URL",
        help="the API (default: $AGW_ENDPOINT, else http://127.0.0.1:3000, the local stack)",
    )
    group.add_argument(
        "--api-key", metavar="KEY", help="the API key (default: $AGW_API_KEY; never logged)"
    )
    add_seconds(
        group, "--http-timeout", default=60.0, help="per-request timeout in seconds (default 60)"
    )


def client_from_args(args: argparse.Namespace) -> AgwClient:
    from agw.client import AgwClient, resolve_api_key, resolve_endpoint

    return AgwClient(
        resolve_endpoint(args.endpoint),
        resolve_api_key(args.api_key),
        timeout_s=args.http_timeout,
    )


def run_api_command(
    args: argparse.Namespace, body: Callable[[AgwClient, argparse.Namespace], int]
) -> int:
    """Open a client, run ``body``; an API or connection error is one line on stderr, exit 1."""
    from agw.client import ClientError

    try:
        with client_from_args(args) as client:
            return body(client, args)
    except ClientError as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 1


def parse_pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    """``k=v`` arguments as a dict (``ValueError`` naming the flag otherwise)."""
    pairs: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{flag} takes NAME=VALUE, got {item!r}")
        pairs[name] = value
    return pairs


def print_json(data: Any, stream: TextIO | None = None) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False), file=stream or sys.stdout)


def print_view(data: Mapping[str, Any], as_json: bool, render: Callable[[Any], None]) -> None:
    """``data`` as JSON (``--json``), else as ``render`` shows it."""
    if as_json:
        print_json(data)
    else:
        render(data)


def _money(value: Any) -> str:
    try:
        return f"${float(value):.4f}"
    except (TypeError, ValueError):
        return "-"


def summary_lines(invocation: Mapping[str, Any]) -> list[str]:
    """Status, contract result, usage, cost and timing of an invocation, one fact per line."""
    lines = [
        f"invocation {invocation.get('id')}  {invocation.get('status')}  "
        f"agent {invocation.get('agent')}  model {invocation.get('model') or '-'}"
    ]
    contract = invocation.get("contract")
    if isinstance(contract, Mapping):
        text = "valid" if contract.get("valid") else "INVALID"
        if contract.get("missing"):
            text += f", missing: {', '.join(map(str, contract['missing']))}"
        if contract.get("verdict"):
            text += f", verdict: {contract['verdict']}"
        if contract.get("verdict_error"):
            text += f", verdict error: {contract['verdict_error']}"
        if invocation.get("repaired"):
            text += " (after a repair turn)"
        lines.append(f"contract: {text}")
    usage = invocation.get("usage")
    if isinstance(usage, Mapping):
        lines.append(
            "usage: "
            f"{usage.get('input_tokens', 0)} input, {usage.get('output_tokens', 0)} output, "
            f"{usage.get('cache_read_input_tokens', 0)} cache read, "
            f"{usage.get('cache_creation_input_tokens', 0)} cache write tokens; "
            f"cost {_money(invocation.get('cost_usd'))} (estimate)"
        )
    timings = invocation.get("timings")
    if isinstance(timings, Mapping) and timings.get("total_ms") is not None:
        ttft = timings.get("time_to_first_token_ms")
        first = f", first token {float(ttft):.0f} ms" if ttft is not None else ""
        lines.append(f"time: {float(timings['total_ms']):.0f} ms{first}")
    if invocation.get("incomplete"):
        lines.append(f"incomplete: stopped by {invocation.get('stop_reason')}")
    error = invocation.get("error")
    if isinstance(error, Mapping):
        retry = "retryable" if error.get("retryable") else "permanent"
        lines.append(f"error: {error.get('type')} ({retry}): {error.get('message')}")
    return lines


def render_invocation(
    invocation: Mapping[str, Any],
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    markdown: bool | None = None,
) -> None:
    """The output on ``out`` (rendered Markdown in a terminal, raw when piped), the
    summary lines on ``err``."""
    out = out or sys.stdout
    err = err or sys.stderr
    output = invocation.get("output")
    if markdown is None:
        markdown = out.isatty()
    if isinstance(output, str) and output:
        if markdown:
            from rich.console import Console
            from rich.markdown import Markdown

            Console(file=out).print(Markdown(output))
        else:
            out.write(output if output.endswith("\n") else output + "\n")
            out.flush()
    for line in summary_lines(invocation):
        print(line, file=err)
