"""SSRF rules of webhook delivery. Nothing here sends traffic anywhere but 127.0.0.1: names
resolve through a table the test controls, never through real DNS."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from agents.errors import WebhookUrlRefused
from agents.webhooks.destinations import check_url, refusal_reason
from agents.webhooks.transport import post

TIMEOUTS: dict[str, Any] = {"connect_timeout_s": 1.0, "read_timeout_s": 2.0}


def _resolver(table: dict[str, list[str]]) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        return table[host]  # an unknown name is a test bug (KeyError), not a DNS lookup

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://127.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://192.168.1.10/hook",
        "https://100.64.0.1/hook",
        "http://example.com/hook",
        "http://127.0.0.1:8080/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_aws_mode_refuses_the_url_before_any_traffic(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        check_url(url, allow_local=False)


def test_local_mode_allows_only_loopback_over_http() -> None:
    assert check_url("http://127.0.0.1:9/x?y=1", allow_local=True).target == "/x?y=1"
    assert check_url("http://localhost:9/", allow_local=True).host == "localhost"
    for url in ("http://10.0.0.1/", "http://example.com/", "https://169.254.169.254/"):
        with pytest.raises(WebhookUrlRefused):
            check_url(url, allow_local=True)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("169.254.10.1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "private"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_rules(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_loopback=False) == reason


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(receiver_factory: Any) -> None:
    counter = receiver_factory.counter()
    destination = check_url(f"https://hooks.example.test:{counter.port}/x", allow_local=False)
    for answers in (["127.0.0.1"], ["93.184.215.14", "10.0.0.1"], ["::1"]):
        result = post(
            destination,
            "{}",
            {},
            allow_local=False,
            resolver=_resolver({"hooks.example.test": answers}),
            **TIMEOUTS,
        )
        assert result.refused
        assert result.status is None
    assert counter.accepted == 0, "a refused name must not be connected to"


def test_a_name_that_does_not_resolve_is_retried_not_refused() -> None:
    from agents.webhooks.destinations import ResolutionFailed

    def failing(host: str, port: int) -> list[str]:
        raise ResolutionFailed(f"{host!r} does not resolve")

    destination = check_url("https://hooks.example.test/x", allow_local=False)
    result = post(destination, "{}", {}, allow_local=False, resolver=failing, **TIMEOUTS)
    assert not result.refused
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("dns:")


def test_redirects_are_not_followed(receiver_factory: Any) -> None:
    elsewhere = receiver_factory.counter()
    for target in (
        f"http://127.0.0.1:{elsewhere.port}/",
        "http://169.254.169.254/latest/meta-data/",
    ):
        redirecting = receiver_factory([302], extra_headers={"Location": target})
        result = post(
            check_url(redirecting.url, allow_local=True), "{}", {}, allow_local=True, **TIMEOUTS
        )
        assert result.status == 302
        assert not result.delivered, "a redirect is retried like any non-2xx, never followed"
        assert len(redirecting.requests) == 1
    assert elsewhere.accepted == 0


def test_the_connection_goes_to_the_vetted_address_with_the_name_in_host(
    receiver_factory: Any,
) -> None:
    receiver = receiver_factory([204])
    port = receiver.url.split(":")[2].split("/")[0]
    destination = check_url(f"http://localhost:{port}/hook", allow_local=True)
    result = post(
        destination,
        '{"a":1}',
        {"webhook-id": "msg_1"},
        allow_local=True,
        resolver=_resolver({"localhost": ["127.0.0.1"]}),
        **TIMEOUTS,
    )
    assert result.delivered
    [request] = receiver.requests
    assert request.headers["Host"] == f"localhost:{port}"
    assert request.body == '{"a":1}'
