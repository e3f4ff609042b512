"""``Idempotency-Key``: Powertools idempotency on ``IDEMPOTENCY_TABLE`` (built on the first
keyed request), keyed by (tenant, key) and checked against the request's fingerprint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from agents.api_models import normalize_idempotency_key
from agents.container import PerContainerMap
from agents.errors import (
    ConfigurationError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    ServiceUnavailable,
)
from agents.observability import logger
from handlers.api_results import ApiResult, respond

__all__ = ["IdempotentRunner", "answer_once", "fingerprint", "run_once"]


class IdempotentRunner:
    """The Powertools idempotent wrapper and its config, for one idempotency table."""

    def __init__(self, table: str, retention_days: int) -> None:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.serialization.base import (
            BaseIdempotencySerializer,
        )

        from agents import aws

        class Serializer(BaseIdempotencySerializer):
            def to_dict(self, data: Any) -> dict[str, Any]:
                stored: dict[str, Any] = data.stored()
                return stored

            def from_dict(self, data: dict[str, Any]) -> Any:
                return ApiResult.from_stored(data)

        def mark_replayed(response: Any, idempotent_data: Any) -> Any:
            return replace(response, replayed=True) if isinstance(response, ApiResult) else response

        self.table = table
        self.config = IdempotencyConfig(
            event_key_jmespath="[tenant, key]",
            payload_validation_jmespath="fingerprint",
            raise_on_no_idempotency_key=True,
            # As long as the invocation record: the key names it for its whole life.
            expires_after_seconds=retention_days * 86_400,
            response_hook=mark_replayed,
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=table, boto3_client=aws.client("dynamodb")
        )

        def perform(request: dict[str, Any], operation: Callable[[], ApiResult]) -> ApiResult:
            return operation()

        self.perform: Callable[..., ApiResult] = idempotent_function(
            perform,
            data_keyword_argument="request",
            persistence_store=persistence,
            config=self.config,
            output_serializer=Serializer(),
        )


_runners: PerContainerMap[tuple[str, int], IdempotentRunner] = PerContainerMap(
    lambda key: IdempotentRunner(*key)
)


def fingerprint(*parts: Any) -> str:
    """What a replay must repeat: the operation and its arguments, canonical JSON hashed."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    resolver: BaseRouter,
    tenant: str,
    key: str | None,
    request_fingerprint: str,
    operation: Callable[[], ApiResult],
) -> ApiResult:
    """Run ``operation`` once per (tenant, key); replays return the first result."""
    if key is None:
        return operation()
    # lazy: pydantic-settings stays off the cold import (decision 13.200)
    from agents.config import get_settings

    settings = get_settings()
    if not settings.idempotency_table:
        raise ConfigurationError("Idempotency-Key is not configured (IDEMPOTENCY_TABLE)")
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    runner = _runners.get((settings.idempotency_table, settings.retention_days))
    lambda_context = getattr(resolver, "lambda_context", None)
    if lambda_context is not None:
        # A run killed by the Lambda timeout must not block its key forever.
        runner.config.register_lambda_context(lambda_context)
    request = {"tenant": tenant, "key": key, "fingerprint": request_fingerprint}
    try:
        return runner.perform(request=request, operation=operation)
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still in progress; retry later"
        ) from None
    except IdempotencyValidationError:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request (method, path or body)"
        ) from None
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError):
        logger.exception("idempotency store failure")
        raise ServiceUnavailable("the idempotency store is unavailable") from None


def answer_once(
    resolver: BaseRouter,
    tenant: str,
    raw_key: str | None,
    fingerprint_parts: tuple[Any, ...],
    operation: Callable[[str | None], ApiResult],
) -> Response[Any]:
    """The route body every keyed route shares: check the header, run ``operation(key)``
    once per key, answer (a replay says ``Idempotent-Replayed``)."""
    key = normalize_idempotency_key(raw_key)
    result = run_once(
        resolver, tenant, key, fingerprint(*fingerprint_parts), lambda: operation(key)
    )
    return respond(result, tenant)
