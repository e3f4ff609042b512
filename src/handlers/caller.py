"""Who is calling and which request this is: the tenant (decided here, once), the request
id, and the caller's ``Prefer`` header."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from agents.errors import Unauthorized
from agents.observability import logger

__all__ = ["current_request_id", "current_tenant", "tenant_of", "wants_async"]


def tenant_of(event: Mapping[str, Any]) -> str:
    """The caller's tenant: the API key id, else the IAM user ARN, else the authorizer's
    principal id (the one place that decides; docs/api.md "Tenancy")."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    authorizer = context.get("authorizer") or {}
    for value in (
        identity.get("apiKeyId"),
        identity.get("userArn"),
        authorizer.get("principalId") if isinstance(authorizer, Mapping) else None,
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise Unauthorized(
        "the request carries no caller identity (API key, IAM principal or authorizer principal)"
    )


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


def wants_async(prefer: str | None) -> bool:
    """RFC 7240: ``Prefer: respond-async`` (possibly among other preferences)."""
    if not prefer:
        return False
    tokens = (part.split(";", 1)[0].strip().lower() for part in prefer.split(","))
    return "respond-async" in tokens
