"""What a local stack is: where it listens, what it created, each function's environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from local.moto_server import LOCAL_CREDENTIALS

__all__ = ["BucketInfo", "FunctionInfo", "QueueInfo", "StackDescription", "TableInfo"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TableInfo(_Frozen):
    logical_id: str
    name: str
    arn: str


class QueueInfo(_Frozen):
    logical_id: str
    name: str
    url: str
    arn: str


class BucketInfo(_Frozen):
    logical_id: str
    name: str
    arn: str


class FunctionInfo(_Frozen):
    logical_id: str
    function_name: str
    handler: str
    code_uri: Path
    timeout: int
    memory_size: int
    #: The template's environment for this function, resolved to local resources.
    environment: dict[str, str]


class StackDescription(_Frozen):
    """What the local stack is: where it listens and what it created."""

    endpoint_url: str
    region: str
    account_id: str
    stack_name: str
    tables: dict[str, TableInfo]
    queues: dict[str, QueueInfo]
    buckets: dict[str, BucketInfo]
    functions: dict[str, FunctionInfo]

    def aws_environment(self) -> dict[str, str]:
        """What boto3 needs to reach this stack (endpoint, region, fake credentials)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **LOCAL_CREDENTIALS,
        }

    def environment_for(
        self, logical_id: str, overrides: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The environment a function runs with locally.

        The template's variables (resolved to local resources), the AWS
        endpoint/region/credentials, ``AWS_SAM_LOCAL=true`` and
        ``POWERTOOLS_TRACE_DISABLED=true`` (as ``sam local`` does: there is no
        X-Ray daemon), then ``overrides``.
        """
        function = self.functions.get(logical_id)
        if function is None:
            raise KeyError(f"no function {logical_id!r} (known: {', '.join(self.functions)})")
        return {
            **function.environment,
            **self.aws_environment(),
            "AWS_SAM_LOCAL": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **(overrides or {}),
        }

    def merged_environment(
        self, overrides: Mapping[str, str] | None = None
    ) -> tuple[dict[str, str], list[str]]:
        """One environment for every function, for running them in one process.

        Returns the environment and the names whose values differ between
        functions (the first function in template order wins for those; the
        caller decides whether that matters and says so).
        """
        merged: dict[str, str] = {}
        conflicts: list[str] = []
        for logical_id in self.functions:
            for name, value in self.environment_for(logical_id, overrides).items():
                if name in merged and merged[name] != value and name not in conflicts:
                    conflicts.append(name)
                merged.setdefault(name, value)
        return merged, conflicts
