"""REST APIs from the template: :class:`ApiSpec` and the :class:`ApiRoute` list.

Routes come from the functions' ``Api`` events and from the OpenAPI
``DefinitionBody`` of each ``AWS::Serverless::Api`` (``aws_proxy`` integrations).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from local.template.errors import TemplateError
from local.template.functions import function_events, function_ids
from local.template.local_resources import API_TYPE, LocalResources
from local.template.models import DEFAULT_INTEGRATION_TIMEOUT_MS, ApiRoute, ApiSpec, GatewayResponse
from local.template.sam_globals import global_defaults, merge_globals

__all__ = ["IMPLICIT_API_ID", "api_routes", "api_spec"]

#: The logical id SAM gives the API it creates for ``Api`` events without ``RestApiId``.
IMPLICIT_API_ID = "ServerlessRestApi"

_X_INTEGRATION = "x-amazon-apigateway-integration"
_X_GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"
_X_BINARY = "x-amazon-apigateway-binary-media-types"
_X_ANY_METHOD = "x-amazon-apigateway-any-method"
_HEADER_PARAMETER = "gatewayresponse.header."


class _SchemeKind(StrEnum):
    """What an OpenAPI security scheme asks of a caller."""

    API_KEY = "API_KEY"
    AWS_IAM = "AWS_IAM"
    OTHER = "OTHER"


def _method(name: str) -> str:
    upper = name.upper()
    return "ANY" if upper in {_X_ANY_METHOD.upper(), "ANY"} else upper


def _static_value(value: Any) -> str:
    """A gateway response parameter: ``"'text'"`` is the static value ``text``."""
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _scheme_kind(scheme: Mapping[str, Any]) -> _SchemeKind:
    authtype = str(scheme.get("x-amazon-apigateway-authtype", "")).lower()
    if authtype == "awssigv4":
        return _SchemeKind.AWS_IAM
    if authtype in {"custom", "cognito_user_pools"}:
        return _SchemeKind.OTHER  # an authorizer (local.apigw.authorizer), not an API key
    if scheme.get("type") == "apiKey" and str(scheme.get("name", "")).lower() == "x-api-key":
        return _SchemeKind.API_KEY
    return _SchemeKind.OTHER


def _api_properties(resources: LocalResources, logical_id: str) -> dict[str, Any]:
    defaults = global_defaults(resources.document, "Api")
    if logical_id == IMPLICIT_API_ID and logical_id not in resources.resources:
        props = resources.resolve(defaults)
    else:
        if resources.resource_type(logical_id) != API_TYPE:
            raise TemplateError(f"{logical_id} is not an AWS::Serverless::Api")
        props = resources.resolve(merge_globals(defaults, resources.raw_properties(logical_id)))
    assert isinstance(props, dict)
    return props


def _gateway_responses(
    props: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, GatewayResponse]:
    """OpenAPI ``x-amazon-apigateway-gateway-responses``, then SAM ``GatewayResponses``."""
    responses: dict[str, GatewayResponse] = {}
    for kind, spec in (body.get(_X_GATEWAY_RESPONSES) or {}).items():
        headers = {
            name.removeprefix(_HEADER_PARAMETER): _static_value(value)
            for name, value in (spec.get("responseParameters") or {}).items()
            if name.startswith(_HEADER_PARAMETER)
        }
        responses[kind] = GatewayResponse(
            status_code=spec.get("statusCode"),
            headers=headers,
            templates=dict(spec.get("responseTemplates") or {}),
        )
    for kind, spec in (props.get("GatewayResponses") or {}).items():
        params = spec.get("ResponseParameters") or {}
        responses[kind] = GatewayResponse(
            status_code=spec.get("StatusCode"),
            headers={k: _static_value(v) for k, v in (params.get("Headers") or {}).items()},
            templates=dict(spec.get("ResponseTemplates") or {}),
        )
    return responses


def api_spec(resources: LocalResources, logical_id: str = IMPLICIT_API_ID) -> ApiSpec:
    """A REST API: stage, default key requirement, binary types, gateway responses.

    SAM properties (``StageName``, ``Auth``, ``BinaryMediaTypes``, ``GatewayResponses``)
    and the ``DefinitionBody`` extensions; SAM's implicit API uses ``Globals.Api``.
    """
    props = _api_properties(resources, logical_id)
    found = props.get("DefinitionBody")
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    auth = props.get("Auth") or {}
    binary = [*(props.get("BinaryMediaTypes") or []), *body.get(_X_BINARY, [])]
    return ApiSpec(
        logical_id=logical_id,
        stage_name=str(props.get("StageName", "Prod")),
        api_key_required=bool(auth.get("ApiKeyRequired", False)),
        binary_media_types=[str(t).replace("~1", "/") for t in binary],
        gateway_responses=_gateway_responses(props, body),
    )


def _function_for_uri(resources: LocalResources, uri: str) -> str | None:
    """The function an ``aws_proxy`` integration URI invokes (by its ARN)."""
    for function_id in function_ids(resources):
        arn = resources.arn(function_id)
        if f"{arn}/" in uri or f"{arn}:" in uri:
            return function_id
    return None


def _definition_routes(resources: LocalResources, api_id: str) -> list[ApiRoute]:
    """Routes of an Api's OpenAPI ``DefinitionBody`` that proxy to a template function."""
    body = _api_properties(resources, api_id).get("DefinitionBody")
    if not isinstance(body, dict):
        return []
    components = body.get("components") or {}
    schemes: dict[str, Any] = {
        **(body.get("securityDefinitions") or {}),
        **(components.get("securitySchemes") or {}),
    }
    routes: list[ApiRoute] = []
    for path, operations in (body.get("paths") or {}).items():
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            integration = operation.get(_X_INTEGRATION) or {}
            if str(integration.get("type", "")).lower() != "aws_proxy":
                continue
            function_id = _function_for_uri(resources, str(integration.get("uri", "")))
            if function_id is None:
                continue
            security = operation.get("security", body.get("security")) or []
            names = {name for requirement in security for name in requirement}
            kinds = {_scheme_kind(schemes.get(name) or {}) for name in names}
            routes.append(
                ApiRoute(
                    function_logical_id=function_id,
                    event_name=f"{method.upper()} {path}",
                    path=str(path),
                    method=_method(method),
                    rest_api_id=api_id,
                    api_key_required=_SchemeKind.API_KEY in kinds,
                    iam_auth=_SchemeKind.AWS_IAM in kinds,
                    timeout_ms=int(
                        integration.get("timeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)
                    ),
                )
            )
    return routes


def _event_routes(resources: LocalResources, function_id: str) -> list[ApiRoute]:
    """Routes of a function's SAM ``Api`` events."""
    routes: list[ApiRoute] = []
    for name, props in function_events(resources, function_id, "Api"):
        rest_api = props.get("RestApiId") or IMPLICIT_API_ID
        api_id = next(
            (a for a in resources.ids_of(API_TYPE) if resources.physical_name(a) == rest_api),
            str(rest_api),
        )
        api = api_spec(resources, api_id)
        auth = props.get("Auth") or {}
        routes.append(
            ApiRoute(
                function_logical_id=function_id,
                event_name=name,
                path=str(props["Path"]),
                method=_method(str(props.get("Method", "ANY"))),
                rest_api_id=api_id,
                api_key_required=bool(auth.get("ApiKeyRequired", api.api_key_required)),
                iam_auth=auth.get("Authorizer") == "AWS_IAM",
                timeout_ms=int(props.get("TimeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)),
            )
        )
    return routes


def api_routes(resources: LocalResources, logical_id: str | None = None) -> list[ApiRoute]:
    """The API routes of one function (or of every function), most specific first."""
    wanted = [logical_id] if logical_id else function_ids(resources)
    routes = [route for function_id in wanted for route in _event_routes(resources, function_id)]
    for api_id in resources.ids_of(API_TYPE):
        routes.extend(
            r for r in _definition_routes(resources, api_id) if r.function_logical_id in wanted
        )
    return sorted(routes, key=lambda r: r.specificity)
