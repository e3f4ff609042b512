"""The HTTP client of the agent-gateway API (``agw invoke``, ``agw batch``, ...).

Works against the local stack (``agw dev``) and a deployed API alike:

* endpoint: ``--endpoint URL``, else ``$AGW_ENDPOINT``, else ``http://127.0.0.1:3000``
  (a deployed API's URL includes its stage: ``https://<id>.execute-api.<region>.amazonaws.com/v1``);
* API key: ``--api-key KEY``, else ``$AGW_API_KEY`` (sent as ``x-api-key``).

Every answer >= 400 raises :class:`ApiError` built from the RFC 9457 problem
document (``title``, ``detail``, ``invocation_id``); a server that cannot be
reached raises :class:`ClientError`. The answers are returned as plain JSON
objects (``dict``), so the client keeps working with newer API versions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_ENDPOINT",
    "TERMINAL_STATUSES",
    "AgwClient",
    "ApiError",
    "ClientError",
    "resolve_api_key",
    "resolve_endpoint",
]

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
_USER_AGENT = "agw-cli"


class ClientError(Exception):
    """The request could not be made or answered (no server, timeout, not JSON)."""


class ApiError(ClientError):
    """The API answered an error (a problem document, or API Gateway's own message)."""

    def __init__(self, status: int, problem: Mapping[str, Any], method: str, path: str) -> None:
        self.status = status
        self.problem = dict(problem)
        self.method = method
        self.path = path
        super().__init__(self.one_line())

    @property
    def type(self) -> str:
        return str(self.problem.get("type") or "")

    @property
    def invocation_id(self) -> str | None:
        value = self.problem.get("invocation_id")
        return str(value) if value else None

    def one_line(self) -> str:
        """``<title> (<status>): <detail> [invocation <id>]`` on one line."""
        title = str(self.problem.get("title") or self.problem.get("message") or "HTTP error")
        detail = str(self.problem.get("detail") or "")
        text = f"{title} ({self.status})"
        if detail and detail != title:
            text += f": {detail}"
        if self.invocation_id:
            text += f" [invocation {self.invocation_id}]"
        return " ".join(text.split())


def resolve_endpoint(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--endpoint``, else ``$AGW_ENDPOINT``, else the local stack's default."""
    env = os.environ if environ is None else environ
    return (flag or env.get("AGW_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def resolve_api_key(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--api-key``, else ``$AGW_API_KEY``; :class:`ClientError` when neither is set."""
    env = os.environ if environ is None else environ
    key = (flag or env.get("AGW_API_KEY") or "").strip()
    if not key:
        raise ClientError(
            "no API key: set AGW_API_KEY or pass --api-key (`agw dev` prints a local key)"
        )
    return key


class AgwClient:
    """A thin, synchronous client: one method per route, JSON in and out."""

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        self.endpoint = endpoint.rstrip("/")
        #: The per-request timeout (a long-poll must end before it).
        self.timeout_s = timeout_s
        self._http = httpx.Client(
            base_url=self.endpoint,
            headers={"x-api-key": api_key, "user-agent": _USER_AGENT, "accept": "application/json"},
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AgwClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---------------------------------------------------------------- transport

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; raise :class:`ApiError` for >= 400, :class:`ClientError`
        when the server cannot be reached."""
        import httpx

        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(
                method, path, json=json_body, params=query, headers=dict(headers or {})
            )
        except httpx.TimeoutException as exc:
            raise ClientError(f"{method} {self.endpoint}{path}: timed out ({exc})") from None
        except httpx.TransportError as exc:
            raise ClientError(
                f"cannot reach {self.endpoint} ({exc}); is the stack running "
                "(`make dev`), or is --endpoint / AGW_ENDPOINT right?"
            ) from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, _problem_of(response), method, path)
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise ClientError(
                f"{response.request.method} {response.request.url.path}: "
                f"the answer is not JSON (HTTP {response.status_code})"
            ) from None
        if not isinstance(data, dict):
            raise ClientError(f"{response.request.url.path}: expected a JSON object")
        return data

    # ---------------------------------------------------------------- routes

    def health(self) -> dict[str, Any]:
        return self._json(self.request("GET", "/health"))

    def invoke(
        self,
        agent: str,
        text: str,
        *,
        context: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        metadata: Mapping[str, str] | None = None,
        version: str | None = None,
        asynchronous: bool = False,
        idempotency_key: str | None = None,
        files: Mapping[str, str] | None = None,
        workspace: str | None = None,
        prefer_wait_s: float | None = None,
        require_approval: list[str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """``POST /agents/{agent}/invocations``: (status, body); 200 sync, 202 async.

        ``prefer_wait_s`` (sync only) sends ``Prefer: wait=N`` (RFC 7240): the API runs the
        invocation inline for at most N seconds, then answers 202 and the run goes on on the
        queue (docs/api.md, "Sync that falls back to async")."""
        body: dict[str, Any] = {"input": text}
        if context:
            body["context"] = dict(context)
        if files is not None:
            body["files"] = dict(files)
        if workspace is not None:
            body["workspace"] = workspace
        if require_approval:
            body["require_approval"] = list(require_approval)
        body |= _run_fields(max_tokens, metadata, version)
        headers: dict[str, str] = {}
        if asynchronous:
            headers["Prefer"] = "respond-async"
        elif prefer_wait_s is not None:
            headers["Prefer"] = f"wait={max(0, round(prefer_wait_s))}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = self.request(
            "POST", f"/agents/{_segment(agent)}/invocations", json_body=body, headers=headers
        )
        return response.status_code, self._json(response)

    def upload_workspace(self, archive: bytes) -> str:
        """``POST /workspaces``, then PUT ``archive`` to the presigned URL; the ``ws_...`` id."""
        import httpx

        created = self._json(self.request("POST", "/workspaces"))
        if len(archive) > int(created.get("max_bytes") or len(archive)):
            raise ClientError(
                f"the workspace archive is {len(archive)} bytes; the limit is "
                f"{created['max_bytes']}"
            )
        try:
            put = httpx.put(str(created["upload_url"]), content=archive, timeout=60.0)
        except httpx.TransportError as exc:
            raise ClientError(f"the workspace upload failed ({exc})") from None
        if put.status_code >= 300:
            raise ClientError(f"the workspace upload failed (HTTP {put.status_code})")
        return str(created["id"])

    def get_result_file(self, invocation_id: str, path: str) -> bytes:
        """``GET /invocations/{id}/files/{path}``: one changed file's bytes."""
        route = f"/invocations/{_segment(invocation_id)}/files/{_segment(path)}"
        return self.request("GET", route, headers={"accept": "*/*"}).content

    def get_result_workspace(self, invocation_id: str) -> dict[str, Any]:
        """``GET /invocations/{id}/workspace``: ``{"url", "expires_in"}`` of the result zip."""
        return self._json(self.request("GET", f"/invocations/{_segment(invocation_id)}/workspace"))

    def get_invocation(self, invocation_id: str) -> dict[str, Any]:
        return self._json(self.request("GET", f"/invocations/{_segment(invocation_id)}"))

    def events(
        self, invocation_id: str, *, after: int = 0, wait_s: float = 0.0, limit: int | None = None
    ) -> dict[str, Any]:
        """``GET /invocations/{id}/events``: ``{"events", "next_after", "status"}`` (JSON),
        long-polling up to ``wait_s`` (at most 20) for the first event after ``after``."""
        params = {"after": after, "wait": f"{wait_s:g}" if wait_s else None, "limit": limit}
        path = f"/invocations/{_segment(invocation_id)}/events"
        return self._json(self.request("GET", path, params=params))

    def list_invocations(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        batch_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        params = {
            "agent": agent,
            "status": status,
            "batch_id": batch_id,
            "limit": limit,
            "cursor": cursor,
        }
        return self._json(self.request("GET", "/invocations", params=params))

    def iter_invocations(
        self, *, max_items: int | None = None, page_size: int = 200, **filters: str | None
    ) -> Iterator[dict[str, Any]]:
        """Every invocation matching ``filters`` (following ``next_cursor``)."""
        cursor: str | None = None
        seen = 0
        while True:
            page = self.list_invocations(limit=page_size, cursor=cursor, **filters)
            for item in page.get("items", []):
                yield item
                seen += 1
                if max_items is not None and seen >= max_items:
                    return
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def cancel(self, invocation_id: str) -> dict[str, Any]:
        return self._json(self.request("POST", f"/invocations/{_segment(invocation_id)}/cancel"))

    def decide_actions(
        self, invocation_id: str, decisions: list[dict[str, Any]], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``POST /invocations/{id}/actions``: approve/deny a WAITING run's pending actions."""
        return self._json(
            self.request(
                "POST",
                f"/invocations/{_segment(invocation_id)}/actions",
                json_body={"decisions": decisions},
                headers={"Idempotency-Key": idempotency_key},
            )
        )

    def wait_invocation(
        self,
        invocation_id: str,
        *,
        timeout_s: float = 600.0,
        interval_s: float = 0.5,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until the invocation is terminal; :class:`ClientError` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            current = self.get_invocation(invocation_id)
            if on_poll is not None:
                on_poll(current)
            if current.get("status") in TERMINAL_STATUSES:
                return current
            if time.monotonic() >= deadline:
                raise ClientError(
                    f"invocation {invocation_id} still {current.get('status')} "
                    f"after {timeout_s:g} s (`agw invocations get {invocation_id}` later)"
                )
            time.sleep(min(interval_s, max(0.05, deadline - time.monotonic())))

    def submit_batch(
        self,
        agent: str,
        items: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
        metadata: Mapping[str, str] | None = None,
        version: str | None = None,
        idempotency_key: str | None = None,
        processing: str | None = None,
    ) -> dict[str, Any]:
        """``POST /batches`` (202): the batch view plus ``items`` (index -> invocation id);
        ``processing="economy"`` runs it in a Message Batch (docs/batches.md)."""
        body: dict[str, Any] = {"agent": agent, "items": items}
        body |= _run_fields(max_tokens, metadata, version)
        if processing:
            body["processing"] = processing
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._json(self.request("POST", "/batches", json_body=body, headers=headers))

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        return self._json(self.request("GET", f"/batches/{_segment(batch_id)}"))

    def list_agents(self) -> dict[str, Any]:
        return self._json(self.request("GET", "/agents"))

    def get_agent(self, name: str) -> dict[str, Any]:
        return self._json(self.request("GET", f"/agents/{_segment(name)}"))


def _run_fields(
    max_tokens: int | None, metadata: Mapping[str, str] | None, version: str | None
) -> dict[str, Any]:
    """The request fields an invocation and a batch share (only those given)."""
    fields: dict[str, Any] = {}
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    if metadata:
        fields["metadata"] = dict(metadata)
    if version:
        fields["version"] = version
    return fields


def _segment(value: str) -> str:
    """One URL path segment (``/`` and friends escaped, so nothing changes the route)."""
    from urllib.parse import quote

    return quote(value, safe="")


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    text = " ".join(response.text.split())[:300]
    return {"title": response.reason_phrase or "HTTP error", "detail": text}
