"""Routing ``(method, path)`` to endpoint functions; one ``Router`` per endpoint family.

A path is exact, or a pattern with ``{name}`` segments (``/v1/messages/batches/{id}``);
exact paths win, and an endpoint reads its parameters with :func:`path_params`.
"""

from __future__ import annotations

from collections.abc import Callable

from local.fake_anthropic.protocol import Exchange, error_body
from local.fake_anthropic.state import FakeModelState

__all__ = ["Endpoint", "Router", "path_params"]

#: An endpoint answers one exchange, reading and changing the fake's state.
Endpoint = Callable[[FakeModelState, Exchange], None]


def path_params(pattern: str, path: str) -> dict[str, str] | None:
    """``{name: segment}`` when ``path`` matches ``pattern`` segment by segment, else None."""
    want, got = pattern.strip("/").split("/"), path.strip("/").split("/")
    if len(want) != len(got):
        return None
    found: dict[str, str] = {}
    for expected, segment in zip(want, got, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            if not segment:
                return None
            found[expected[1:-1]] = segment
        elif expected != segment:
            return None
    return found


class Router:
    """``(method, path)`` routes; ``include`` merges another family's router."""

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
            endpoint = next(
                (
                    found
                    for (method, pattern), found in self._routes.items()
                    if method == exchange.method
                    and "{" in pattern
                    and path_params(pattern, exchange.path) is not None
                ),
                None,
            )
        if endpoint is None:
            message = f"no route {exchange.method} {exchange.path}"
            exchange.send_json(404, error_body(404, message))
            return
        endpoint(state, exchange)
