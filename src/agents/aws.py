"""boto3 clients, created lazily and once per container (thread-safe).

boto3 honours ``AWS_ENDPOINT_URL`` (and the per-service variants), which is how
the same code talks to moto on loopback locally and to AWS when deployed.
Clients are built on first use, not at import, so a cold start that never
touches a service never pays for it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

_lock = threading.Lock()
_clients: dict[str, Any] = {}


@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["secretsmanager"]) -> SecretsManagerClient: ...


def client(service: str) -> Any:
    """The container's client for ``service`` (created on first use)."""
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(service)
        if found is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                read_timeout=10,
                max_pool_connections=32,
            )
            found = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
            _clients[service] = found
        return found


def reset_clients() -> None:
    """Forget every client (tests that change endpoints; SnapStart restore)."""
    with _lock:
        _clients.clear()
