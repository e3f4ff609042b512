"""Webhooks in the local stack: the WebhookFunction's poller, local settings, secrets.

The local stack runs the WebhookFunction from its event source mapping in template.yaml,
like the worker (:class:`local.sqs_poller.SqsPoller`). Locally, webhooks may go to
``http://127.0.0.1`` (``WEBHOOK_ALLOW_LOCAL=true``, logged at start) and the retry
schedule is compressed to seconds (:data:`LOCAL_RETRY_SCHEDULE`), so that a receiver on
this machine sees its retries within a minute. Each local tenant's signing secret is
created at start and written to ``.agw/dev.json`` (``webhook_secrets``: API key -> secret).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from local.sqs_poller import SqsPoller
    from local.template import Template

__all__ = [
    "LOCAL_RETRY_SCHEDULE",
    "WEBHOOK_FUNCTION",
    "local_webhook_env",
    "start_webhook_poller",
    "tenant_webhook_secrets",
]

log = logging.getLogger(__name__)

WEBHOOK_FUNCTION: Final = "WebhookFunction"
#: Seconds between local retries: six retries within 30 s.
LOCAL_RETRY_SCHEDULE: Final = "1,2,3,5,8,11"


def local_webhook_env(host: str, api_port: int) -> dict[str, str]:
    """The local defaults of the webhook settings (explicit overrides still win)."""
    env = {"WEBHOOK_ALLOW_LOCAL": "true", "WEBHOOK_RETRY_SCHEDULE": LOCAL_RETRY_SCHEDULE}
    if api_port:
        env["WEBHOOK_LINK_BASE"] = f"http://{host}:{api_port}"
    return env


def start_webhook_poller(
    template: Template, handler_loader: object, *, failure_visibility_timeout: int | None
) -> SqsPoller:
    """The WebhookFunction's poller, started (``handler_loader``: the imported handler)."""
    from local.sqs_poller import SqsPoller

    poller = SqsPoller.from_template(
        template,
        WEBHOOK_FUNCTION,
        handler=handler_loader,  # type: ignore[arg-type]
        failure_visibility_timeout=failure_visibility_timeout,
    )
    poller.start()
    log.warning(
        "webhooks: LOCAL mode, receivers on http://127.0.0.1 / localhost are allowed "
        "(WEBHOOK_ALLOW_LOCAL=true; never in AWS) and retries come after seconds (%s)",
        LOCAL_RETRY_SCHEDULE,
    )
    return poller


def tenant_webhook_secrets(
    tenants: Mapping[str, str], env: Mapping[str, str], secrets: SecretsManagerClient
) -> dict[str, str]:
    """API key -> the tenant's current signing secret (created when missing)."""
    from agents.webhooks.tenant_secrets import TenantSecrets

    prefix = env.get("WEBHOOK_SECRET_PREFIX", "")
    if not prefix:
        return {}
    store = TenantSecrets(secrets, prefix)
    return {key: store.ensure(tenant).current for key, tenant in tenants.items()}
