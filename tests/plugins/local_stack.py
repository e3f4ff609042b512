"""The local stack's resources, created from ``template.yaml`` on the test moto server.

``local_stack`` builds every table, queue and bucket the project's template
declares (via :func:`local.aws_stack.create_resources`, the code ``agw dev``
runs) in the clean per-test account of ``aws_endpoint``, and returns the
:class:`~local.aws_stack.StackDescription` (names, URLs, each function's env).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from local.aws_stack import StackDescription, create_resources
from local.template import TableSpec, Template

REPO = Path(__file__).resolve().parents[2]
PROJECT_TEMPLATE = REPO / "template.yaml"
FIXTURE_TEMPLATE = REPO / "tests" / "fixtures" / "local_template.yaml"


@pytest.fixture
def project_template(aws_endpoint: str) -> Template:
    """The project's template.yaml, resolved against the test moto server."""
    return Template.load(PROJECT_TEMPLATE, endpoint_url=aws_endpoint)


@pytest.fixture
def local_stack(project_template: Template) -> StackDescription:
    """Everything template.yaml declares, created on the test moto server."""
    return create_resources(project_template)


@pytest.fixture(scope="session")
def template_tables() -> dict[str, TableSpec]:
    """template.yaml's tables by logical id (fixtures create them with ``create_table``)."""
    return {table.logical_id: table for table in Template.load(PROJECT_TEMPLATE).tables()}
