"""The API's routes, one Powertools ``Router`` per resource."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

__all__ = ["new_router"]


def new_router() -> Router:
    """A Powertools router (its constructor is not annotated)."""
    return Router()  # type: ignore[no-untyped-call]
