"""Functions from the template: :class:`FunctionSpec`, events, the SQS event source."""

from __future__ import annotations

from typing import Any

from local.template.errors import TemplateError
from local.template.intrinsics import text_value
from local.template.local_resources import FUNCTION_TYPES, QUEUE_TYPE, LocalResources
from local.template.models import FunctionSpec, SqsEventSourceSpec
from local.template.sam_globals import global_defaults, merge_globals

__all__ = [
    "function_events",
    "function_ids",
    "function_properties",
    "function_spec",
    "sqs_event_source",
]

_EVENT_SOURCE_MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"


def function_ids(resources: LocalResources) -> list[str]:
    return resources.ids_of(FUNCTION_TYPES)


def function_properties(resources: LocalResources, logical_id: str) -> dict[str, Any]:
    """A function's properties, ``Globals.Function`` merged in (SAM functions), resolved."""
    if resources.resource_type(logical_id) not in FUNCTION_TYPES:
        raise TemplateError(
            f"{logical_id} is not a function (known: {', '.join(function_ids(resources))})"
        )
    own = resources.raw_properties(logical_id)
    if resources.resource_type(logical_id) == "AWS::Serverless::Function":
        own = merge_globals(global_defaults(resources.document, "Function"), own)
    resolved = resources.resolve(own)
    assert isinstance(resolved, dict)
    return resolved


def function_spec(resources: LocalResources, logical_id: str) -> FunctionSpec:
    props = function_properties(resources, logical_id)
    code = props.get("CodeUri", props.get("Code", "."))
    if not isinstance(code, str):
        raise TemplateError(
            f"{logical_id}: CodeUri {code!r} is not a local path; the local stack "
            "runs code from the working tree"
        )
    handler = props.get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: Handler must look like 'module.function'")
    variables = (props.get("Environment") or {}).get("Variables") or {}
    return FunctionSpec(
        logical_id=logical_id,
        function_name=resources.physical_name(logical_id),
        arn=resources.arn(logical_id),
        handler=handler,
        code_uri=(resources.base_dir / code).resolve(),
        runtime=props.get("Runtime"),
        timeout=int(props.get("Timeout", 3)),
        memory_size=int(props.get("MemorySize", 128)),
        environment={k: text_value(v) for k, v in variables.items()},
        layers=[text_value(x) for x in props.get("Layers") or []],
    )


def function_events(
    resources: LocalResources, logical_id: str, kind: str
) -> list[tuple[str, dict[str, Any]]]:
    """``(name, properties)`` of the function's SAM events of type ``kind`` (``Api``, ``SQS``)."""
    events = function_properties(resources, logical_id).get("Events") or {}
    return [
        (name, body.get("Properties") or {})
        for name, body in events.items()
        if isinstance(body, dict) and body.get("Type") == kind
    ]


def _invokes(resources: LocalResources, function_id: str, reference: str) -> bool:
    """Whether a ``FunctionName`` (name, ARN, alias/version ARN) is this function."""
    arn = resources.arn(function_id)
    return reference in {resources.physical_name(function_id), arn} or reference.startswith(
        arn + ":"
    )


def sqs_event_source(resources: LocalResources, logical_id: str) -> SqsEventSourceSpec | None:
    """The function's SQS trigger, if it has one: a SAM ``SQS`` event or an
    ``AWS::Lambda::EventSourceMapping`` whose source is one of the template's queues."""
    queue_arns = {resources.arn(q): q for q in resources.ids_of(QUEUE_TYPE)}
    found: list[tuple[str, dict[str, Any], str]] = [
        (name, props, str(props.get("Queue", "")))
        for name, props in function_events(resources, logical_id, "SQS")
    ]
    for mapping_id in resources.ids_of(_EVENT_SOURCE_MAPPING_TYPE):
        props = resources.properties(mapping_id)
        source = str(props.get("EventSourceArn", ""))
        if source in queue_arns and _invokes(resources, logical_id, str(props.get("FunctionName"))):
            found.append((mapping_id, props, source))
    if not found:
        return None
    if len(found) > 1:
        raise TemplateError(f"{logical_id} has {len(found)} SQS triggers; expected one")
    (name, props, queue_arn) = found[0]
    scaling = props.get("ScalingConfig") or {}
    return SqsEventSourceSpec(
        function_logical_id=logical_id,
        event_name=name,
        queue_logical_id=queue_arns.get(queue_arn),
        queue_arn=queue_arn,
        batch_size=int(props.get("BatchSize", 10)),
        maximum_batching_window_in_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
        function_response_types=list(props.get("FunctionResponseTypes") or []),
        maximum_concurrency=(
            int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None
        ),
        enabled=props.get("Enabled", True) not in {False, "false"},
    )
