"""Signed webhooks (Standard Webhooks): where callbacks go, signing, SSRF-safe delivery.

The flow (docs/architecture.md, "Webhooks"): a terminal transition puts one
:class:`~agents.webhooks.messages.WebhookEvent` on the webhook queue
(:mod:`agents.webhooks.notifier`); the WebhookFunction fans it out to one
:class:`~agents.webhooks.messages.WebhookDelivery` per target (the request's own URL and
the tenant's subscriptions) and delivers each one, re-enqueueing it on the retry
schedule, and finally to the webhook DLQ (:mod:`agents.webhooks.processor`).
"""
