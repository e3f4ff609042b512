"""Running a template's function in this process: import its handler, set its environment.

Shared by the API shim, the SQS poller and the ``sam local invoke`` stand-in.
Handlers are imported lazily (on first use), from the function's ``CodeUri``.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from local.template import FunctionSpec

__all__ = ["Handler", "load_handler", "patched_environ", "reset_project_caches"]

#: ``handler(event, context) -> response``, as Lambda calls it.
Handler = Callable[[Any, Any], Any]

_import_lock = threading.Lock()


def load_handler(function: FunctionSpec) -> Handler:
    """Import ``function.handler`` (``module.attr``) with ``CodeUri`` on ``sys.path``."""
    code = str(function.code_uri)
    with _import_lock:
        if not function.code_uri.is_dir():
            raise FileNotFoundError(f"{function.logical_id}: CodeUri {code} is not a directory")
        if code not in sys.path:
            sys.path.insert(0, code)
        module = importlib.import_module(function.handler_module)
    handler = getattr(module, function.handler_function, None)
    if not callable(handler):
        raise AttributeError(
            f"{function.logical_id}: {function.handler_module} has no callable "
            f"{function.handler_function!r} (Handler: {function.handler})"
        )
    return handler  # type: ignore[no-any-return]


def reset_project_caches() -> None:
    """Forget boto3 clients and settings read from a previous environment."""
    aws = sys.modules.get("agents.aws")
    if aws is not None:
        aws.reset_clients()
    config = sys.modules.get("agents.config")
    if config is not None:
        config.get_settings.cache_clear()


@contextmanager
def patched_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the block, then restore what was there."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    reset_project_caches()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_project_caches()
