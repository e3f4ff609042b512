"""HTTP -> API Gateway REST API (proxy integration, payload v1) -> the API handler.

:class:`ApiGatewayShim` listens on loopback and, for each request:

1. matches it against the ``Api`` events of the template's functions (most
   specific route first; no match -> 403 ``Missing Authentication Token``,
   as API Gateway answers for unknown resources/methods, and for every method
   outside :data:`API_GATEWAY_METHODS`: TRACE, CONNECT, ``get``, ``FOO``);
2. checks the API key when the route requires one (``Auth.ApiKeyRequired``):
   a missing or unknown ``x-api-key`` -> 403 ``{"message": "Forbidden"}``;
3. rejects bodies over 10 MB with 413, like API Gateway's payload limit;
4. builds the proxy event (``resource``, ``path``, ``httpMethod``, ``headers``,
   ``multiValueHeaders``, query strings, ``pathParameters``,
   ``stageVariables``, ``requestContext`` with ``requestId``, ``stage``,
   ``identity.apiKeyId``/``sourceIp``, ``body``/``isBase64Encoded``);
5. calls the handler in-process with a Lambda-like context (deadline = the
   function's template ``Timeout``) and waits at most the integration timeout
   (29 s, or the event's ``TimeoutInMillis``): past it -> 504; a handler that
   raises or returns no valid proxy response -> 502, as API Gateway does;
6. writes the proxy response back.

Errors of the HTTP layer itself (a malformed request line, a URI or headers
too long) are the template's ``DEFAULT_4XX`` gateway response too: problem+json,
never ``http.server``'s HTML page (decision 12.23).

Requests are served on threads (``ThreadingHTTPServer``). Real API Gateway
would fan out to separate Lambda containers; here the handler module and its
per-container caches are shared by concurrent requests in one process.
"""

from __future__ import annotations

import base64
import errno
import fnmatch
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.lambda_context import context_for
from local.ports import PortInUseError
from local.runtime import Handler, load_handler, serve_in_thread, stop_serving
from local.template import ApiRoute, FunctionSpec, GatewayResponse, Template

__all__ = [
    "DEFAULT_API_PORT",
    "MAX_PAYLOAD_BYTES",
    "ApiGatewayShim",
    "api_key_id",
]

log = logging.getLogger(__name__)

#: ``agw dev``'s default API port (the same as ``sam local start-api``).
DEFAULT_API_PORT = 3000
#: API Gateway's request payload limit.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_STOP_TIMEOUT_S = 10.0


def api_key_id(key: str) -> str:
    """A stable, API-Gateway-looking id (10 lowercase alphanumerics) for a key value."""
    digest = hashlib.sha256(key.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:10]


#: The methods API Gateway REST APIs support (``ANY`` is these seven). Any other
#: token, TRACE and CONNECT included, is an unsupported method: 403
#: ``MISSING_AUTHENTICATION_TOKEN`` (decision 12.22). Methods are case-sensitive.
API_GATEWAY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})

#: Gateway response type -> (default status, default message, x-amzn-ErrorType).
GATEWAY_ERRORS: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "ACCESS_DENIED": (403, "Forbidden", "AccessDeniedException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLongException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
}
_CONTEXT_VAR = re.compile(r"\$context\.([A-Za-z][A-Za-z.]*[A-Za-z])")


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

        class RequestHandler(_ProxyRequestHandler):
            owner = shim

        try:
            server = _ShimServer((self.host, self.port), RequestHandler)
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

    def _is_binary(self, content_type: str) -> bool:
        media = content_type.split(";", 1)[0].strip().lower()
        return bool(media) and any(
            fnmatch.fnmatchcase(media, pattern.lower()) for pattern in self.binary_media_types
        )

    def build_event(
        self,
        *,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        source_ip: str,
        route: ApiRoute,
        path_parameters: Mapping[str, str],
        api_key: str | None,
        request_id: str,
    ) -> dict[str, Any]:
        """The API Gateway REST proxy event (payload format 1.0) for one request."""
        split = urlsplit(target)
        path = unquote(split.path) or "/"
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, value in headers:
            single[name] = value
            multi.setdefault(name, []).append(value)
        forwarded = {
            "X-Forwarded-For": source_ip,
            "X-Forwarded-Port": str(self.port_number),
            "X-Forwarded-Proto": "http",
        }
        for name, value in forwarded.items():
            if not any(h.lower() == name.lower() for h in single):
                single[name] = value
                multi[name] = [value]
        query = parse_qsl(split.query, keep_blank_values=True)
        query_single: dict[str, str] = {}
        query_multi: dict[str, list[str]] = {}
        for name, value in query:
            query_single[name] = value
            query_multi.setdefault(name, []).append(value)
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if not body:
            body_text: str | None = None
            is_base64 = False
        elif self._is_binary(content_type):
            body_text, is_base64 = base64.b64encode(body).decode(), True
        else:
            try:
                body_text, is_base64 = body.decode("utf-8"), False
            except UnicodeDecodeError:
                body_text, is_base64 = base64.b64encode(body).decode(), True
        now = time.time()
        user_agent = next((v for k, v in headers if k.lower() == "user-agent"), None)
        identity: dict[str, Any] = {
            "accessKey": None,
            "accountId": None,
            "apiKey": api_key,
            "apiKeyId": self.api_keys.get(api_key) if api_key is not None else None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": source_ip,
            "user": None,
            "userAgent": user_agent,
            "userArn": None,
        }
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query_single or None,
            "multiValueQueryStringParameters": query_multi or None,
            "pathParameters": dict(path_parameters) or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": self.api_id,
                "domainName": f"{self.host}:{self.port_number}",
                "domainPrefix": self.host,
                "extendedRequestId": request_id,
                "httpMethod": method,
                "identity": identity,
                "path": f"/{self.stage}{path}",
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "resourceId": hashlib.sha256(route.path.encode()).hexdigest()[:6],
                "resourcePath": route.path,
                "stage": self.stage,
            },
            "body": body_text,
            "isBase64Encoded": is_base64,
        }

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
        headers, body = self._render(spec, kind, message or default_message, request_id)
        headers["x-amzn-ErrorType"] = error_type
        return status, list(headers.items()), body.encode()

    def _render(
        self, spec: GatewayResponse | None, kind: str, text: str, request_id: str
    ) -> tuple[dict[str, str], str]:
        """A gateway response's headers and body (its template, else API Gateway's default)."""
        headers = {"Content-Type": "application/json"}
        body = json.dumps({"message": text})
        if spec is not None:
            headers.update(spec.headers)
            template = spec.templates.get("application/json") or next(
                iter(spec.templates.values()), None
            )
            if template is not None:
                values = {
                    "requestId": request_id,
                    "extendedRequestId": request_id,
                    "stage": self.stage,
                    "error.message": text,
                    "error.messageString": json.dumps(text),
                    "error.responseType": kind,
                }
                body = _CONTEXT_VAR.sub(lambda m: values.get(m.group(1), ""), template)
        return headers, body

    def protocol_error(self, status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """An HTTP-level error (bad request line, URI/headers too long) with ``status``,
        rendered by the template's ``DEFAULT_4XX``/``DEFAULT_5XX`` gateway response."""
        request_id = str(uuid.uuid4())
        kind = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        headers, body = self._render(self.gateway_responses.get(kind), kind, message, request_id)
        headers["x-amzn-RequestId"] = request_id
        return status, list(headers.items()), body.encode()

    @property
    def port_number(self) -> int:
        return self._server.server_port if self._server is not None else self.port

    def handle(
        self,
        *,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        source_ip: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request -> (status, headers, body), exactly as the shim answers it.

        ``body`` is ``None`` when the request's payload exceeded the limit.
        """
        request_id = str(uuid.uuid4())
        status, out, payload = self._dispatch(
            method=method,
            target=target,
            headers=headers,
            body=body,
            source_ip=source_ip,
            request_id=request_id,
        )
        if not any(k.lower() == "content-type" for k, _ in out):
            out.append(("Content-Type", "application/json"))
        out.append(("x-amzn-RequestId", request_id))
        return status, out, payload

    def _dispatch(
        self,
        *,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        source_ip: str,
        request_id: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        raw_path = urlsplit(target).path or "/"
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
            method=method,
            target=target,
            headers=headers,
            body=body,
            source_ip=source_ip,
            route=route,
            path_parameters=params,
            api_key=api_key,
            request_id=request_id,
        )
        timeout_ms = self.integration_timeout_ms or route.timeout_ms
        kind, outcome = self._invoke(
            route.function_logical_id, event, request_id, timeout_ms / 1000
        )
        if kind == "timeout":
            return self.gateway_error("INTEGRATION_TIMEOUT", request_id)
        try:
            if kind == "error":
                raise ValueError(f"the handler raised {type(outcome).__name__}")
            return _proxy_response(outcome)
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


def _proxy_response(outcome: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if not isinstance(outcome, dict):
        raise ValueError(f"the handler returned {type(outcome).__name__}, not a proxy response")
    status = outcome.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    multi = outcome.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((str(name), str(v)) for v in values)
    for name, value in (outcome.get("headers") or {}).items():
        if name not in multi:
            headers.append((str(name), str(value)))
    body = outcome.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise ValueError("body must be a string")
    elif outcome.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = body.encode("utf-8")
    return status, headers, payload


class _ShimServer(ThreadingHTTPServer):
    #: listen() backlog: socketserver's default of 5 resets connections when dozens of
    #: clients connect at once (the reliability suite's 50 concurrent requests).
    request_queue_size = 128


class _ProxyRequestHandler(BaseHTTPRequestHandler):
    owner: ApiGatewayShim
    protocol_version = "HTTP/1.1"
    server_version = "agw-local-apigw"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes | None:
        """The request body; ``None`` when it exceeds the payload limit."""
        limit = self.owner.max_payload_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in {b"\r\n", b"\n", b""}:
                        pass
                    break
                total += size
                if total > limit:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True  # the unread rest of the body
        status, headers, payload = self.owner.handle(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        # http.server looks up ``do_<METHOD>`` and answers 501 + HTML when it is missing:
        # every other method (TRACE, CONNECT, ``get``, ``FOO``) goes through the shim too,
        # which answers it as API Gateway does (403 MISSING_AUTHENTICATION_TOKEN).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (400 bad request line, 414, 431, ...) as problem+json."""
        try:
            phrase = message or self.responses.get(code, ("Error",))[0]
        except (KeyError, IndexError):
            phrase = "Error"
        status, headers, payload = self.owner.protocol_error(code, phrase)
        self.log_error("code %d, message %s", code, phrase)
        self.close_connection = True
        # a request line that did not parse leaves HTTP/0.9, which would drop the status
        # line and headers: answer as HTTP/1.1 (API Gateway has no HTTP/0.9 either)
        self.request_version = self.protocol_version
        self.send_response(status, phrase)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and status >= 200:
            self.wfile.write(payload)
