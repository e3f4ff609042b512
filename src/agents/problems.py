"""Problem documents: what a caller is told about a failure, decided once.

:class:`Failure` is a failure as callers see it (type, title, status, caller-safe detail
and members); :func:`problem_body` renders it as RFC 9457 ``application/problem+json``.
Each problem type's status, title and retryability is its :mod:`agents.errors` class.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.api_models import Problem
from agents.errors import (
    PROBLEM_BASE,
    DefinitionError,
    GatewayError,
    IdempotencyInProgress,
    ServiceUnavailable,
)
from agents.records import InvocationRecord, InvocationView
from agents.types import ErrorInfo

__all__ = [
    "PROBLEM_JSON",
    "RETRY_AFTER_S",
    "Failure",
    "error_classes",
    "failure_body",
    "problem_body",
    "problem_proxy_response",
    "public_detail",
    "public_extra",
    "public_view",
    "retry_headers",
]

PROBLEM_JSON = "application/problem+json"
#: Seconds a caller should wait before retrying a 409 (key in use) or a 503.
RETRY_AFTER_S = 2
#: Problems a retry of the same request can cure shortly (they carry ``Retry-After``).
_RETRY_LATER = frozenset({IdempotencyInProgress.error_type, ServiceUnavailable.error_type})
#: Members of a problem document an error's extras must not overwrite (renamed current_*).
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})
#: Problem types whose detail and extras are internal: callers get a generic text.
_GENERIC_DETAIL = {
    GatewayError.error_type: "An internal error occurred; the request id identifies it in "
    "the logs.",
    ServiceUnavailable.error_type: "A dependency is temporarily unavailable; retry the "
    "request later.",
}


def _subclasses(cls: type[GatewayError]) -> Iterable[type[GatewayError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_classes() -> dict[str, type[GatewayError]]:
    """``error_type`` -> class, for every problem type (every :class:`GatewayError`)."""
    found: dict[str, type[GatewayError]] = {GatewayError.error_type: GatewayError}
    for cls in _subclasses(GatewayError):
        found.setdefault(cls.error_type, cls)
    return found


def public_extra(error_type: str, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """Caller-safe members: no S3 bucket/key (a definition's file is named by its file name)."""
    data = {
        (f"current_{key}" if key in _PROBLEM_MEMBERS else key): value
        for key, value in (extra or {}).items()
    }
    path = data.get("path")
    if isinstance(path, str):
        data["path"] = path.rsplit("/", 1)[-1]
    if error_type in _GENERIC_DETAIL:
        return {k: v for k, v in data.items() if k == "invocation_id"}
    return data


def public_detail(error_type: str, detail: str) -> str:
    return _GENERIC_DETAIL.get(error_type, detail)


@dataclass(frozen=True)
class Failure:
    """A failure as the API reports it (a problem document without request data)."""

    error_type: str
    title: str
    status: int
    detail: str
    retryable: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_exception(cls, exc: GatewayError) -> Failure:
        detail = exc.detail
        if isinstance(exc, DefinitionError) and exc.line is not None:
            detail = f"{exc.path.rsplit('/', 1)[-1] or 'definition'}:{exc.line}: {exc.detail}"
        return cls(
            error_type=exc.error_type,
            title=exc.title,
            status=exc.status,
            detail=public_detail(exc.error_type, detail),
            retryable=exc.retryable,
            extra=public_extra(exc.error_type, exc.extra),
        )

    @classmethod
    def from_info(cls, info: ErrorInfo) -> Failure:
        known = error_classes().get(info.type, GatewayError)
        return cls(
            error_type=info.type,
            title=known.title,
            status=known.status,
            detail=public_detail(info.type, info.message),
            retryable=info.retryable,
            extra=public_extra(info.type, dict(info.details or {})),
        )


def public_view(record: InvocationRecord, *, include_input: bool = False) -> InvocationView:
    """The caller's view of a record, with internal failure text replaced."""
    view = record.to_public(include_input=include_input)
    update: dict[str, Any] = {}
    for name in ("error", "last_error"):
        info: ErrorInfo | None = getattr(view, name)
        if info is not None:
            update[name] = ErrorInfo(
                type=info.type,
                message=public_detail(info.type, info.message),
                retryable=info.retryable,
                details=public_extra(info.type, dict(info.details or {})) or None,
            )
    return view.model_copy(update=update) if update else view


def retry_headers(failure: Failure) -> dict[str, str]:
    """``Retry-After`` for the problems a retry can cure shortly, or at a known time
    (``retry_after_s``: a budget window's reset)."""
    later = failure.extra.get("retry_after_s")
    if isinstance(later, int) and later > 0:
        return {"Retry-After": str(later)}
    return {"Retry-After": str(RETRY_AFTER_S)} if failure.error_type in _RETRY_LATER else {}


def problem_body(
    status: int,
    error_type: str,
    title: str,
    detail: str,
    *,
    instance: str | None,
    request_id: str | None,
    invocation_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The problem document (extras never overwrite the standard members)."""
    problem = Problem.model_validate(
        {k: v for k, v in extra.items() if k not in _PROBLEM_MEMBERS}
        | {
            "type": PROBLEM_BASE + error_type,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            "invocation_id": invocation_id,
            "request_id": request_id,
        }
    )
    return problem.model_dump(mode="json", exclude_none=True)


def failure_body(
    failure: Failure,
    *,
    instance: str | None,
    request_id: str | None,
    invocation_id: str | None = None,
) -> dict[str, Any]:
    """The problem document of ``failure`` (its ``invocation_id`` member, if any, kept)."""
    extra = dict(failure.extra)
    invocation_id = invocation_id or extra.pop("invocation_id", None)
    extra.pop("invocation_id", None)
    return problem_body(
        failure.status,
        failure.error_type,
        failure.title,
        failure.detail,
        instance=instance,
        request_id=request_id,
        invocation_id=invocation_id,
        **extra,
    )


def problem_proxy_response(
    failure: Failure, *, instance: str, request_id: str | None
) -> dict[str, Any]:
    """A whole API Gateway proxy response for ``failure`` (answers given before routing)."""
    return {
        "statusCode": failure.status,
        "headers": {"Content-Type": PROBLEM_JSON},
        "body": json.dumps(failure_body(failure, instance=instance, request_id=request_id)),
        "isBase64Encoded": False,
    }
