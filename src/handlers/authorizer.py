"""API Gateway REQUEST authorizer (``AuthMode=KEYS``): the ``x-api-key`` tenant key -> a policy.

A valid key: ``Allow`` on the whole stage (API Gateway caches the answer per key for the
TTL, across routes), ``principalId`` = tenant, context ``keyId``/``tenantName``/``plan``,
``usageIdentifierKey`` = tenant. A malformed, unknown, wrong, revoked or expired key:
``Unauthorized`` (401); a disabled tenant: ``Deny`` (403). Imports boto3 and Powertools'
logger only (no anthropic, no pydantic models of the API); docs/security.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.config import get_settings
from agents.observability import logger
from agents.tenants.authenticate import KeyRejected, Principal, authenticate
from agents.tenants.pepper import pepper
from agents.tenants.table import tenants_table
from handlers import _snapstart

__all__ = ["KEY_HEADER", "handler", "policy"]

#: The header the key travels in (the authorizer's identity source and cache key).
KEY_HEADER = "x-api-key"
_DENIED_REASONS = frozenset({"tenant-disabled"})


def _import_boto3() -> None:
    import boto3  # noqa: F401


_snapstart.install(before_snapshot=_import_boto3)


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name and isinstance(value, str):
            return value
    return None


def _stage_arn(method_arn: str) -> str:
    """``arn:…:api-id/stage/*/*``: the cached answer must fit every route of the stage."""
    head, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0] or "*"
    return f"{head}/{stage}/*/*"


def policy(principal_id: str, effect: str, method_arn: str) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": _stage_arn(method_arn),
                }
            ],
        },
    }


def _allow(principal: Principal, method_arn: str) -> dict[str, Any]:
    answer = policy(principal.tenant, "Allow", method_arn)
    answer["context"] = {
        "keyId": principal.key_id,
        "tenantName": principal.tenant_name,
        "plan": principal.plan,
    }
    answer["usageIdentifierKey"] = principal.tenant
    return answer


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    settings = get_settings()
    table = tenants_table()
    method_arn = str(event.get("methodArn") or "")
    if table is None:
        logger.error("authorizer: TENANTS_TABLE is not set; refusing every key")
        raise Exception("Unauthorized")  # the message API Gateway expects
    try:
        principal = authenticate(
            _header(event, KEY_HEADER),
            table=table,
            pepper=pepper(settings.tenant_key_pepper_secret),
            touch_interval_s=settings.key_last_used_interval_s,
        )
    except KeyRejected as exc:
        logger.info("authorizer: key refused", extra={"reason": exc.reason, "key_id": exc.key_id})
        if exc.reason in _DENIED_REASONS:
            return policy(exc.key_id or "anonymous", "Deny", method_arn)
        raise Exception("Unauthorized") from None
    logger.info(
        "authorizer: key accepted", extra={"tenant": principal.tenant, "key_id": principal.key_id}
    )
    return _allow(principal, method_arn)
