"""AWS error codes, and what botocore failures on our own resources mean.

Throttling, 5xx answers and connection/read failures become
:class:`agents.errors.ServiceUnavailable` (retryable, 503). A resource of ours that
does not exist or that we may not use (``ResourceNotFoundException``,
``AccessDenied``, ``NoSuchBucket``, a missing queue) is a deployment fault:
:class:`agents.errors.ConfigurationError` (500, permanent). Every other
``ClientError`` propagates unchanged: callers catch the modeled exceptions they
expect and use :func:`error_code` for the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agents.errors import ConfigurationError, ServiceUnavailable

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


#: Codes that mean one of our own resources is missing or not ours to use.
CONFIGURATION_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "ResourceNotFoundException",
        "NoSuchBucket",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "KMS.AccessDeniedException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSNotFoundException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
    }
)


def configuration_code(exc: BaseException) -> str | None:
    """The error code when ``exc`` says a resource of ours is missing or forbidden."""
    code = error_code(exc)
    return code if code in CONFIGURATION_CODES else None


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
        code = configuration_code(exc)
        if code is not None:
            raise ConfigurationError(
                f"{operation} failed with {code}: a resource of this deployment is missing "
                "or this function may not use it",
                operation=operation,
                code=code,
            ) from exc
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
