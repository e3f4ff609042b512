"""One webhook POST: to a vetted address, never a redirect, bounded in time and size.

``httpx`` with ``trust_env=False`` (no proxy from the environment could bypass the
vetting) and ``follow_redirects=False``. The request goes to the vetted IP address with
the URL's host in ``Host`` and as TLS SNI, so the certificate is checked against the name
while the socket can only reach the address that was checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from agents.webhooks.destinations import (
    Destination,
    ResolutionFailed,
    Resolver,
    UnsafeDestination,
    system_resolver,
    vetted_addresses,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


__all__ = ["AttemptResult", "post"]

_USER_AGENT: Final = "agent-gateway-webhooks/1"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt got: an HTTP status, or an error (refused, timeout, connection)."""

    status: int | None
    error: str | None
    elapsed_ms: int
    #: True when the destination was refused (no traffic was sent).
    refused: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    destination: Destination,
    body: str,
    headers: Mapping[str, str],
    *,
    allow_local: bool,
    connect_timeout_s: float,
    read_timeout_s: float,
    resolver: Resolver | None = None,
) -> AttemptResult:
    """POST ``body`` to ``destination`` (vetting its addresses first)."""
    import httpx

    started = time.monotonic()

    def result(status: int | None, error: str | None, refused: bool = False) -> AttemptResult:
        return AttemptResult(status, error, int((time.monotonic() - started) * 1000), refused)

    try:
        addresses = vetted_addresses(
            destination, resolver=resolver or system_resolver, allow_loopback=allow_local
        )
    except UnsafeDestination as exc:
        return result(None, exc.detail, refused=True)
    except ResolutionFailed as exc:
        return result(None, f"dns: {exc}")
    default_port = 443 if destination.scheme == "https" else 80
    host_header = (
        destination.host
        if destination.port == default_port
        else (f"{_bracketed(destination.host)}:{destination.port}")
    )
    request_headers = {
        **headers,
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": _USER_AGENT,
    }
    timeout = httpx.Timeout(
        connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=connect_timeout_s
    )
    error = "no address"
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=timeout) as client:
        for address in addresses:
            url = httpx.URL(
                scheme=destination.scheme,
                host=str(address),
                port=destination.port,
                raw_path=destination.target.encode(),
            )
            extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
            try:
                with client.stream(
                    "POST",
                    url,
                    content=body.encode(),
                    headers=request_headers,
                    extensions=extensions,
                ) as response:
                    # Only the status counts: the body is never read (closing the stream
                    # here), so a receiver trickling its body cannot hold the function.
                    return result(response.status_code, None)
            except httpx.ConnectError as exc:
                error = f"connect: {type(exc).__name__}"
                continue  # the next vetted address
            except httpx.TimeoutException as exc:
                return result(None, f"timeout: {type(exc).__name__}")
            except httpx.HTTPError as exc:
                return result(None, f"http: {type(exc).__name__}")
    return result(None, error)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
