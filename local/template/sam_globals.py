"""SAM's ``Globals`` section and its merge rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["global_defaults", "merge_globals"]


def global_defaults(document: Mapping[str, Any], section: str) -> dict[str, Any]:
    """``Globals.<section>`` (``Function``, ``Api`` ...), or an empty mapping."""
    found = (document.get("Globals") or {}).get(section) or {}
    assert isinstance(found, dict)
    return found


def merge_globals(defaults: Any, own: Any) -> Any:
    """SAM's Globals rules: maps merge, lists concatenate, scalars: the resource wins."""
    if isinstance(defaults, dict) and isinstance(own, dict):
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = merge_globals(defaults[key], value) if key in defaults else value
        return merged
    if isinstance(defaults, list) and isinstance(own, list):
        return [*defaults, *own]
    return own
