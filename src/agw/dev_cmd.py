"""``agw dev`` (``make dev``): the whole stack on loopback, no Docker, no AWS account.

Starts moto (the AWS) with template.yaml's tables, queues, DLQ and bucket,
pushes ``definitions/``, the model (the Anthropic API when ANTHROPIC_API_KEY is
set, else the offline fake Messages API), the API Gateway shim in front of the
API function and the SQS poller feeding the worker. Prints the API URL, the
local API key(s) and a ready-to-paste curl, runs one demo invocation of the
flagship agent (unless --no-demo), writes where the stack is to
``.agw/dev.json`` (mode 0600; ``$AGW_DEV_FILE`` for another path; read by ``agw local
invoke`` and the operations commands), then prints exactly one line ``READY <api-url>``
on stdout. Ctrl-C (SIGINT) or SIGTERM stops everything and removes the file.

State lives in moto's memory: stopping forgets every invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from local.dev import DevInfo

_DEMO_LINES = 14
# The defaults of local.dev (kept here so `agw --help` does not import the local stack;
# tests/test_dev_cli.py checks they agree).
DEFAULT_API_PORT = 3000
DEFAULT_AWS_PORT = 5050
DEFAULT_MODEL_PORT = 8899
DEFAULT_SWEEPER_PERIOD_S = 5.0
#: (flag, default, what it is, note) of each port flag.
_PORTS = (
    ("--port", DEFAULT_API_PORT, "the API's port", "0 = a free port"),
    ("--aws-port", DEFAULT_AWS_PORT, "moto server's port", "0 = a free port"),
    (
        "--model-port",
        DEFAULT_MODEL_PORT,
        "the fake Messages API's port",
        "ignored when ANTHROPIC_API_KEY is set",
    ),
)


def register(nouns: Any) -> None:
    """Add the ``dev`` command to the top-level ``agw`` subparsers."""
    from agw.client_cli import add_documented_command, add_repeatable

    parser: argparse.ArgumentParser = add_documented_command(
        nouns, "dev", help="run the whole stack locally (moto, model, API, worker)", doc=__doc__
    )
    for flag, default, what, note in _PORTS:
        parser.add_argument(
            flag,
            type=int,
            default=default,
            metavar="N",
            help=f"{what} (default {default}; {note})",
        )
    add_repeatable(
        parser,
        "--api-key",
        metavar="KEY",
        help="an API key the local API accepts (repeatable; each key is its own tenant; "
        "default: one generated key)",
    )
    parser.add_argument(
        "--no-demo", action="store_true", help="skip the demo invocation (READY comes sooner)"
    )
    parser.add_argument(
        "--worker-timeout",
        type=float,
        metavar="S",
        help="the worker function's timeout in seconds (default: the template's Timeout); "
        "a run checkpoints and hands off to a new segment before it, so a short one "
        "shows long runs spanning segments",
    )
    parser.add_argument(
        "--sweeper-period",
        type=float,
        default=DEFAULT_SWEEPER_PERIOD_S,
        metavar="S",
        help=f"seconds between two sweeps (default {DEFAULT_SWEEPER_PERIOD_S:g}; the deployed "
        "schedule runs every 5 minutes; 0 = no sweeper)",
    )
    parser.add_argument("--template", default="template.yaml", help="default: template.yaml")
    parser.add_argument(
        "--definitions", default="definitions", help="folder pushed to the bucket (definitions)"
    )
    parser.add_argument(
        "--info-file",
        metavar="PATH",
        help="for scripts: write the stack's URLs, keys and resource names as JSON (before READY)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every moto/model request")
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace) -> int:
    import logging

    from local.aws_stack import PortInUseError
    from local.dev import DevStack, DevStackError

    for flag, *_ in _PORTS:
        if not 0 <= getattr(args, flag.removeprefix("--").replace("-", "_")) <= 65535:
            print(f"agw: error: {flag} must be 0-65535", file=sys.stderr)
            return 2
    if args.worker_timeout is not None and not 1 <= args.worker_timeout <= 900:
        print(
            "agw: error: --worker-timeout must be 1-900 seconds (Lambda's limit)", file=sys.stderr
        )
        return 2
    if args.sweeper_period < 0:
        print("agw: error: --sweeper-period must be 0 (off) or positive", file=sys.stderr)
        return 2
    # stdout is ours (summary + READY); the functions' JSON logs and metrics go to
    # stderr, like `sam local start-api` prints the container's output.
    out: TextIO = sys.stdout
    sys.stdout = sys.stderr
    _functions_log_to(sys.stderr)  # the logger may have bound stdout when agw imported it
    logging.basicConfig(level=logging.WARNING, format="agw dev: %(message)s", stream=sys.stderr)
    stop = threading.Event()
    started = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if started.is_set():
            stop.set()
        else:  # still starting: unwind start(), which stops what it started
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    from local.dev_file import dev_file_path

    project_root = Path(args.template).resolve().parent
    dev_path = dev_file_path(project_root)
    wrote_dev_file = False
    stack = DevStack(
        template=args.template,
        definitions=[args.definitions],
        api_port=args.port,
        aws_port=args.aws_port,
        model_port=args.model_port,
        api_keys=args.api_key,
        verbose=args.verbose,
        worker_timeout_s=args.worker_timeout,
        sweeper_period_s=args.sweeper_period or None,
    )
    try:
        try:
            info = stack.start()
        except (PortInUseError, DevStackError) as exc:
            print(f"agw dev: error: {exc}", file=sys.stderr)
            return 1
        _announce(info, out)
        if not args.no_demo:
            _demo(info, out)
        started.set()  # from here on a signal means "stop cleanly" (exit 0)
        wrote_dev_file = _write_dev_file(info, dev_path, project_root)
        if args.info_file:
            Path(args.info_file).write_text(info.model_dump_json(indent=2) + "\n")
        print(f"READY {info.api_url}", file=out, flush=True)
        while not stop.wait(0.5):
            pass
        print("agw dev: stopping...", file=sys.stderr, flush=True)
        return 0
    except KeyboardInterrupt:
        print("agw dev: interrupted", file=sys.stderr)
        return 130
    finally:
        if wrote_dev_file:
            from local.dev_file import remove_dev_file

            remove_dev_file(dev_path, os.getpid())
        stack.stop()
        sys.stdout = out
        _functions_log_to(out)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        print("agw dev: stopped; nothing is left running", file=sys.stderr, flush=True)


def _functions_log_to(stream: TextIO) -> None:
    """Point the functions' Powertools logger (it binds ``sys.stdout`` on import) at ``stream``."""
    import logging

    from agents.observability import logger

    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(stream)


def _write_dev_file(info: DevInfo, path: Path, project_root: Path) -> bool:
    from datetime import UTC, datetime

    from local.dev_file import write_dev_file

    dev = info.dev_file(
        pid=os.getpid(),
        project_root=project_root,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        written = write_dev_file(path, dev)
    except OSError as exc:
        print(f"agw dev: warning: cannot write {path}: {exc}", file=sys.stderr)
        return False
    if not written:
        print(
            f"agw dev: warning: another running agw dev owns {path}; not replacing it "
            "(agw local invoke and agw dlq will find that stack, not this one)",
            file=sys.stderr,
        )
    return written


def _announce(info: DevInfo, out: TextIO) -> None:
    from local.dev import FLAGSHIP_AGENT
    from local.dev_info import TOOL_DEMO_AGENT, TOOL_DEMO_ENABLED, TOOL_DEMO_FILES, TOOL_DEMO_INPUT

    def say(text: str = "") -> None:
        print(text, file=out)

    if info.model == "offline":
        bar = "!" * 78
        say(bar)
        say("!! OFFLINE MODEL: ANTHROPIC_API_KEY is not set, so answers come from the local")
        say(f"!! fake Messages API ({info.model_url}), not from Claude. Every answer says so.")
        say("!! export ANTHROPIC_API_KEY=... and restart to use the real model.")
        say(bar)
    else:
        say("model: the Anthropic Messages API (ANTHROPIC_API_KEY from your environment)")
    say()
    say(f"API         {info.api_url}")
    for key, tenant in info.tenants.items():
        say(f"API key     {key}   (tenant {tenant})")
    say(f"AWS (moto)  {info.aws_url}   stack {info.stack_name}, region {info.region}")
    say(f"agents      {', '.join(info.agents)}  (pushed to s3://{info.agents_bucket})")
    say(f"worker      {'polling ' + info.queue_url if info.worker else 'off'}")
    if info.worker_timeout_s is not None:
        say(
            f"segments    the worker times out after {info.worker_timeout_s:g} s (--worker-timeout)"
        )
    sweeps = f"every {info.sweeper_period_s:g} s" if info.sweeper_period_s else "off"
    say(f"sweeper     {sweeps} (--sweeper-period)")
    say("state       in moto's memory for this session: stopping forgets everything")
    say()
    say("Try it (synchronous invocation of the flagship agent):")
    say()
    say(info.curl_invoke(FLAGSHIP_AGENT))
    say()
    say(f"or: AGW_ENDPOINT={info.api_url} AGW_API_KEY={info.api_keys[0]} \\")
    say(f'      agw invoke {FLAGSHIP_AGENT} "Add a /health endpoint to a FastAPI app"')
    say()
    if TOOL_DEMO_ENABLED:
        say("An agent that acts (files in, tool calls, files changed and a patch out):")
        say()
        say(info.curl_invoke(TOOL_DEMO_AGENT, TOOL_DEMO_INPUT, files=TOOL_DEMO_FILES))
        say()
        say("Follow a run live (its event log; one line per turn and tool call):")
        say()
        say(f"  agw invoke {TOOL_DEMO_AGENT} 'Fix mean()' --files stats.py --follow")
        say("  agw invocations follow ID        # or GET /invocations/ID/events?wait=20")
        say()
    out.flush()


def _demo(info: DevInfo, out: TextIO) -> None:
    from local.dev import DEMO_INPUT, FLAGSHIP_AGENT
    from local.dev_info import TOOL_DEMO_AGENT, TOOL_DEMO_ENABLED, tool_demo_body

    invocation = _demo_invocation(info, out, FLAGSHIP_AGENT, {"input": DEMO_INPUT})
    if invocation is not None:
        _print_output(invocation, out)
    if not TOOL_DEMO_ENABLED:
        return
    invocation = _demo_invocation(info, out, TOOL_DEMO_AGENT, tool_demo_body())
    if invocation is None:
        return
    calls = invocation.get("tool_calls") or {}
    changed = [str(change.get("path")) for change in invocation.get("files_changed") or []]
    tool_lines = [
        f"turns: {invocation.get('turns')}",
        "tool_calls: " + ", ".join(f"{name} x{count}" for name, count in calls.items()),
        f"files_changed: {', '.join(changed) or 'none'}",
        *_event_log(info, str(invocation.get("id"))),
    ]
    _print_output(invocation, out, tool_lines)
    _approval_demo(info, out)


def _approval_demo(info: DevInfo, out: TextIO) -> None:
    """The tool demo again, its Edit needing approval: it stops WAITING (issue 15)."""
    from agw.progress import waiting_lines
    from local.dev_info import APPROVAL_DEMO_ENABLED, TOOL_DEMO_AGENT, approval_demo_body

    if not APPROVAL_DEMO_ENABLED:
        return
    invocation = _demo_invocation(info, out, TOOL_DEMO_AGENT, approval_demo_body())
    if invocation is None:
        return
    lines = waiting_lines(invocation) if invocation.get("status") == "WAITING" else []
    print(f"demo: invocation {invocation.get('id')}  {invocation.get('status')}", file=out)
    for line in lines:
        print(f"demo: {line}", file=out)
    print(file=out, flush=True)


def _event_log(info: DevInfo, invocation_id: str) -> list[str]:
    """The tool demo's event log, summarised (docs/api.md, "The event log")."""
    from agw.client import AgwClient, ClientError
    from local.dev_info import event_log_lines

    try:
        with AgwClient(info.api_url, info.api_keys[0], timeout_s=30) as client:
            page = client.events(invocation_id, limit=500)
    except ClientError as exc:
        return [f"event log: not readable ({exc})"]
    return event_log_lines(invocation_id, list(page.get("events") or []))


def _demo_invocation(
    info: DevInfo, out: TextIO, agent: str, body: dict[str, Any]
) -> dict[str, Any] | None:
    """``POST /agents/{agent}/invocations`` with ``body``; ``None`` (reported) when it fails."""
    from agw.client import AgwClient, ClientError

    approval = body.get("require_approval")
    extra = f' with "require_approval": {json.dumps(approval)}' if approval else ""
    print(f"demo: POST /agents/{agent}/invocations{extra} ...", file=out, flush=True)
    try:
        with AgwClient(info.api_url, info.api_keys[0], timeout_s=60) as client:
            _, invocation = client.invoke(
                agent,
                body["input"],
                files=body.get("files"),
                require_approval=body.get("require_approval"),
            )
    except ClientError as exc:
        print(f"demo failed: {exc}", file=out)
        print("(the stack stays up; fix the cause and try the curl above)", file=out, flush=True)
        return None
    return invocation


def _print_output(invocation: dict[str, Any], out: TextIO, extra: Sequence[str] = ()) -> None:
    from agw.client_cli import summary_lines

    output = str(invocation.get("output") or "").splitlines()
    print(file=out)
    for line in output[:_DEMO_LINES]:
        print(f"  | {line}", file=out)
    if len(output) > _DEMO_LINES:
        print(f"  | ... ({len(output) - _DEMO_LINES} more lines)", file=out)
    print(file=out)
    for line in [*summary_lines(invocation), *extra]:
        print(f"demo: {line}", file=out)
    print(file=out, flush=True)
