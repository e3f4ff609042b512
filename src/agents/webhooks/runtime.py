"""The container's :class:`WebhookProcessor`, built from the settings (one per container)."""

from __future__ import annotations

from agents.container import per_container
from agents.webhooks.processor import WebhookProcessor

__all__ = ["get_processor"]


@per_container
def get_processor() -> WebhookProcessor:
    """Queues, secrets, subscriptions (TenantsTable) and batch bookkeeping from settings."""
    from agents import aws
    from agents.config import get_settings
    from agents.store import get_store
    from agents.tenants.table import tenants_table
    from agents.webhooks.queues import WebhookQueues
    from agents.webhooks.tenant_secrets import TenantSecrets

    settings = get_settings()
    if settings.webhook_allow_local:
        from agents.observability import logger

        logger.warning(
            "WEBHOOK_ALLOW_LOCAL is on: webhooks may go to http://127.0.0.1 and loopback "
            "(local development only)"
        )
    return WebhookProcessor(
        settings=settings,
        queues=WebhookQueues(
            aws.client("sqs"),
            queue_url=settings.webhook_queue_url,
            dlq_url=settings.webhook_dlq_url,
        ),
        secrets=TenantSecrets(aws.client("secretsmanager"), settings.webhook_secret_prefix),
        subscriptions=tenants_table(),
        batches=get_store() if settings.invocations_table else None,
    )
