"""boto3 clients, created lazily and once per container (thread-safe).

boto3 honours ``AWS_ENDPOINT_URL`` (and the per-service variants), which is how
the same code talks to moto on loopback locally and to AWS when deployed.
Clients are built on first use, not at import, so a cold start that never
touches a service never pays for it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal, overload

from agents.container import PerContainerMap

if TYPE_CHECKING:
    from botocore.loaders import Loader
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient


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
    return CLIENTS.get(service)


def s3_client(given: S3Client | None = None) -> S3Client:
    """``given`` (a client a caller injected), else the container's S3 client."""
    return given if given is not None else client("s3")


@functools.cache
def service_model_loader() -> Loader:
    """botocore's loader of the service models, shared by every session of the process.

    A new botocore session parses the models' JSON again (about 70 ms a client); the models
    are read-only files of the installed botocore, so one loader serves every session, also
    across :func:`agents.container.reset` (which drops clients and credentials, not this).
    """
    from botocore.loaders import create_loader

    return create_loader()


def _session() -> Any:
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", service_model_loader())
    return boto3.session.Session(botocore_session=core)


def _build_client(service: str) -> Any:
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=10,
        max_pool_connections=32,
        # AWS validates every request itself; botocore's own check costs CPU per call
        # (about 0.8 ms per tool-loop turn, decision 13.256)
        parameter_validation=False,
        # presigned URLs (workspace uploads and results) are SigV4, as AWS requires
        signature_version="s3v4" if service == "s3" else None,
    )
    return _session().client(service, config=config)


#: The container's clients, one per service.
CLIENTS: PerContainerMap[str, Any] = PerContainerMap(_build_client)
