"""A route's answer (:class:`ApiResult`, as an ``Idempotency-Key`` replays it) and its
rendering to a response: JSON, or ``application/problem+json`` past response validation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from agents.problems import PROBLEM_JSON, Failure, failure_body, retry_headers
from agents.service import get_service
from handlers.caller import current_request_id

__all__ = [
    "JSON",
    "ApiResult",
    "ProblemReply",
    "failure_response",
    "problem_of",
    "problem_response",
    "respond",
]

JSON = "application/json"
#: Stored idempotent answers larger than this keep a reference instead of the body.
MAX_STORED_BODY_BYTES = 256_000


@dataclass(frozen=True)
class ApiResult:
    """One answer, as replayed for an ``Idempotency-Key``.

    A body that is an invocation or a large batch is stored as a reference
    (``ref_kind``/``ref_id``) and read again on a replay (a finished invocation never
    changes; outputs can be megabytes); everything else is stored whole.
    """

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    problem: bool = False
    ref_kind: str | None = None
    ref_id: str | None = None
    replayed: bool = False

    def stored(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "headers": self.headers}
        if self.problem:
            data["problem"] = True
        body_size = len(json.dumps(self.body)) if self.body is not None else 0
        if self.ref_kind and (self.ref_kind == "invocation" or body_size > MAX_STORED_BODY_BYTES):
            data["ref"] = {"kind": self.ref_kind, "id": self.ref_id}
        else:
            data["body"] = self.body
        return data

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> ApiResult:
        ref = data.get("ref") or {}
        return cls(
            status=int(data["status"]),
            body=data.get("body"),
            headers=dict(data.get("headers") or {}),
            problem=bool(data.get("problem")),
            ref_kind=ref.get("kind"),
            ref_id=ref.get("id"),
        )


class ProblemReply(Exception):
    """Carries a finished problem response past response validation."""

    def __init__(self, response: Response[str]) -> None:
        super().__init__("problem reply")
        self.response = response


def problem_response(
    body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=int(body["status"]),
        content_type=PROBLEM_JSON,
        body=json.dumps(body, ensure_ascii=False),
        headers=dict(headers or {}),
    )


def problem_of(
    resolver: BaseRouter, failure: Failure, invocation_id: str | None = None
) -> dict[str, Any]:
    """``failure``'s problem document for the request being routed."""
    return failure_body(
        failure,
        instance=resolver.current_event.path,
        request_id=current_request_id(resolver),
        invocation_id=invocation_id,
    )


def failure_response(resolver: BaseRouter, failure: Failure) -> Response[str]:
    return problem_response(problem_of(resolver, failure), retry_headers(failure))


def respond(result: ApiResult, tenant: str) -> Response[Any]:
    """Turn a (possibly replayed) result into the response; problems bypass validation."""
    headers = dict(result.headers)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = result.body
    if body is None and result.ref_id:
        service = get_service()
        if result.ref_kind == "batch":
            body = service.get_batch(tenant, result.ref_id).model_dump(mode="json")
        else:
            view = service.get_invocation(tenant, result.ref_id, include_input=False)
            body = view.model_dump(mode="json")
    if result.problem:
        raise ProblemReply(problem_response(body or {}, headers))
    return Response(status_code=result.status, content_type=JSON, body=body, headers=headers)
