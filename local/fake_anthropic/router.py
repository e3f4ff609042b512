"""Routing ``(method, path)`` to endpoint functions; one ``Router`` per endpoint family."""

from __future__ import annotations

from collections.abc import Callable

from local.fake_anthropic.protocol import Exchange, error_body
from local.fake_anthropic.state import FakeModelState

__all__ = ["Endpoint", "Router"]

#: An endpoint answers one exchange, reading and changing the fake's state.
Endpoint = Callable[[FakeModelState, Exchange], None]


class Router:
    """Exact ``(method, path)`` routes; ``include`` merges another family's router."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Endpoint] = {}

    def route(self, method: str, *paths: str) -> Callable[[Endpoint], Endpoint]:
        """Decorator: ``endpoint`` answers ``method`` on each of ``paths``."""

        def register(endpoint: Endpoint) -> Endpoint:
            for path in paths:
                key = (method, path)
                if key in self._routes:
                    raise ValueError(f"route {method} {path} is registered twice")
                self._routes[key] = endpoint
            return endpoint

        return register

    def include(self, other: Router) -> Router:
        for (method, path), endpoint in other._routes.items():
            self.route(method, path)(endpoint)
        return self

    def dispatch(self, state: FakeModelState, exchange: Exchange) -> None:
        endpoint = self._routes.get((exchange.method, exchange.path))
        if endpoint is None:
            message = f"no route {exchange.method} {exchange.path}"
            exchange.send_json(404, error_body(404, message))
            return
        endpoint(state, exchange)
