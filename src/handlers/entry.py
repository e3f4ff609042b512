"""The Lambda entry the handlers share: Powertools' log context, the metrics flush, tracing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from agents.observability import logger, metrics
from handlers.tracing import traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["lambda_entry"]

E = TypeVar("E")
R = TypeVar("R")


def lambda_entry(
    body: Callable[[E, LambdaContext], R],
    *,
    cold_start_metric: bool,
    correlation_id_path: str | None = None,
) -> Callable[..., R]:
    """``body`` as a Lambda handler: the invocation's keys on every log line (state cleared,
    the event not logged; a correlation id read from ``correlation_id_path``), the metrics
    flushed when it returns (a ``ColdStart`` metric with ``cold_start_metric``), under
    X-Ray when tracing is on (:func:`handlers.tracing.traced`)."""
    flushed: Callable[..., Any] = metrics.log_metrics(
        body, capture_cold_start_metric=cold_start_metric
    )
    logged: Callable[..., R] = logger.inject_lambda_context(
        flushed, log_event=False, correlation_id_path=correlation_id_path, clear_state=True
    )
    return traced(logged)
