"""The WebhookFunction's core: fan events out to deliveries, attempt them, retry, give up.

* An event (:class:`WebhookEvent`) becomes one delivery per target: the request's own URL
  and each active subscription of the tenant for that event type. An event of a batch
  item also counts the item as finished; the item that completes the batch announces
  ``batch.completed``.
* A delivery (:class:`WebhookDelivery`) is attempted when due: signed afresh, POSTed to a
  vetted address. 2xx: delivered. 410: the subscription is disabled (a request's own URL:
  delivery stops). Anything else: re-enqueued for the next attempt of
  ``WEBHOOK_RETRY_SCHEDULE`` with the same ``webhook-id`` and body; after the last, the
  webhook DLQ. A URL refused by the SSRF rules goes to the DLQ at once.

:meth:`WebhookProcessor.handle` raises only when the message must come back (an AWS call
failed): the handler then reports it as a batch item failure.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from agents.observability import logger
from agents.webhooks.destinations import Resolver, UnsafeDestination, check_url
from agents.webhooks.messages import (
    TERMINAL_EVENT_TYPES,
    WebhookDelivery,
    WebhookEvent,
    webhook_id,
)
from agents.webhooks.signing import signed_headers
from agents.webhooks.subscriptions import (
    Subscription,
    disable_subscription,
    get_subscription,
    list_subscriptions,
)
from agents.webhooks.transport import AttemptResult, post

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.records import BatchRecord
    from agents.store.batches import BatchRecords
    from agents.tenants.table import TenantsTable
    from agents.webhooks.queues import WebhookQueues
    from agents.webhooks.tenant_secrets import SigningSecret, TenantSecrets

__all__ = ["SECRET_MAX_AGE_S", "WebhookProcessor"]

#: Seconds a tenant's signing secret is reused before it is read again (rotation lag).
SECRET_MAX_AGE_S: Final = 60.0
#: A delivery that arrives this much before its due time is attempted anyway.
_EARLY_S: Final = 0.5


@dataclass(kw_only=True, eq=False)
class WebhookProcessor:
    """One per container (built by :func:`agents.webhooks.runtime.get_processor`)."""

    settings: Settings
    queues: WebhookQueues
    secrets: TenantSecrets
    subscriptions: TenantsTable | None
    batches: BatchRecords | None
    resolver: Resolver | None = None
    clock: Callable[[], float] = time.time
    #: Tenant -> (when read, its signing secret), reused for :data:`SECRET_MAX_AGE_S`.
    _secrets: dict[str, tuple[float, SigningSecret]] = field(
        init=False, default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    # --- dispatch ----------------------------------------------------------------------

    def handle(self, body: str) -> str:
        """Process one queue message; returns what happened (for logs and tests)."""
        try:
            data = json.loads(body)
            kind = data.get("kind") if isinstance(data, dict) else None
            if kind == "event":
                return self.fan_out(WebhookEvent.model_validate(data))
            if kind == "delivery":
                return self.attempt(WebhookDelivery.model_validate(data))
        except (ValueError, ValidationError):
            pass
        logger.error("malformed webhook message", extra={"bytes": len(body)})
        self.queues.dead_letter(body, reason="malformed")
        return "malformed"

    # --- events ------------------------------------------------------------------------

    def fan_out(self, event: WebhookEvent) -> str:
        """One delivery per target; for a batch item, the batch bookkeeping too."""
        targets: list[tuple[str, str | None]] = []
        if event.url:
            targets.append((event.url, None))
        targets.extend((s.url, s.subscription_id) for s in self._subscribed(event))
        body = event.payload(self.settings.webhook_link_base)
        deliveries = [
            WebhookDelivery(
                id=event.id,
                type=event.type,
                tenant=event.tenant,
                url=url,
                subscription_id=subscription_id,
                body=body,
            )
            for url, subscription_id in targets
        ]
        if deliveries:
            self.queues.enqueue_all(deliveries)
        if event.batch_id and event.invocation_id and event.type in TERMINAL_EVENT_TYPES:
            # Only an item's end counts: a WAITING item is not finished (decision 16.62).
            self._count_batch_item(event.batch_id, event.invocation_id)
        logger.info(
            "webhook event fanned out",
            extra={"event": event.type, "webhook_id": event.id, "targets": len(deliveries)},
        )
        return f"fanned-out:{len(deliveries)}"

    def _subscribed(self, event: WebhookEvent) -> list[Subscription]:
        if self.subscriptions is None:
            return []
        return [
            s for s in list_subscriptions(self.subscriptions, event.tenant) if s.wants(event.type)
        ]

    def _count_batch_item(self, batch_id: str, invocation_id: str) -> None:
        if self.batches is None:
            return
        batch = self.batches.record_item_finished(batch_id, invocation_id)
        if batch is None or batch.completed_at is not None:
            return
        if len(batch.finished_items or ()) < batch.item_count:
            return
        self.fan_out(_batch_completed(batch, self.clock()))
        self.batches.mark_batch_announced(batch_id)

    # --- deliveries --------------------------------------------------------------------

    def attempt(self, delivery: WebhookDelivery) -> str:
        """Attempt ``delivery`` if it is due (else put it back with the remaining delay)."""
        now = self.clock()
        if delivery.not_before > now + _EARLY_S:
            self.queues.enqueue(delivery, delay_s=delivery.not_before - now)
            return "deferred"
        if delivery.subscription_id and not self._still_subscribed(delivery):
            return "unsubscribed"
        allow_local = self.settings.webhook_allow_local
        try:
            destination = check_url(delivery.url, allow_local=allow_local)
        except UnsafeDestination as exc:
            return self._give_up(delivery, f"refused: {exc.detail}")
        secret = self._secret(delivery.tenant, now)
        headers = signed_headers(delivery.id, delivery.body, secret.signing(now), now=now)
        result = post(
            destination,
            delivery.body,
            headers,
            allow_local=allow_local,
            connect_timeout_s=self.settings.webhook_connect_timeout_s,
            read_timeout_s=self.settings.webhook_read_timeout_s,
            resolver=self.resolver,
        )
        return self._outcome(delivery, result, now)

    def _outcome(self, delivery: WebhookDelivery, result: AttemptResult, now: float) -> str:
        log = {
            "webhook_id": delivery.id,
            "event": delivery.type,
            "attempt": delivery.attempt,
            "status": result.status,
            "elapsed_ms": result.elapsed_ms,
            "subscription_id": delivery.subscription_id,
        }
        if result.delivered:
            logger.info("webhook delivered", extra=log)
            return "delivered"
        if result.refused:
            return self._give_up(delivery, f"refused: {result.error}")
        if result.status == 410:
            logger.warning("webhook receiver gone (410)", extra=log)
            if delivery.subscription_id and self.subscriptions is not None:
                disable_subscription(self.subscriptions, delivery.subscription_id, "410 Gone")
                return "disabled"
            return "gone"
        error = f"HTTP {result.status}" if result.status is not None else str(result.error)
        schedule = self.settings.webhook_retry_schedule
        if delivery.attempt > len(schedule):
            return self._give_up(delivery.model_copy(update={"last_error": error}), error)
        delay = schedule[delivery.attempt - 1]
        retry = delivery.model_copy(
            update={
                "attempt": delivery.attempt + 1,
                "not_before": now + delay,
                "first_attempt_at": delivery.first_attempt_at or now,
                "last_error": error,
            }
        )
        self.queues.enqueue(retry, delay_s=delay)
        logger.info("webhook retry scheduled", extra={**log, "error": error, "delay_s": delay})
        return "retry"

    def _give_up(self, delivery: WebhookDelivery, reason: str) -> str:
        logger.warning(
            "webhook delivery dead-lettered",
            extra={"webhook_id": delivery.id, "attempt": delivery.attempt, "reason": reason},
        )
        body = delivery.model_copy(update={"last_error": reason}).model_dump_json()
        self.queues.dead_letter(body, reason=reason)
        return "dead-lettered"

    def _still_subscribed(self, delivery: WebhookDelivery) -> bool:
        """False when the subscription was removed or disabled since the fan-out."""
        if self.subscriptions is None or delivery.subscription_id is None:
            return True
        found = get_subscription(self.subscriptions, delivery.subscription_id)
        return found is not None and found.status == "active"

    def _secret(self, tenant: str, now: float) -> SigningSecret:
        with self._lock:
            cached = self._secrets.get(tenant)
        if cached is not None and now - cached[0] < SECRET_MAX_AGE_S:
            return cached[1]
        secret = self.secrets.ensure(tenant)
        with self._lock:
            self._secrets[tenant] = (now, secret)
        return secret


def _batch_completed(batch: BatchRecord, now: float) -> WebhookEvent:
    from agents.records import iso_ms

    return WebhookEvent(
        id=webhook_id("batch.completed", batch.id),
        type="batch.completed",
        tenant=batch.tenant,
        occurred_at=iso_ms(now),
        status="completed",
        batch_id=batch.id,
        url=batch.webhook.url if batch.webhook else None,
        data={"item_count": batch.item_count},
    )
