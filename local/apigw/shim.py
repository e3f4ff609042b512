"""HTTP -> API Gateway REST API (proxy integration, payload v1) -> the API handler.

:class:`ApiGatewayShim` matches routes (unknown or unsupported methods: 403 ``Missing
Authentication Token``), checks ``x-api-key``, limits payloads to 10 MB, builds the proxy
event, calls the handler in-process within the integration timeout (504 past it, 502 for
a bad answer) and answers HTTP-layer errors as the template's gateway responses.
docs/local.md ("API Gateway") is the full list.
"""

from __future__ import annotations

import errno
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from local.apigw.authorizer import AuthorizerGate, RequestAuthorizer, request_authorizer
from local.apigw.gateway_rules import (
    API_GATEWAY_METHODS,
    GATEWAY_ERRORS,
    api_key_id,
    render_gateway_response,
)
from local.apigw.http_server import ProxyRequestHandler, ShimHttpServer, proxy_response
from local.apigw.proxy_event import ApiStage, HttpRequest, ProxyRequest, build_proxy_event
from local.lambda_context import context_for
from local.ports import PortInUseError
from local.runtime import Handler, load_handler, serve_in_thread, stop_serving
from local.template import ApiRoute, FunctionSpec, GatewayResponse, Template

__all__ = [
    "DEFAULT_API_PORT",
    "MAX_PAYLOAD_BYTES",
    "ApiGatewayShim",
]

log = logging.getLogger("local.apigw")

#: ``agw dev``'s default API port (the same as ``sam local start-api``).
DEFAULT_API_PORT = 3000
#: API Gateway's request payload limit.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_STOP_TIMEOUT_S = 10.0


class ApiGatewayShim:
    """A local REST API in front of in-process Lambda handlers.

    ``routes``: the template's Api events (:meth:`Template.api_routes`);
    ``functions``: their functions by logical id (timeout, memory, handler);
    ``handlers``: optional handler callables by logical id (others are
    imported lazily from the template's ``Handler`` on first request);
    ``api_keys``: key value -> key id (a plain list of key values gets ids
    from :func:`api_key_id`); ``require_api_key``: ``None`` follows each
    route's template setting, ``True``/``False`` overrides every route.
    """

    def __init__(
        self,
        routes: Sequence[ApiRoute],
        functions: Mapping[str, FunctionSpec],
        *,
        handlers: Mapping[str, Handler] | None = None,
        api_keys: Mapping[str, str] | Iterable[str] = (),
        require_api_key: bool | None = None,
        stage: str = "Prod",
        binary_media_types: Sequence[str] = (),
        host: str = "127.0.0.1",
        port: int = DEFAULT_API_PORT,
        api_id: str = "local",
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        integration_timeout_ms: int | None = None,
        account_id: str = "123456789012",
        gateway_responses: Mapping[str, GatewayResponse] | None = None,
        authorizer: RequestAuthorizer | None = None,
    ) -> None:
        missing = {r.function_logical_id for r in routes} - set(functions)
        if missing:
            raise ValueError(f"routes refer to unknown functions: {', '.join(sorted(missing))}")
        self.routes = sorted(routes, key=lambda r: r.specificity)
        self.functions = dict(functions)
        self._handlers: dict[str, Handler] = dict(handlers or {})
        self._handler_lock = threading.Lock()
        self.api_keys: dict[str, str] = (
            dict(api_keys)
            if isinstance(api_keys, Mapping)
            else {key: api_key_id(key) for key in api_keys}
        )
        self.require_api_key = require_api_key
        self.stage = stage
        self.binary_media_types = list(binary_media_types)
        self.host = host
        self.port = port
        self.api_id = api_id
        self.max_payload_bytes = max_payload_bytes
        self.integration_timeout_ms = integration_timeout_ms
        self.account_id = account_id
        self.gateway_responses = dict(gateway_responses or {})
        if require_api_key is None and any(r.iam_auth for r in self.routes):
            raise ValueError(
                "the template's routes use IAM (SigV4) authorization, which the local API "
                "does not emulate: run it with AuthMode=API_KEY (the default) or pass "
                "require_api_key=True"
            )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: The REQUEST authorizer (KEYS mode), run before every route's function.
        self.gate: AuthorizerGate | None = (
            None
            if authorizer is None
            else AuthorizerGate(
                authorizer,
                lambda event: self._invoke(
                    authorizer.function_logical_id,
                    event,
                    event["requestContext"]["requestId"],
                    self.functions[authorizer.function_logical_id].timeout,
                ),
            )
        )

    @classmethod
    def from_template(
        cls,
        template: Template,
        function_ids: Sequence[str] | None = None,
        **options: Any,
    ) -> ApiGatewayShim:
        """The shim for the Api events of ``function_ids`` (default: every function)."""
        ids = list(function_ids) if function_ids else template.function_ids()
        routes = [r for f in ids for r in template.api_routes(f)]
        if not routes:
            raise ValueError(f"no Api events on {', '.join(ids)} in the template")
        apis = {r.rest_api_id for r in routes}
        if len(apis) > 1:
            raise ValueError(f"the routes belong to several APIs ({', '.join(sorted(apis))})")
        api = template.api(apis.pop())
        options.setdefault("stage", api.stage_name)
        options.setdefault("binary_media_types", api.binary_media_types)
        options.setdefault("account_id", template.account_id)
        options.setdefault("gateway_responses", api.gateway_responses)
        functions = {f: template.function(f) for f in {r.function_logical_id for r in routes}}
        authorizer = request_authorizer(template, api.logical_id)
        if authorizer is not None:
            functions[authorizer.function_logical_id] = template.function(
                authorizer.function_logical_id
            )
            options.setdefault("authorizer", authorizer)
        return cls(routes, functions, **options)

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the API shim is not running")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        shim = self

        class RequestHandler(ProxyRequestHandler):
            owner = shim

        try:
            server = ShimHttpServer((self.host, self.port), RequestHandler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError("the API", self.host, self.port, "--port") from None
            raise
        server.daemon_threads = True
        self._server = server
        self._thread = serve_in_thread(server, "apigw-shim")
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stop_serving(server, thread, timeout_s=_STOP_TIMEOUT_S)

    def __enter__(self) -> ApiGatewayShim:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- requests

    def handler_for(self, function_id: str) -> Handler:
        found = self._handlers.get(function_id)
        if found is None:
            with self._handler_lock:
                found = self._handlers.get(function_id)
                if found is None:
                    found = load_handler(self.functions[function_id])
                    self._handlers[function_id] = found
        return found

    def route(self, method: str, raw_path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, raw_path)
            if params is not None:
                return route, {k: unquote(v) for k, v in params.items()}
        return None

    def build_event(
        self,
        request: HttpRequest,
        *,
        route: ApiRoute,
        path_parameters: Mapping[str, str],
        api_key: str | None,
        request_id: str,
    ) -> dict[str, Any]:
        """The API Gateway REST proxy event (payload format 1.0) for one request."""
        if request.body is None:
            raise ValueError("the request's body was over the size limit; it has no event")
        return build_proxy_event(
            ProxyRequest(
                request,
                route=route,
                path_parameters=path_parameters,
                api_key=api_key,
                api_key_id=self.api_keys.get(api_key) if api_key is not None else None,
                request_id=request_id,
            ),
            ApiStage(
                stage=self.stage,
                api_id=self.api_id,
                account_id=self.account_id,
                host=self.host,
                port=self.port_number,
                binary_media_types=tuple(self.binary_media_types),
            ),
        )

    def gateway_error(
        self, kind: str, request_id: str, message: str | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """An error API Gateway answers itself, customised by the template's
        gateway responses (``kind``, else ``DEFAULT_4XX``/``DEFAULT_5XX``)."""
        status, default_message, error_type = GATEWAY_ERRORS[kind]
        spec = self.gateway_responses.get(kind) or self.gateway_responses.get(
            "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        )
        if spec is not None:
            status = spec.status_code or status
        headers, body = render_gateway_response(
            spec, kind, message or default_message, request_id, self.stage
        )
        headers["x-amzn-ErrorType"] = error_type
        return status, list(headers.items()), body.encode()

    def protocol_error(self, status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """An HTTP-level error (bad request line, URI/headers too long) with ``status``,
        rendered by the template's ``DEFAULT_4XX``/``DEFAULT_5XX`` gateway response."""
        request_id = str(uuid.uuid4())
        kind = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        headers, body = render_gateway_response(
            self.gateway_responses.get(kind), kind, message, request_id, self.stage
        )
        headers["x-amzn-RequestId"] = request_id
        return status, list(headers.items()), body.encode()

    @property
    def port_number(self) -> int:
        return self._server.server_port if self._server is not None else self.port

    def handle(self, request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request -> (status, headers, body), exactly as the shim answers it."""
        request_id = str(uuid.uuid4())
        status, out, payload = self._dispatch(request, request_id)
        if not any(k.lower() == "content-type" for k, _ in out):
            out.append(("Content-Type", "application/json"))
        out.append(("x-amzn-RequestId", request_id))
        return status, out, payload

    def _dispatch(
        self, request: HttpRequest, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        method, headers, body = request.method, request.headers, request.body
        raw_path = urlsplit(request.target).path or "/"
        found = self.route(method, raw_path) if method in API_GATEWAY_METHODS else None
        if found is None:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id)
        route, params = found
        api_key = next((v for k, v in headers if k.lower() == "x-api-key"), None)
        required = route.api_key_required if self.require_api_key is None else self.require_api_key
        known = api_key is not None and api_key in self.api_keys
        if required and not known:
            return self.gateway_error("INVALID_API_KEY", request_id)
        if not known:
            api_key = None  # API Gateway ignores keys it does not check
        if body is None or len(body) > self.max_payload_bytes:
            return self.gateway_error("REQUEST_TOO_LARGE", request_id)
        event = self.build_event(
            request, route=route, path_parameters=params, api_key=api_key, request_id=request_id
        )
        if self.gate is not None:
            method_arn = (
                f"arn:aws:execute-api:us-east-1:{self.account_id}:{self.api_id}/{self.stage}"
                f"/{method}{raw_path}"
            )
            decision = self.gate.decide(headers, method_arn, event)
            if decision.outcome != "allow":
                return self.gateway_error(decision.outcome, request_id)
            event["requestContext"]["authorizer"] = dict(decision.context or {})
        timeout_ms = self.integration_timeout_ms or route.timeout_ms
        kind, outcome = self._invoke(
            route.function_logical_id, event, request_id, timeout_ms / 1000
        )
        if kind == "timeout":
            return self.gateway_error("INTEGRATION_TIMEOUT", request_id)
        try:
            if kind == "error":
                raise ValueError(f"the handler raised {type(outcome).__name__}")
            return proxy_response(outcome)
        except (TypeError, ValueError, KeyError) as exc:
            log.error("Lambda proxy error from %s: %s", route.function_logical_id, exc)
            return self.gateway_error("INTEGRATION_FAILURE", request_id)

    def _invoke(
        self, function_id: str, event: dict[str, Any], request_id: str, wait_s: float
    ) -> tuple[str, Any]:
        """Run the handler: ``("ok", response)``, ``("error", exception)`` or
        ``("timeout", None)`` when it outlives the integration timeout (the
        handler thread then runs on, as the Lambda would)."""
        function = self.functions[function_id]
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                handler = self.handler_for(function_id)
                context = context_for(function, request_id=request_id)
                result["value"] = handler(event, context)
            except BaseException as exc:
                log.exception("%s raised", function.handler)
                result["error"] = exc

        thread = threading.Thread(target=run, name=f"lambda-{function_id}", daemon=True)
        thread.start()
        thread.join(timeout=wait_s)
        if thread.is_alive():
            log.error(
                "%s: no response within the integration timeout (%.1fs); answering 504",
                function_id,
                wait_s,
            )
            return "timeout", None
        if "error" in result:
            return "error", result["error"]
        return "ok", result.get("value")
