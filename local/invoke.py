"""The ``sam local invoke`` stand-in: run one function of template.yaml in-process.

``agw local invoke ApiFunction -e events/x.json`` reads the template, resolves
the function's handler, ``CodeUri``, ``Timeout``/``MemorySize`` and environment
(``Ref``/``GetAtt`` -> the local stack's names, URLs and ARNs), applies an
``--env-vars`` file in SAM's format, imports the handler and calls it with the
event and a Lambda-like context whose remaining time starts at the template's
``Timeout``. The function's boto3 calls go to the local stack's moto server:
``--aws-endpoint``, else ``$AWS_ENDPOINT_URL``, else
the running ``agw dev`` stack's (``.agw/dev.json``), else
``http://127.0.0.1:5050`` (``agw dev``'s default ``--aws-port``). The model
endpoint and key source are the dev stack's too (:func:`model_environment`).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from local.aws_stack import DEFAULT_AWS_PORT, LOCAL_CREDENTIALS
from local.dev_file import DevFile
from local.lambda_context import context_for
from local.runtime import Handler, load_handler, patched_environ
from local.template import DEFAULT_STACK_NAME, FunctionSpec, Template, TemplateError

__all__ = [
    "DEFAULT_AWS_ENDPOINT",
    "DEFAULT_MODEL_PORT",
    "InvokeResult",
    "docker_env_vars",
    "function_environment",
    "invoke_function",
    "load_env_vars",
    "model_environment",
    "resolve_endpoint",
]

DEFAULT_AWS_ENDPOINT = f"http://127.0.0.1:{DEFAULT_AWS_PORT}"
#: The fake Messages API port ``events/env.json`` assumes (``agw dev --model-port``).
DEFAULT_MODEL_PORT = 8899
#: A placeholder, not a secret: the fake Messages API accepts any key.
OFFLINE_API_KEY = "offline-local-model"


def resolve_endpoint(
    flag: str | None, environ: Mapping[str, str] | None = None, dev: DevFile | None = None
) -> str:
    """``--aws-endpoint``, else ``$AWS_ENDPOINT_URL``, else the running dev stack's,
    else ``agw dev``'s default."""
    env = os.environ if environ is None else environ
    found = flag or env.get("AWS_ENDPOINT_URL") or (dev.aws_url if dev else None)
    return (found or DEFAULT_AWS_ENDPOINT).rstrip("/")


def model_environment(
    dev: DevFile | None,
    model_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_KEY`` for a locally invoked function.

    ``--model-endpoint`` wins (with the shell's key, else the offline placeholder);
    else the running dev stack's model and key source (``.agw/dev.json``: the
    placeholder for the offline model, the shell's ``ANTHROPIC_API_KEY`` for the
    real API, as ``agw dev`` passes it); else nothing (the shell's values, as the
    SDK reads them).
    """
    env = os.environ if environ is None else environ
    shell_key = env.get("ANTHROPIC_API_KEY", "").strip()
    if model_endpoint:
        return {
            "ANTHROPIC_BASE_URL": model_endpoint.rstrip("/"),
            "ANTHROPIC_API_KEY": shell_key or OFFLINE_API_KEY,
        }
    if dev is None:
        return {}
    values: dict[str, str] = {}
    if dev.model.base_url:
        values["ANTHROPIC_BASE_URL"] = dev.model.base_url
    if dev.model.key_source == "offline-placeholder":
        values["ANTHROPIC_API_KEY"] = dev.model.offline_api_key or OFFLINE_API_KEY
    elif shell_key:
        values["ANTHROPIC_API_KEY"] = shell_key
    return values


def load_env_vars(path: Path | str) -> dict[str, dict[str, str]]:
    """An ``--env-vars`` file: ``{"<LogicalId>": {"VAR": "value"}, "Parameters": {...}}``.

    As in SAM, ``Parameters`` holds variables for every function (not template
    parameters) and a function's own entry wins over it.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"--env-vars {file}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise TemplateError(
            f'--env-vars {file}: expected {{"<LogicalId>": {{"VAR": "value"}}, '
            '"Parameters": {...}}'
        )
    return {
        section: {str(k): "" if v is None else str(v) for k, v in values.items()}
        for section, values in data.items()
    }


def function_environment(
    function: FunctionSpec,
    env_vars: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The template's environment for ``function`` with ``--env-vars`` applied.

    SAM only overrides variables the template declares for the function; the
    names it ignored are returned so the caller can say so.
    """
    env = dict(function.environment)
    ignored: list[str] = []
    for section in ("Parameters", function.logical_id):
        for name, value in (env_vars or {}).get(section, {}).items():
            if name in env:
                env[name] = value
            elif section == function.logical_id:
                ignored.append(name)
    return env, ignored


def runtime_environment(function: FunctionSpec, endpoint_url: str, region: str) -> dict[str, str]:
    """What Lambda and ``sam local`` add: function identity, region, local endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        **LOCAL_CREDENTIALS,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
        "AWS_SAM_LOCAL": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


class InvokeResult(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    function: str
    response: Any = None
    #: Lambda's error shape (``errorMessage``, ``errorType``, ``stackTrace``) when it raised.
    error: dict[str, Any] | None = None
    duration_ms: float
    remaining_ms: int
    ignored_env_vars: list[str] = []


def invoke_function(
    template: Template,
    logical_id: str,
    event: Any,
    *,
    env_vars: Mapping[str, Mapping[str, str]] | None = None,
    handler: Handler | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> InvokeResult:
    """Run ``logical_id``'s handler once with ``event``; the environment is
    restored afterwards (the handler module stays imported). ``extra_env``
    (e.g. :func:`model_environment`) is set last."""
    function = template.function(logical_id)
    env, ignored = function_environment(function, env_vars)
    env.update(runtime_environment(function, template.endpoint_url, template.region))
    env.update(extra_env or {})
    with patched_environ(env):
        run = handler or load_handler(function)
        context = context_for(function)
        started = time.perf_counter()
        try:
            response = run(event, context)
        except Exception as exc:  # noqa: BLE001 - reported like Lambda does, not hidden
            return InvokeResult(
                function=logical_id,
                error={
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_exception(exc)[1:],
                },
                duration_ms=(time.perf_counter() - started) * 1000,
                remaining_ms=context.get_remaining_time_in_millis(),
                ignored_env_vars=ignored,
            )
        return InvokeResult(
            function=logical_id,
            response=response,
            duration_ms=(time.perf_counter() - started) * 1000,
            remaining_ms=context.get_remaining_time_in_millis(),
            ignored_env_vars=ignored,
        )


def load_template(
    path: Path | str,
    *,
    endpoint_url: str,
    region: str,
    stack_name: str = DEFAULT_STACK_NAME,
    parameter_overrides: Mapping[str, str] | None = None,
) -> Template:
    return Template.load(
        path,
        endpoint_url=endpoint_url,
        region=region,
        stack_name=stack_name,
        parameter_overrides=parameter_overrides,
    )


def read_event(source: str | None) -> Any:
    """The event: a JSON file, ``-`` for stdin, ``None`` for ``{}`` (as SAM)."""
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise TemplateError(f"event {source}: {exc}") from None


def docker_env_vars(
    template_path: Path | str,
    *,
    host: str = "host.docker.internal",
    aws_port: int = DEFAULT_AWS_PORT,
    model_port: int = DEFAULT_MODEL_PORT,
    stack_name: str = DEFAULT_STACK_NAME,
) -> dict[str, dict[str, str]]:
    """``events/env.json``: ``sam local invoke --env-vars`` values that point a
    function in a Docker container at the ``agw dev`` stack on the host.

    Holds the template's variables that name local resources (those whose
    value changes with the stack name or endpoint: tables, queue URLs, the
    bucket) resolved for ``http://{host}:{aws_port}``, plus the endpoint, the
    Anthropic base URL (fake Messages API) and key settings.
    """
    endpoint = f"http://{host}:{aws_port}"
    local = Template.load(template_path, endpoint_url=endpoint, stack_name=stack_name)
    probe = Template.load(
        template_path, endpoint_url="http://probe.invalid:1", stack_name=f"probe-{stack_name}"
    )
    values: dict[str, str] = {}
    for function in local.functions():
        other = probe.function(function.logical_id).environment
        for name, value in function.environment.items():
            if other.get(name) != value:
                values[name] = value
    values.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "ANTHROPIC_BASE_URL": f"http://{host}:{model_port}",
            "ANTHROPIC_API_KEY": OFFLINE_API_KEY,
            "ANTHROPIC_API_KEY_SECRET": "",
        }
    )
    return {"Parameters": dict(sorted(values.items()))}
