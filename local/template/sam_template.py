""":class:`Template`: a SAM template resolved against local resources, and what it declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from local.template import data_resources, functions, rest_api
from local.template.cfn_yaml import load_document
from local.template.errors import TemplateError
from local.template.local_resources import LocalResources
from local.template.models import (
    ApiRoute,
    ApiSpec,
    BucketSpec,
    FunctionSpec,
    QueueSpec,
    SqsEventSourceSpec,
    TableSpec,
)

__all__ = ["Template"]


class Template(LocalResources):
    """A SAM template resolved against local resources (see :class:`LocalResources`):
    the functions, API routes, tables, queues and buckets the local stack runs."""

    @classmethod
    def load(cls, path: Path | str, **options: Any) -> Self:
        """Load ``path``; code locations resolve relative to its directory."""
        file = Path(path).resolve()
        return cls(load_document(file), base_dir=file.parent, path=file, **options)

    def bind(self, *, endpoint_url: str) -> Self:
        """The same template resolved against another local AWS endpoint."""
        return type(self)(
            self.document,
            base_dir=self.base_dir,
            endpoint_url=endpoint_url,
            stack_name=self.stack_name,
            region=self.region,
            account_id=self.account_id,
            parameter_overrides=self.parameter_overrides,
            path=self.path,
        )

    # ---------------------------------------------------------------- functions

    def function_ids(self) -> list[str]:
        return functions.function_ids(self)

    def function(self, logical_id: str) -> FunctionSpec:
        return functions.function_spec(self, logical_id)

    def functions(self) -> list[FunctionSpec]:
        return [self.function(logical_id) for logical_id in self.function_ids()]

    def sqs_event_source(self, logical_id: str) -> SqsEventSourceSpec | None:
        """The function's SQS trigger (SAM ``SQS`` event or event source mapping), if any."""
        return functions.sqs_event_source(self, logical_id)

    # ---------------------------------------------------------------- REST APIs

    def api(self, logical_id: str = rest_api.IMPLICIT_API_ID) -> ApiSpec:
        return rest_api.api_spec(self, logical_id)

    def api_routes(self, logical_id: str | None = None) -> list[ApiRoute]:
        """The API routes of one function (or of every function), most specific first."""
        return rest_api.api_routes(self, logical_id)

    # ---------------------------------------------------------------- data resources

    def tables(self) -> list[TableSpec]:
        return data_resources.table_specs(self)

    def queues(self) -> list[QueueSpec]:
        return data_resources.queue_specs(self)

    def queue(self, logical_id: str) -> QueueSpec:
        for spec in self.queues():
            if spec.logical_id == logical_id:
                return spec
        raise TemplateError(f"no queue {logical_id!r} in the template")

    def buckets(self) -> list[BucketSpec]:
        return data_resources.bucket_specs(self)
