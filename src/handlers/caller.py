"""Who is calling and which request this is: the tenant (decided here, once), the request
id, and the caller's ``Prefer`` header."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from agents.errors import Forbidden, Unauthorized
from agents.observability import logger

__all__ = ["current_request_id", "current_tenant", "tenant_of", "wants_async"]


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def tenant_of(event: Mapping[str, Any], auth_mode: str | None = None) -> str:
    """The caller's tenant, by ``AUTH_MODE`` (the one place that decides; docs/security.md):
    KEYS the authorizer's ``principalId``, COGNITO the ``TENANT_CLAIM`` claim (403 without
    it), IAM the caller's IAM principal, API_KEY the API Gateway API key id. Nothing a
    caller sends as a header is ever read here."""
    # lazy: pydantic-settings stays off the cold import (decision 13.200)
    from agents.config import get_settings

    settings = get_settings()
    mode = auth_mode or settings.auth_mode
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    authorizer = context.get("authorizer")
    authorizer = authorizer if isinstance(authorizer, Mapping) else {}
    if mode == "KEYS":
        tenant = _text(authorizer.get("principalId"))
    elif mode == "COGNITO":
        claims = authorizer.get("claims")
        claims = claims if isinstance(claims, Mapping) else {}
        if not claims:
            raise Unauthorized("the request carries no Cognito token claims")
        tenant = _text(claims.get(settings.tenant_claim))
        if tenant is None:
            raise Forbidden(f"the token has no {settings.tenant_claim!r} claim (the tenant)")
    elif mode == "IAM":
        tenant = _text(identity.get("userArn"))
    else:
        tenant = _text(identity.get("apiKeyId"))
    if tenant is None:
        raise Unauthorized(f"the request carries no caller identity ({mode} mode)")
    return tenant


def current_tenant(resolver: BaseRouter) -> str:
    """The tenant of the request being routed (added to the log keys)."""
    tenant = tenant_of(resolver.current_event.raw_event)
    logger.append_keys(tenant=tenant)
    return tenant


def request_id_of(event: Mapping[str, Any], lambda_context: object | None) -> str | None:
    """API Gateway's request id, else the Lambda request id."""
    request_id = (event.get("requestContext") or {}).get("requestId")
    if isinstance(request_id, str) and request_id:
        return request_id
    return getattr(lambda_context, "aws_request_id", None)


def current_request_id(resolver: BaseRouter) -> str | None:
    return request_id_of(
        resolver.current_event.raw_event, getattr(resolver, "lambda_context", None)
    )


def preferences(prefer: str | None) -> dict[str, str | None]:
    """RFC 7240 ``Prefer``: preference name (lower case) -> its value (None without one).
    The one parser of the header; parameters after ``;`` are ignored, the first of a
    repeated preference wins."""
    found: dict[str, str | None] = {}
    for part in (prefer or "").split(","):
        token = part.split(";", 1)[0].strip()
        if not token:
            continue
        name, _, value = token.partition("=")
        key = name.strip().lower()
        if key and key not in found:
            found[key] = value.strip().strip('"') or None if _ else None
    return found


def wants_async(prefer: str | None) -> bool:
    """RFC 7240: ``Prefer: respond-async`` (possibly among other preferences)."""
    return "respond-async" in preferences(prefer)


#: ``Prefer: wait`` values above this are treated as this (the API deadline caps it anyway).
MAX_PREFER_WAIT_S = 3600


def preferred_wait(prefer: str | None) -> int | None:
    """RFC 7240 ``Prefer: wait=N`` (seconds, a non-negative integer); None when absent or
    not a number (an unusable preference is ignored, as the RFC asks)."""
    value = preferences(prefer).get("wait")
    if value is None or not (value.isascii() and value.isdigit()):
        return None
    return min(int(value), MAX_PREFER_WAIT_S)
