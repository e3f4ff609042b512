"""A Lambda-like context object for running handlers in-process.

It carries the attributes the Python runtime's ``LambdaContext`` has (the ones
Powertools' ``Logger.inject_lambda_context`` reads) and a real deadline:
``get_remaining_time_in_millis()`` counts down from the function's timeout
(from ``template.yaml``) starting when the context is created.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.template import FunctionSpec

__all__ = ["LambdaContext", "context_for"]


@dataclass
class LambdaContext:
    """What ``handler(event, context)`` receives as ``context``."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: float
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    #: ``time.monotonic()`` value after which the invocation has timed out.
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self.deadline = time.monotonic() + self.timeout_seconds
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"
        if not self.log_stream_name:
            day = time.strftime("%Y/%m/%d", time.gmtime())
            self.log_stream_name = f"{day}/[{self.function_version}]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the deadline (0 once it has passed), like Lambda."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    @property
    def timed_out(self) -> bool:
        return time.monotonic() >= self.deadline


def context_for(
    function: FunctionSpec, *, timeout_seconds: float | None = None, request_id: str | None = None
) -> LambdaContext:
    """A fresh context for one invocation of ``function`` (timeout from the template)."""
    context = LambdaContext(
        function_name=function.function_name,
        invoked_function_arn=function.arn,
        memory_limit_in_mb=function.memory_size,
        timeout_seconds=float(timeout_seconds if timeout_seconds is not None else function.timeout),
    )
    if request_id:
        context.aws_request_id = request_id
    return context
