"""``agw local invoke``: the ``sam local invoke`` stand-in (no Docker needed)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(nouns: Any) -> None:
    """Add the ``local`` noun to the top-level ``agw`` subparsers."""
    parser: argparse.ArgumentParser = nouns.add_parser(
        "local", help="run template.yaml's functions locally", description=__doc__
    )
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    invoke = verbs.add_parser(
        "invoke",
        help="run one function of template.yaml in-process with an event",
        description=(
            "Like `sam local invoke`, without Docker: resolve the function's handler, "
            "CodeUri, Timeout and environment from the template (Ref/GetAtt -> the local "
            "stack's names), run it in this process with a Lambda-like context, print its "
            "JSON response on stdout (the function's logs and metrics go to stderr). AWS "
            "calls go to --aws-endpoint, else $AWS_ENDPOINT_URL, else the running `agw dev` "
            "stack (.agw/dev.json), else http://127.0.0.1:5050; the model is the dev "
            "stack's (same endpoint and key source) unless --model-endpoint. Exit status 1 "
            "when the function raised."
        ),
    )
    invoke.add_argument("function", metavar="LogicalId", help="e.g. ApiFunction, WorkerFunction")
    invoke.add_argument(
        "-e", "--event", metavar="FILE", help="event JSON file ('-' for stdin; default {})"
    )
    invoke.add_argument(
        "-n",
        "--env-vars",
        metavar="FILE",
        help='SAM format: {"ApiFunction": {"VAR": "v"}, "Parameters": {"VAR": "v"}}',
    )
    invoke.add_argument("-t", "--template", default="template.yaml", help="default: template.yaml")
    invoke.add_argument("--aws-endpoint", metavar="URL", help="the local stack's moto server")
    invoke.add_argument(
        "--model-endpoint",
        metavar="URL",
        help="the Messages API the function calls (ANTHROPIC_BASE_URL; default: the dev "
        "stack's model, else your shell's)",
    )
    invoke.add_argument("--region", default=None, help="default: $AWS_REGION or us-east-1")
    invoke.add_argument(
        "--stack-name",
        default=None,
        help="the local stack's name (default: the dev stack's, else agent-gateway-local)",
    )
    invoke.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter values (default: each parameter's Default)",
    )
    invoke.set_defaults(handler=_invoke)

    env_vars = verbs.add_parser(
        "env-vars",
        help="print events/env.json: --env-vars for `sam local invoke` in Docker",
        description=(
            "Print the --env-vars file that points `sam local invoke` (in a Docker "
            "container) at the `agw dev` stack on the host: resource names from the "
            "template, endpoints on --host. events/env.json is this command's output."
        ),
    )
    env_vars.add_argument("-t", "--template", default="template.yaml")
    env_vars.add_argument("--host", default="host.docker.internal")
    env_vars.add_argument("--aws-port", type=int, default=None, help="default: 5050")
    env_vars.add_argument("--model-port", type=int, default=None, help="default: 8899")
    env_vars.set_defaults(handler=_env_vars)


def _env_vars(args: argparse.Namespace) -> int:
    from local.aws_stack import DEFAULT_AWS_PORT
    from local.invoke import DEFAULT_MODEL_PORT, docker_env_vars
    from local.template import TemplateError

    try:
        data = docker_env_vars(
            args.template,
            host=args.host,
            aws_port=args.aws_port or DEFAULT_AWS_PORT,
            model_port=args.model_port or DEFAULT_MODEL_PORT,
        )
    except TemplateError as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2))
    return 0


def _invoke(args: argparse.Namespace) -> int:
    import os
    import socket
    from pathlib import Path
    from urllib.parse import urlsplit

    from local.dev_file import dev_file_path, read_dev_file
    from local.invoke import (
        invoke_function,
        load_env_vars,
        load_template,
        model_environment,
        read_event,
        resolve_endpoint,
    )
    from local.template import DEFAULT_REGION, DEFAULT_STACK_NAME, TemplateError

    try:
        overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    except ValueError:
        print("agw: error: --parameter-overrides takes KEY=VALUE pairs", file=sys.stderr)
        return 2
    dev = read_dev_file(dev_file_path(Path(args.template).resolve().parent))
    endpoint = resolve_endpoint(args.aws_endpoint, dev=dev)
    if dev is not None and endpoint != dev.aws_url.rstrip("/"):
        dev = None  # pointed at another stack: the dev stack's model is not its model
    try:
        template = load_template(
            args.template,
            endpoint_url=endpoint,
            region=args.region
            or os.environ.get("AWS_REGION")
            or (dev.region if dev else DEFAULT_REGION),
            stack_name=args.stack_name or (dev.stack_name if dev else DEFAULT_STACK_NAME),
            parameter_overrides=overrides,
        )
        event = read_event(args.event)
        env_vars = load_env_vars(args.env_vars) if args.env_vars else None
    except TemplateError as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 2
    where = urlsplit(endpoint)
    try:
        socket.create_connection((where.hostname or "127.0.0.1", where.port or 80), 2).close()
    except OSError:
        print(
            f"agw: warning: no local stack answers at {endpoint} (start it with `make dev`, "
            "or pass --aws-endpoint); AWS calls will fail",
            file=sys.stderr,
        )
    out = sys.stdout
    sys.stdout = sys.stderr  # the function's logs and metrics go to stderr, as sam local
    try:
        result = invoke_function(
            template,
            args.function,
            event,
            env_vars=env_vars,
            extra_env=model_environment(dev, args.model_endpoint),
        )
    except TemplateError as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = out
    for name in result.ignored_env_vars:
        print(
            f"agw: warning: --env-vars {name} ignored: the template does not declare it "
            f"for {args.function} (as sam local)",
            file=sys.stderr,
        )
    print(
        f"agw: {args.function} ran in {result.duration_ms:.0f} ms "
        f"({result.remaining_ms} ms of its timeout left)",
        file=sys.stderr,
    )
    print(json.dumps(result.error if result.error else result.response, indent=2, default=str))
    return 1 if result.error else 0
