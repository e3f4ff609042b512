"""The JSON Schema envelope Claude Code gives its tools' inputs."""

from __future__ import annotations

from typing import Any

__all__ = ["tool_schema"]


def tool_schema(properties: dict[str, Any], *, required: list[str]) -> dict[str, Any]:
    """``{"type": "object", "properties": ..., "required": ..., ...}`` (draft-07, closed)."""
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "$schema": "http://json-schema.org/draft-07/schema#",
    }
