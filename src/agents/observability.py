"""The container's Powertools Logger and Metrics (module level, no Lambda context needed).

Handlers flush metrics (``@metrics.log_metrics`` or ``metrics.flush_metrics()``);
the core only adds to them, so it works the same in tests and scripts. Failures
by type are emitted with :func:`count_failure` as single metrics carrying an
``ErrorType`` dimension (dimensions of the shared set apply to every metric).

Per-invocation log keys (invocation id, tenant, agent) go through
:func:`log_keys`, which uses Powertools' thread-safe (context-local) keys so the
worker's concurrent records do not mix their keys. Never pass the input text or
an API key as a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from agents.types import Usage

SERVICE = "agent-gateway"
NAMESPACE = "AgentGateway"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@contextmanager
def log_keys(**keys: object) -> Iterator[None]:
    """Add ``keys`` to every log line of this thread/context until the block ends."""
    before = dict(logger.thread_safe_get_current_keys())
    logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v is not None})
    try:
        yield
    finally:
        logger.thread_safe_clear_keys()
        if before:
            logger.thread_safe_append_keys(**before)


def count_failure(error_type: str) -> None:
    """``Failures`` with an ``ErrorType`` dimension, emitted immediately (EMF on stdout)."""
    with single_metric(
        name="Failures", unit=MetricUnit.Count, value=1, namespace=NAMESPACE
    ) as metric:
        metric.add_dimension(name="ErrorType", value=error_type)


def record_run_metrics(usage: Usage, *, cost_usd: float, total_ms: float) -> None:
    """The metrics of a run that succeeded: tokens (cache reads and writes too), cost, time."""
    metrics.add_metric(name="InvocationsSucceeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=usage.input_tokens)
    metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=usage.output_tokens)
    metrics.add_metric(
        name="CacheReadTokens", unit=MetricUnit.Count, value=usage.cache_read_input_tokens
    )
    metrics.add_metric(
        name="CacheWriteTokens", unit=MetricUnit.Count, value=usage.cache_creation_input_tokens
    )
    metrics.add_metric(name="CostUSD", unit=MetricUnit.NoUnit, value=cost_usd)
    metrics.add_metric(name="Duration", unit=MetricUnit.Milliseconds, value=total_ms)
