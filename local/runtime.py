"""Running a template's function in this process: import its handler, set its environment.

Shared by the API shim, the SQS poller and the ``sam local invoke`` stand-in.
Handlers are imported lazily (on first use), from the function's ``CodeUri``.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from local.template import FunctionSpec

__all__ = [
    "Handler",
    "load_handler",
    "patched_environ",
    "reset_project_caches",
    "serve_in_thread",
    "stop_serving",
]

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
    """Forget every per-container value (``agents.container.reset``) if the core is loaded."""
    container = sys.modules.get("agents.container")
    if container is not None:
        container.reset()


@contextmanager
def patched_environ(env: Mapping[str, str], *, unset: Iterable[str] = ()) -> Iterator[None]:
    """Set ``env`` (and remove ``unset``) in ``os.environ`` for the block, then restore
    what was there; the project's per-container state is reset on the way in and out."""
    removed = [name for name in unset if name not in env]
    saved = {name: os.environ.get(name) for name in [*removed, *env]}
    for name in removed:
        os.environ.pop(name, None)
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


class Serving(Protocol):
    """A socketserver-style server (``http.server`` or werkzeug's)."""

    def serve_forever(self, poll_interval: float = ...) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...


def serve_in_thread(server: Serving, name: str) -> threading.Thread:
    """Serve ``server`` from a daemon thread (polling for shutdown every 0.1 s)."""
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=name, daemon=True)
    thread.start()
    return thread


def stop_serving(
    server: Serving | None, thread: threading.Thread | None, *, timeout_s: float = 10.0
) -> None:
    """Stop a server started with :func:`serve_in_thread`; bounded, safe to call twice."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=timeout_s)
