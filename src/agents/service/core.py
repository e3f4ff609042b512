"""What every use case of the service shares: its dependencies, the checks a request must
pass before anything is written, and sending invocation ids to the queue."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from agents.errors import ConfigurationError, GatewayError, PayloadTooLarge, ServiceUnavailable
from agents.names import validate_agent_name
from agents.observability import logger
from agents.records import Processing
from agents.types import ErrorInfo

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.definitions import AgentDefinition
    from agents.registry import AgentRegistry
    from agents.store import InvocationStore

__all__ = ["API_RESPONSE_MARGIN_MS", "ServiceCore", "pinned_version_id"]

#: Kept free at the end of a sync run for the response to leave the function.
API_RESPONSE_MARGIN_MS = 500
#: SendMessageBatch: 10 entries per call; failed entries are retried this many rounds.
SQS_BATCH_SIZE = 10
SQS_SEND_ROUNDS = 4


class ServiceCore:
    """Dependencies (default: the container's singletons) and the shared steps."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        store: InvocationStore | None = None,
        registry: AgentRegistry | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._registry = registry

    @property
    def settings(self) -> Settings:
        if self._settings is not None:
            return self._settings
        # lazy: pydantic-settings stays off the cold import (decision 13.200)
        from agents.config import get_settings

        return get_settings()

    @property
    def store(self) -> InvocationStore:
        if self._store is not None:
            return self._store
        from agents.store import get_store

        return get_store()

    @property
    def registry(self) -> AgentRegistry:
        if self._registry is not None:
            return self._registry
        from agents.registry import get_registry

        return get_registry()

    def _load(self, name: str, version: str | None) -> AgentDefinition:
        validate_agent_name(name)
        logger.append_keys(agent=name)
        return self.registry.get(name, version=version)

    def _preflight(
        self,
        definition: AgentDefinition,
        input_text: str,
        context: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> None:
        from agents.runner import preflight

        settings = self.settings
        if len(input_text) > settings.max_input_chars:
            raise PayloadTooLarge(
                f"input is {len(input_text)} characters; the limit is {settings.max_input_chars}",
                limit=settings.max_input_chars,
            )
        preflight(definition, input_text, context=context, max_tokens=max_tokens, settings=settings)

    def _fail_unqueued(self, invocation_ids: list[str]) -> None:
        info = ErrorInfo(
            type=ServiceUnavailable.error_type,
            message="the invocation could not be put on the queue",
            retryable=True,
        )
        for invocation_id in invocation_ids:
            try:
                self.store.fail(invocation_id, info, owner=None)
            except GatewayError:
                logger.exception("could not fail an unqueued invocation")

    def _send_all(
        self, invocation_ids: list[str], *, processing: Processing = Processing.STANDARD
    ) -> list[str]:
        """SendMessageBatch ``{"invocation_id": id}`` (with ``"processing": "economy"`` for
        economy items) in chunks of 10, retrying failed entries; returns the ids still
        unsent after :data:`SQS_SEND_ROUNDS` rounds."""
        if not invocation_ids:
            return []
        from agents import aws
        from agents.awserrors import translate_aws_errors

        url = self.settings.invocation_queue_url
        if not url:
            raise ConfigurationError(
                "the invocation queue is not configured (INVOCATION_QUEUE_URL)"
            )
        sqs = aws.client("sqs")
        economy = processing is Processing.ECONOMY
        pending = list(dict.fromkeys(invocation_ids))
        for round_no in range(SQS_SEND_ROUNDS):
            if round_no:
                time.sleep(0.1 * 2 ** (round_no - 1))
            failed: list[str] = []
            for start in range(0, len(pending), SQS_BATCH_SIZE):
                chunk = pending[start : start + SQS_BATCH_SIZE]
                entries: list[dict[str, Any]] = []
                for position, invocation_id in enumerate(chunk):
                    entry: dict[str, Any] = {
                        "Id": str(position),
                        "MessageBody": json.dumps(
                            {"invocation_id": invocation_id}
                            | ({"processing": processing.value} if economy else {})
                        ),
                    }
                    if url.endswith(".fifo"):
                        entry["MessageGroupId"] = invocation_id
                        entry["MessageDeduplicationId"] = invocation_id
                    entries.append(entry)
                try:
                    with translate_aws_errors("sqs:SendMessageBatch"):
                        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
                except ServiceUnavailable:
                    failed.extend(chunk)
                    continue
                for entry_failure in response.get("Failed", []):
                    failed.append(chunk[int(entry_failure["Id"])])
            if not failed:
                return []
            logger.warning("queue send failed for some entries", extra={"failed": len(failed)})
            pending = failed
        return pending


def pinned_version_id(definition: AgentDefinition) -> str | None:
    """The S3 object version a run should use: the one the request was checked against."""
    source = definition.source
    if source is None or not source.version_id or source.version_id == "null":
        return None
    return source.version_id
