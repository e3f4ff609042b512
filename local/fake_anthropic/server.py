"""``FakeAnthropicServer``: the fake's state served over HTTP on a daemon thread."""

from __future__ import annotations

import threading

from local.fake_anthropic import batches, control, messages
from local.fake_anthropic.prompt_cache import DEFAULT_CACHE_TTL_S, DEFAULT_MIN_CACHEABLE_TOKENS
from local.fake_anthropic.protocol import Exchange, FakeHttpServer
from local.fake_anthropic.router import Router
from local.fake_anthropic.state import FakeModelState
from local.runtime import serve_in_thread, stop_serving

__all__ = ["ROUTES", "FakeAnthropicServer"]

#: Every endpoint family; a new family is one module with a ``router``, included here.
ROUTES = Router().include(messages.router).include(control.router).include(batches.router)

_STOP_TIMEOUT_S = 5.0


class FakeAnthropicServer(FakeModelState):
    """The fake Messages API; ``start()`` serves on a daemon thread, ``stop()`` ends it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
        min_cacheable_tokens: int = DEFAULT_MIN_CACHEABLE_TOKENS,
        delta_delay_s: float = 0.0,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            cache_ttl_s=cache_ttl_s,
            min_cacheable_tokens=min_cacheable_tokens,
            delta_delay_s=delta_delay_s,
        )
        self.host = host
        self.port = port
        self.verbose = verbose
        self._httpd: FakeHttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        shown = host if isinstance(host, str) else host.decode()
        return f"http://{shown}:{port}"

    def start(self) -> FakeAnthropicServer:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        httpd = FakeHttpServer((self.host, self.port), self._dispatch, verbose=self.verbose)
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = serve_in_thread(httpd, "fake-anthropic")
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stopping.set()
        thread, self._thread = self._thread, None
        stop_serving(httpd, thread, timeout_s=_STOP_TIMEOUT_S)

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, exchange: Exchange) -> None:
        ROUTES.dispatch(self, exchange)
