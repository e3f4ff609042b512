"""Map botocore failures that a retry can cure to :class:`agents.errors.ServiceUnavailable`.

Throttling, 5xx answers and connection/read failures become ``ServiceUnavailable``
(retryable, 503). Every other ``ClientError`` propagates unchanged: callers handle
the codes they expect (``ConditionalCheckFailedException``, ``NoSuchKey``) and the
rest is a bug worth a stack trace in the logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agents.errors import ServiceUnavailable

TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "RequestThrottled",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "TransactionInProgressException",
        "KMSThrottlingException",
    }
)


def is_transient(exc: BaseException) -> bool:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code", "") in TRANSIENT_CODES or status >= 500
    if isinstance(exc, (ConnectionError, ReadTimeoutError, ConnectionClosedError)):
        return True
    return isinstance(exc, BotoCoreError) and "timeout" in type(exc).__name__.lower()


@contextmanager
def translate_aws_errors(operation: str) -> Iterator[None]:
    """Re-raise transient AWS failures of ``operation`` as ``ServiceUnavailable``."""
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise ServiceUnavailable(
                f"{operation} failed transiently ({_code(exc)})", operation=operation
            ) from exc
        raise


def _code(exc: BaseException) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "") or "error")
    return type(exc).__name__
