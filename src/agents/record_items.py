"""Records as DynamoDB items: the only conversion to and from attribute values.

Floats become ``Decimal`` and back, and ``None`` fields are omitted (sparse GSI keys).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agents.records import KIND_BATCH, KIND_INVOCATION, BatchRecord, InvocationRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = [
    "batch_from_item",
    "from_item",
    "item_size",
    "item_to_python",
    "to_attr",
    "to_item",
]


def _to_dynamo(value: Any) -> Any:
    """JSON-mode Python -> values TypeSerializer accepts (floats -> Decimal, None dropped)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode()
    return value


def to_attr(value: Any) -> AttributeValueTypeDef:
    """One Python value (pydantic models allowed) -> a DynamoDB attribute value."""
    from boto3.dynamodb.types import TypeSerializer

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, StrEnum):
        value = value.value
    converted = _to_dynamo(value)
    if converted is None:
        return {"NULL": True}
    result: AttributeValueTypeDef = TypeSerializer().serialize(converted)
    return result


def to_item(record: BaseModel) -> dict[str, AttributeValueTypeDef]:
    """A record -> a DynamoDB item (``None`` fields omitted; batches store ``batch_tenant``)."""
    data = record.model_dump(mode="json", exclude_none=True)
    if isinstance(record, BatchRecord):
        data["batch_tenant"] = data.pop("tenant")
    return {key: to_attr(value) for key, value in data.items()}


def item_to_python(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: _from_dynamo(deserializer.deserialize(value)) for key, value in item.items()}


def from_item(item: dict[str, Any]) -> InvocationRecord:
    """A DynamoDB item -> :class:`InvocationRecord` (raises ``ValueError`` for a batch item)."""
    data = item_to_python(item)
    if data.get("kind", KIND_INVOCATION) != KIND_INVOCATION:
        raise ValueError(f"item {data.get('id')!r} is a {data.get('kind')}, not an invocation")
    return InvocationRecord.model_validate(data)


def batch_from_item(item: dict[str, Any]) -> BatchRecord:
    data = item_to_python(item)
    if data.get("kind") != KIND_BATCH:
        raise ValueError(f"item {data.get('id')!r} is not a batch")
    data["tenant"] = data.pop("batch_tenant", "")
    return BatchRecord.model_validate(data)


def item_size(item: dict[str, Any]) -> int:
    """An upper-bound estimate of a DynamoDB item's size in bytes (names + values)."""

    def size(value: Any) -> int:
        if isinstance(value, dict) and len(value) == 1:
            ((kind, inner),) = value.items()
            if kind in {"S", "N"}:
                return len(str(inner).encode())
            if kind == "B":
                return len(inner)
            if kind in {"BOOL", "NULL"}:
                return 1
            if kind == "M":
                return 3 + sum(len(k.encode()) + 1 + size(v) for k, v in inner.items())
            if kind == "L":
                return 3 + sum(1 + size(v) for v in inner)
            if kind in {"SS", "NS", "BS"}:
                return sum(len(str(v).encode()) for v in inner)
        return len(str(value).encode())

    return sum(len(name.encode()) + size(value) for name, value in item.items())
