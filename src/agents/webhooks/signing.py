"""Standard Webhooks headers, signed with the ``standardwebhooks`` package.

``webhook-signature`` holds one ``v1,<base64>`` per signing secret, space-separated: the
current secret's, and during a rotation's grace period the previous one's too, so a
receiver verifies with whichever secret it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["signed_headers"]


def signed_headers(msg_id: str, body: str, secrets: Sequence[str], *, now: float) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for one attempt."""
    from standardwebhooks import Webhook

    if not secrets:
        raise ValueError("a webhook needs at least one signing secret")
    moment = datetime.fromtimestamp(int(now), tz=UTC)
    signatures = [Webhook(secret).sign(msg_id, moment, body) for secret in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": " ".join(signatures),
    }
