"""The local API Gateway (REST API, proxy integration v1) in front of in-process handlers.

:class:`ApiGatewayShim` (:mod:`local.apigw.shim`) routes, checks API keys, builds the
proxy event (:mod:`local.apigw.proxy_event`) and serves HTTP on loopback
(:mod:`local.apigw.http_server`); docs/local.md describes what it answers.
"""

from local.apigw.gateway_rules import API_GATEWAY_METHODS, GATEWAY_ERRORS, api_key_id
from local.apigw.shim import DEFAULT_API_PORT, MAX_PAYLOAD_BYTES, ApiGatewayShim

__all__ = [
    "API_GATEWAY_METHODS",
    "DEFAULT_API_PORT",
    "GATEWAY_ERRORS",
    "MAX_PAYLOAD_BYTES",
    "ApiGatewayShim",
    "api_key_id",
]
