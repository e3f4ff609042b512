"""``agents.aws``: the container's boto3 clients. After :func:`agents.container.reset` the
clients are new (fresh credentials and connections), but the service models are not parsed
again: every session shares one botocore loader."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.loaders import JSONFileLoader

from agents import aws, container
from local.moto_server import LOCAL_CREDENTIALS


def test_a_reset_builds_new_clients_without_reading_the_models_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reads: list[str] = []
    original = JSONFileLoader.load_file

    def counted(self: JSONFileLoader, file_path: str) -> Any:
        reads.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", counted)
    aws.service_model_loader.cache_clear()  # a new process's loader: nothing parsed yet
    container.reset()
    first = aws.client("sqs")
    assert reads  # the first client of the process reads its models
    reads.clear()
    container.reset()
    second = aws.client("sqs")
    assert second is not first
    assert reads == []  # the models, endpoints and rules come from the shared loader
    container.reset()


def test_clients_leave_request_validation_to_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    container.reset()
    bad: Any = 12345  # not a string: botocore's own validation would refuse it before sending
    with pytest.raises(EndpointConnectionError):  # it was sent: the service is to judge it
        aws.client("sqs").get_queue_url(QueueName=bad)
    container.reset()
