"""The event log's table in moto (``template.yaml``'s ``EventsTable``), opt-in.

``event_table`` creates it in the per-test account and sets ``EVENTS_TABLE`` (as the
template does for every function), so the lifecycle and the runs of that test write events.
Tests that do not ask for it write none (``EVENTS_TABLE`` unset), which keeps the rest of
the suite's DynamoDB traffic as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from agents import aws
from local.aws_resources import create_table
from tests.plugins.aws import settings_env

if TYPE_CHECKING:
    from local.template import TableSpec

EVENTS_TABLE = "agw-events"


@pytest.fixture
def event_table(
    aws_endpoint: str, template_tables: dict[str, TableSpec], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    create_table(aws.client("dynamodb"), template_tables["EventsTable"], table_name=EVENTS_TABLE)
    with settings_env(monkeypatch, {"EVENTS_TABLE": EVENTS_TABLE}):
        yield EVENTS_TABLE
