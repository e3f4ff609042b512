"""``agw``: the agent-gateway command line, grouped by noun (``agw agents lint``).

Every module ``agw/<noun>_cmd.py`` that defines ``register(subparsers)`` is a
noun: it adds its parser to ``subparsers`` and sets ``handler`` (a function
``(argparse.Namespace) -> int``) on each verb with ``set_defaults``. New nouns
(invoke, batch, dlq, local, dev, invocations) need no edit here. Command
modules must stay cheap to import: import boto3/httpx inside handlers.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

import agw

_SUFFIX = "_cmd"


def command_modules() -> list[str]:
    """Names of the ``agw.*_cmd`` modules, sorted."""
    return sorted(
        f"agw.{info.name}"
        for info in pkgutil.iter_modules(agw.__path__)
        if info.name.endswith(_SUFFIX)
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agw",
        description="agent-gateway: lint, push and run agent definitions.",
    )
    nouns = parser.add_subparsers(dest="noun", metavar="<noun>", required=True)
    for name in command_modules():
        module = importlib.import_module(name)
        register: Callable[[Any], None] | None = getattr(module, "register", None)
        if register is not None:
            register(nouns)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``agw``; returns the exit status (0 ok, 1 failure, 2 usage)."""
    from agents.errors import GatewayError

    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        return 130
    except GatewayError as exc:
        print(f"agw: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
