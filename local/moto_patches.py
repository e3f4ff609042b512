"""Make moto's DynamoDB behave like DynamoDB where exactly-once depends on it.

moto server answers requests on concurrent threads, and evaluates a
``ConditionExpression`` and applies the write without a lock, so two concurrent
conditional writes on one item can both succeed (observed: two owners claiming
one invocation). Real DynamoDB serialises writes per item. The local stack and
the tests run moto in this process, so one lock around the backend's item
operations restores the guarantee the store's leases rely on.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

#: moto's DynamoDB backend methods that read or write items.
_ITEM_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
)

_lock = threading.RLock()
_saved: dict[str, Callable[..., Any]] = {}


def make_dynamodb_linearizable() -> None:
    """Serialise moto's DynamoDB item operations (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    with _lock:
        if _saved:
            return
        for name in _ITEM_OPERATIONS:
            original = getattr(DynamoDBBackend, name)
            _saved[name] = original

            def locked(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
                with _lock:
                    return _original(*args, **kwargs)

            setattr(DynamoDBBackend, name, functools.wraps(original)(locked))


def restore_dynamodb() -> None:
    """Undo :func:`make_dynamodb_linearizable`."""
    from moto.dynamodb.models import DynamoDBBackend

    with _lock:
        for name, original in _saved.items():
            setattr(DynamoDBBackend, name, original)
        _saved.clear()
