"""AWS error codes, and botocore failures a retry can cure as ``ServiceUnavailable``.

Throttling, 5xx answers and connection/read failures become ``ServiceUnavailable``
(retryable, 503). Every other ``ClientError`` propagates unchanged: callers catch the
modeled exceptions they expect (``client.exceptions.ConditionalCheckFailedException``)
and use :func:`error_code` for the rest.
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
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in TRANSIENT_CODES or status >= 500
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
                f"{operation} failed transiently ({error_code(exc) or type(exc).__name__})",
                operation=operation,
            ) from exc
        raise


def error_code(exc: BaseException | None) -> str:
    """The AWS error code of a ``ClientError`` (``"NoSuchKey"``, ...); ``""`` for anything else."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "") or "")
    return ""
