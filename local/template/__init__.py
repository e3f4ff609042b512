"""Read ``template.yaml`` the way the local stack needs it (see docs/local.md).

:func:`load_document` parses CloudFormation YAML (:mod:`.cfn_yaml`);
:class:`Template` resolves intrinsics (:mod:`.intrinsics`) against local resources
(:mod:`.local_resources`) and extracts the resource model (:mod:`.models`).
"""

from __future__ import annotations

from local.template.cfn_yaml import CloudFormationLoader, load_document, parse_document
from local.template.errors import TemplateError
from local.template.intrinsics import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    NO_VALUE,
)
from local.template.models import (
    DEFAULT_INTEGRATION_TIMEOUT_MS,
    ApiRoute,
    ApiSpec,
    AttributeDefinition,
    BucketSpec,
    FunctionSpec,
    GatewayResponse,
    KeyElement,
    Projection,
    QueueSpec,
    RedrivePolicy,
    SecondaryIndex,
    SqsEventSourceSpec,
    TableSpec,
    match_path,
)
from local.template.rest_api import IMPLICIT_API_ID
from local.template.sam_globals import merge_globals
from local.template.sam_template import Template

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_INTEGRATION_TIMEOUT_MS",
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "IMPLICIT_API_ID",
    "NO_VALUE",
    "ApiRoute",
    "ApiSpec",
    "AttributeDefinition",
    "BucketSpec",
    "CloudFormationLoader",
    "FunctionSpec",
    "GatewayResponse",
    "KeyElement",
    "Projection",
    "QueueSpec",
    "RedrivePolicy",
    "SecondaryIndex",
    "SqsEventSourceSpec",
    "TableSpec",
    "Template",
    "TemplateError",
    "load_document",
    "match_path",
    "merge_globals",
    "parse_document",
]
