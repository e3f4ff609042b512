"""The invocation store: DynamoDB records with conditional lifecycle writes, S3 offload, DLQ.

See docs/architecture.md ("Store") for the fields, the state machine, the lease, the
offload and the argument for "every FAILED invocation lands in the DLQ exactly once".
"""

from __future__ import annotations

from agents.errors import RedriveRefused
from agents.store.invocation_store import InvocationStore, get_store
from agents.store.lifecycle import DLQ_CLAIM_STALE_SECONDS, MAX_ITEM_BYTES
from agents.store.listing import BY_BATCH_INDEX, BY_TENANT_INDEX, MAX_LIST_LIMIT
from agents.store.payloads import MAX_INLINE_PAYLOAD_BYTES

__all__ = [
    "BY_BATCH_INDEX",
    "BY_TENANT_INDEX",
    "DLQ_CLAIM_STALE_SECONDS",
    "MAX_INLINE_PAYLOAD_BYTES",
    "MAX_ITEM_BYTES",
    "MAX_LIST_LIMIT",
    "InvocationStore",
    "RedriveRefused",
    "get_store",
]
