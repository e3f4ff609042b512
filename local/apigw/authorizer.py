"""A Lambda REQUEST authorizer run the way API Gateway runs it (``AuthMode=KEYS`` locally).

:func:`request_authorizer` reads the API's ``x-amazon-apigateway-authorizer`` (type
``request``: its function, identity-source header and result TTL) from the template;
:class:`AuthorizerGate` calls that function with a REQUEST event, caches its policy per
identity value for the TTL and answers: ``allow`` (with the authorizer context), or the
gateway response API Gateway would give - ``UNAUTHORIZED`` (401: no key, or the function
raised ``Unauthorized``), ``ACCESS_DENIED`` (403: a Deny policy), ``AUTHORIZER_FAILURE``.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.template import Template

__all__ = ["AuthorizerGate", "Decision", "RequestAuthorizer", "request_authorizer"]

log = logging.getLogger("local.apigw")

_HEADER_SOURCE = "method.request.header."


@dataclass(frozen=True)
class RequestAuthorizer:
    """The template's REQUEST authorizer: which function, which header, how long cached."""

    function_logical_id: str
    header: str
    ttl_s: int


def request_authorizer(template: Template, api_id: str) -> RequestAuthorizer | None:
    """The REQUEST authorizer the API's operations require, if any (conditions resolved)."""
    body = template.properties(api_id).get("DefinitionBody")
    if not isinstance(body, dict):
        return None
    schemes = (body.get("components") or {}).get("securitySchemes") or {}
    required = {
        name
        for operations in (body.get("paths") or {}).values()
        for operation in (operations or {}).values()
        if isinstance(operation, dict)
        for requirement in operation.get("security") or []
        for name in requirement
    }
    for name in sorted(required):
        spec = (schemes.get(name) or {}).get("x-amazon-apigateway-authorizer") or {}
        if str(spec.get("type", "")).lower() != "request":
            continue
        source = str(spec.get("identitySource", ""))
        if not source.startswith(_HEADER_SOURCE):
            raise ValueError(f"authorizer {name}: only header identity sources are emulated")
        uri = str(spec.get("authorizerUri", ""))
        function = next((f for f in template.function_ids() if template.arn(f) in uri), None)
        if function is None:
            raise ValueError(f"authorizer {name}: no template function in {uri}")
        return RequestAuthorizer(
            function_logical_id=function,
            header=source.removeprefix(_HEADER_SOURCE).lower(),
            ttl_s=int(spec.get("authorizerResultTtlInSeconds", 300)),
        )
    return None


@dataclass(frozen=True)
class Decision:
    """``allow`` with the authorizer context, else the gateway response type to answer."""

    outcome: str
    context: Mapping[str, Any] | None = None


def _effect(policy: Mapping[str, Any], method_arn: str) -> str:
    """``Allow`` when an Allow statement covers the method and no Deny does."""
    found = "Deny"
    for statement in (policy.get("policyDocument") or {}).get("Statement") or []:
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, str(r)) for r in resources):
            if statement.get("Effect") == "Deny":
                return "Deny"
            if statement.get("Effect") == "Allow":
                found = "Allow"
    return found


class AuthorizerGate:
    """Runs ``authorizer`` through ``invoke(event) -> ("ok"|"error"|"timeout", value)``."""

    def __init__(
        self,
        authorizer: RequestAuthorizer,
        invoke: Callable[[dict[str, Any]], tuple[str, Any]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.authorizer = authorizer
        self._invoke = invoke
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        #: Calls made to the authorizer function (tests and the bench read it).
        self.calls = 0

    def decide(
        self, headers: Sequence[tuple[str, str]], method_arn: str, request: Mapping[str, Any]
    ) -> Decision:
        value = next((v for k, v in headers if k.lower() == self.authorizer.header), None)
        if not value:
            return Decision("UNAUTHORIZED")  # API Gateway answers without calling the function
        now = self._clock()
        with self._lock:
            cached = self._cache.get(value)
        if cached is not None and cached[0] > now:
            policy = cached[1]
        else:
            event = {**request, "type": "REQUEST", "methodArn": method_arn}
            self.calls += 1
            kind, answer = self._invoke(event)
            if kind == "error":
                if str(answer) == "Unauthorized":
                    return Decision("UNAUTHORIZED")
                return Decision("AUTHORIZER_FAILURE")
            if kind != "ok" or not isinstance(answer, dict) or "principalId" not in answer:
                log.error("the authorizer answered no policy (%s)", kind)
                return Decision("AUTHORIZER_FAILURE")
            policy = answer
            if self.authorizer.ttl_s > 0:
                with self._lock:
                    self._cache[value] = (now + self.authorizer.ttl_s, policy)
        if _effect(policy, method_arn) != "Allow":
            return Decision("ACCESS_DENIED")
        context = {str(k): v for k, v in (policy.get("context") or {}).items()}
        return Decision("allow", {**context, "principalId": str(policy["principalId"])})
