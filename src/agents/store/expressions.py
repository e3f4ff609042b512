"""Builds DynamoDB update and condition expressions with every name and value aliased."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.record_items import to_attr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class ExpressionBuilder:
    """One request's ``UpdateExpression`` plus the placeholders its conditions use.

    ``attribute("status")`` -> ``#status`` and ``value("queued", ...)`` -> ``:queued``
    register the alias in :attr:`attribute_names` / :attr:`attribute_values`, so no
    reserved word or value ever appears in an expression literally.
    """

    def __init__(self) -> None:
        self.set_clauses: list[str] = []
        self.removed: list[str] = []
        self.attribute_names: dict[str, str] = {}
        self.attribute_values: dict[str, AttributeValueTypeDef] = {}

    def attribute(self, name: str) -> str:
        """The ``#name`` placeholder of attribute ``name``."""
        placeholder = f"#{name}"
        self.attribute_names[placeholder] = name
        return placeholder

    def value(self, label: str, value: Any) -> str:
        """The ``:label`` placeholder of ``value`` (pydantic models and enums allowed)."""
        placeholder = f":{label}"
        self.attribute_values[placeholder] = to_attr(value)
        return placeholder

    def set(self, name: str, value: Any) -> ExpressionBuilder:
        """``SET name = value``; a ``None`` value removes the attribute instead."""
        if value is None:
            return self.remove(name)
        self.set_clauses.append(f"{self.attribute(name)} = {self.value('set_' + name, value)}")
        return self

    def set_clause(self, clause: str) -> ExpressionBuilder:
        """A hand-written ``SET`` clause (built with :meth:`attribute` / :meth:`value`)."""
        self.set_clauses.append(clause)
        return self

    def increment(self, name: str, step: int, *, start: int) -> ExpressionBuilder:
        """``SET name = if_not_exists(name, start) + step`` (a counter that may be absent)."""
        attribute = self.attribute(name)
        first, by = self.value("start_" + name, start), self.value("step_" + name, step)
        self.set_clauses.append(f"{attribute} = if_not_exists({attribute}, {first}) + {by}")
        return self

    def remove(self, *names: str) -> ExpressionBuilder:
        self.removed.extend(self.attribute(name) for name in names)
        return self

    def update_expression(self) -> str:
        parts = []
        if self.set_clauses:
            parts.append("SET " + ", ".join(self.set_clauses))
        if self.removed:
            parts.append("REMOVE " + ", ".join(dict.fromkeys(self.removed)))
        return " ".join(parts)
