"""Where a webhook may go: the URL rules and the address vetting (SSRF safety).

* In AWS only ``https`` URLs; with ``WEBHOOK_ALLOW_LOCAL`` (``agw dev``) also
  ``http://127.0.0.1``, ``http://localhost`` and ``http://[::1]``.
* Every address the host name resolves to must be public: loopback (unless local),
  private, link-local, multicast, reserved, unspecified, shared (CGNAT) and the cloud
  metadata addresses are refused. The transport then connects to a vetted address
  itself (:mod:`agents.webhooks.transport`), so a name that resolves differently at
  connect time (DNS rebinding) cannot reach anything that was not checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from agents.errors import WebhookUrlRefused as UnsafeDestination
from agents.webhooks.messages import MAX_URL_CHARS

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.webhooks.messages import WebhookTarget

__all__ = [
    "METADATA_ADDRESSES",
    "Destination",
    "ResolutionFailed",
    "Resolver",
    "UnsafeDestination",
    "check_url",
    "check_webhook",
    "refusal_reason",
    "system_resolver",
    "vetted_addresses",
]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) -> addresses``: ``socket.getaddrinfo`` in production, a table in tests.
Resolver = Callable[[str, int], Sequence[str]]

METADATA_ADDRESSES: Final[frozenset[IpAddress]] = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_LOCAL_NAMES: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_SHARED = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL split into what the transport needs."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path + query, as sent in the request line


def check_url(url: str, *, allow_local: bool) -> Destination:
    """The URL's parts if its form is acceptable (``UnsafeDestination`` otherwise).

    A literal IP address is vetted here too; a name is vetted when it is resolved.
    """
    if len(url) > MAX_URL_CHARS:
        raise UnsafeDestination(f"a webhook URL is at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination("the webhook URL is not a valid URL") from None
    host = (parts.hostname or "").lower()
    if not host or any(c.isspace() for c in url):
        raise UnsafeDestination("the webhook URL needs a host and no spaces")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("the webhook URL must not carry credentials")
    if parts.fragment:
        raise UnsafeDestination("the webhook URL must not have a fragment")
    if parts.scheme == "http":
        if not (allow_local and host in _LOCAL_NAMES):
            raise UnsafeDestination(
                "webhook URLs must use https"
                + (" (http only for 127.0.0.1/localhost)" if allow_local else "")
            )
    elif parts.scheme != "https":
        raise UnsafeDestination("webhook URLs must use https")
    literal = _literal(host)
    if literal is not None:
        reason = refusal_reason(literal, allow_loopback=allow_local)
        if reason:
            raise UnsafeDestination(f"the webhook URL points at a {reason} address")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return Destination(url, parts.scheme, host, port or default, target)


def check_webhook(target: WebhookTarget | None, settings: Settings) -> None:
    """A request's ``webhook``: refused (422 ``webhook-url-refused``) before anything runs."""
    if target is not None:
        check_url(target.url, allow_local=settings.webhook_allow_local)


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refusal_reason(address: IpAddress, *, allow_loopback: bool) -> str | None:
    """Why ``address`` must not be called (``None``: it is a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    checks = (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("shared", isinstance(address, ipaddress.IPv4Address) and address in _SHARED),
        ("non-global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


class ResolutionFailed(Exception):
    """The host name did not resolve (now): retried like a refused connection."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (TCP), by the system resolver."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ResolutionFailed(f"{host!r} does not resolve: {exc}") from None
    return [str(info[4][0]) for info in infos]


def vetted_addresses(
    destination: Destination, *, resolver: Resolver, allow_loopback: bool
) -> list[IpAddress]:
    """The addresses to connect to; ``UnsafeDestination`` if any of them is refused.

    Every resolved address must pass (one bad answer refuses the name: a receiver has
    no reason to resolve to an internal address at all).
    """
    literal = _literal(destination.host)
    raw = [str(literal)] if literal is not None else resolver(destination.host, destination.port)
    addresses: list[IpAddress] = []
    for text in raw:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise UnsafeDestination(f"the webhook host resolved to {text!r}") from None
        reason = refusal_reason(address, allow_loopback=allow_loopback)
        if reason:
            raise UnsafeDestination(
                f"the webhook host {destination.host!r} resolves to a {reason} address"
            )
        addresses.append(address)
    if not addresses:
        raise UnsafeDestination(f"the webhook host {destination.host!r} has no address")
    return addresses
