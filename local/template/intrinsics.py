"""The intrinsic-function engine: parameters, conditions, ``Ref``, ``Fn::*`` resolution.

Resource references (``Ref`` of a resource, ``Fn::GetAtt``) are answered by a
subclass (:class:`local.template.local_resources.LocalResources`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from local.template.errors import TemplateError

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "NO_VALUE",
    "IntrinsicEngine",
    "text_value",
]

DEFAULT_STACK_NAME = "agent-gateway-local"
DEFAULT_REGION = "us-east-1"
#: moto's default account.
DEFAULT_ACCOUNT_ID = "123456789012"

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = frozenset({"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"})


class _NoValue:
    """``AWS::NoValue``: removes the enclosing key or list item."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


def text_value(value: Any) -> str:
    """A resolved value as CloudFormation writes it into a string (env vars, ``Sub``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class IntrinsicEngine:
    """Resolves a template document's intrinsic functions."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        parameter_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.document = dict(document)
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameter_overrides = dict(parameter_overrides or {})
        self.parameters = self._parameter_values(self.parameter_overrides)
        self._condition_values: dict[str, bool] = {}
        self._conditions_in_progress: set[str] = set()

    # ---------------------------------------------------------------- parameters

    def _parameter_values(self, overrides: Mapping[str, str]) -> dict[str, str]:
        declared: dict[str, Any] = self.document.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            if name in overrides:
                value: Any = overrides[name]
            elif isinstance(spec, dict) and "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(
                    f"template parameter {name} has no Default: pass a value for it"
                )
            allowed = spec.get("AllowedValues") if isinstance(spec, dict) else None
            text = text_value(value) if not isinstance(value, list) else ",".join(map(str, value))
            if allowed and text not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={text!r} is not one of {allowed}")
            values[name] = text
        return values

    # ---------------------------------------------------------------- references

    def _pseudo_parameters(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
                f"{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }

    def ref(self, name: str) -> Any:
        """``Ref``: ``AWS::NoValue``, a pseudo parameter, a parameter or a resource."""
        if name == "AWS::NoValue":
            return NO_VALUE
        pseudo = self._pseudo_parameters()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.resource_ref(name)

    def resource_ref(self, logical_id: str) -> Any:
        """``Ref`` of a resource; a subclass knows the resources."""
        raise TemplateError(f"Ref {logical_id} cannot be resolved: no resources known")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """``Fn::GetAtt``; a subclass knows the resources."""
        raise TemplateError(f"GetAtt {logical_id}.{attribute} cannot be resolved")

    # ---------------------------------------------------------------- conditions

    def condition(self, name: str) -> bool:
        if name in self._condition_values:
            return self._condition_values[name]
        conditions: dict[str, Any] = self.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        if name in self._conditions_in_progress:
            raise TemplateError(f"condition {name!r} refers to itself")
        self._conditions_in_progress.add(name)
        try:
            value = self._truth(conditions[name])
        finally:
            self._conditions_in_progress.discard(name)
        self._condition_values[name] = value
        return value

    def _truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, arg),) = expression.items()
            if key == "Condition":
                return self.condition(str(arg))
            if key == "Fn::Equals":
                left, right = (self.resolve(x) for x in arg)
                return text_value(left) == text_value(right)
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(x) for x in arg)
            if key == "Fn::Or":
                return any(self._truth(x) for x in arg)
        value = self.resolve(expression)
        if isinstance(value, bool):
            return value
        raise TemplateError(f"not a condition: {expression!r}")

    # ---------------------------------------------------------------- functions

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub needs a string, got {text!r}")

        def replace(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return text_value(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return text_value(self.get_att(resource, attribute))
            return text_value(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self.ref(str(arg))
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
            return self.get_att(str(parts[0]), str(self.resolve(parts[1])))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            separator, items = arg
            values = self.resolve(items)
            return str(separator).join(text_value(v) for v in values)
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(str(separator))
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self.resolve(when_true if self.condition(str(name)) else when_false)
        if key in _CONDITION_FUNCTIONS:
            return self._truth({key: arg})
        if key == "Fn::FindInMap":
            mapping, top, second = (self.resolve(x) for x in arg)
            try:
                return self.document["Mappings"][mapping][top][second]
            except (KeyError, TypeError):
                raise TemplateError(f"Fn::FindInMap {mapping}.{top}.{second} not found") from None
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        raise TemplateError(f"{key} cannot be resolved locally")

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function in ``value`` (recursively)."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or (key.startswith("Fn::") and key != "Fn::Transform"):
                    return self._intrinsic(key, arg)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        return value
