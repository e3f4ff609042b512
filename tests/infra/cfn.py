"""Helpers for the infrastructure tests: read template.yaml, find the tools venvs.

The template is read with the local stack's CloudFormation loader
(:func:`local.template.load_document`): short-form tags become long forms.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from local.template import load_document, merge_globals

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

#: Where ``make tools`` puts SAM CLI + cfn-lint and checkov (two venvs: their pins clash).
TOOLS_DIR = Path(os.environ.get("AGW_TOOLS_DIR", str(ROOT / ".tools")))


@cache
def template() -> dict[str, Any]:
    """template.yaml, parsed once per test session (callers must not mutate it)."""
    return load_document(TEMPLATE)


def resources(of_type: str | None = None) -> dict[str, dict[str, Any]]:
    res: dict[str, dict[str, Any]] = template()["Resources"]
    return {k: v for k, v in res.items() if of_type is None or v["Type"] == of_type}


def function_properties(logical_id: str) -> dict[str, Any]:
    """A function's properties with ``Globals.Function`` merged in (SAM's merge rules)."""
    globals_fn: dict[str, Any] = template().get("Globals", {}).get("Function", {})
    own: dict[str, Any] = resources()[logical_id]["Properties"]
    merged: dict[str, Any] = merge_globals(globals_fn, own)
    return merged


def parameter_defaults() -> dict[str, str]:
    params: dict[str, dict[str, Any]] = template().get("Parameters", {})
    return {name: str(p.get("Default", "")) for name, p in params.items()}


_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")


def canonical(value: Any) -> str:
    """A resource reference as a comparable string: ``{"Fn::GetAtt": ["T", "Arn"]}`` ->
    ``<T>``, ``{"Fn::Sub": "${B.Arn}/agents/*"}`` -> ``<B>/agents/*``, ``{"Ref": "P"}`` ->
    ``<P>``. Attribute names other than Arn are kept (``<Q.QueueName>``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            target, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return f"<{target}>" if attribute == "Arn" else f"<{target}.{attribute}>"
        if fn == "Fn::Sub" and isinstance(arg, str):
            return _SUB_VAR.sub(lambda m: "<" + m.group(1).removesuffix(".Arn") + ">", arg)
    raise AssertionError(f"cannot canonicalise resource reference {value!r}")


def resolve_env(variables: dict[str, Any]) -> dict[str, str]:
    """Environment values as the function would see them with the parameter defaults;
    references to resources become recognisable placeholders (``<InvocationsTable>``)."""
    defaults = parameter_defaults()
    out: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in defaults:
            out[name] = defaults[value["Ref"]]
        else:
            out[name] = canonical(value)
    return out


def tool(venv: str, executable: str) -> Path:
    """An executable from a tools venv, or a failure that says how to get it."""
    path = TOOLS_DIR / venv / "bin" / executable
    assert path.exists(), (
        f"{path} is missing: run `make tools` (make test and make pytest do it first)"
    )
    return path


def tool_env() -> dict[str, str]:
    """Environment for SAM CLI / cfn-lint / checkov: no telemetry, no update checks."""
    env = dict(os.environ)
    env.update(
        {
            "SAM_CLI_TELEMETRY": "0",
            "SAM_CLI_DISABLE_UPDATE_CHECK": "1",
            "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
            "BC_SKIP_MAPPING": "TRUE",
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
    )
    # The venvs are self-contained; a caller's venv must not leak in.
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def run_tool(
    args: list[str], *, timeout: float, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
