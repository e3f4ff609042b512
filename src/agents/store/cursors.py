"""Opaque listing cursors, bound to the scope (tenant or batch) they were issued for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from agents.errors import BadRequest
from agents.records import is_valid_id

MAX_CURSOR_CHARS = 1024
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def encode_cursor(scope: str, last_id: str, created_at: str) -> str:
    """The partition key is never carried: it always comes from the (authenticated) caller."""
    payload = json.dumps({"v": 1, "s": _scope_tag(scope), "i": last_id, "c": created_at})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str, key_name: str, key: str) -> dict[str, Any]:
    """The ExclusiveStartKey for ``cursor``; the partition key is the caller's, not the cursor's.

    A cursor that was tampered with or issued for another scope -> ``BadRequest``.
    """
    invalid = BadRequest("invalid pagination cursor", parameter="cursor")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict) or data.get("v") != 1 or data.get("s") != _scope_tag(scope):
        raise invalid
    last_id, created_at = data.get("i"), data.get("c")
    if not isinstance(last_id, str) or not is_valid_id(last_id):
        raise invalid
    if not isinstance(created_at, str) or not _ISO_RE.match(created_at):
        raise invalid
    return {"id": {"S": last_id}, key_name: {"S": key}, "created_at": {"S": created_at}}
