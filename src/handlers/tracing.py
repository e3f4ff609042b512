"""X-Ray tracing of a handler, only when it is on (the Tracer and aws_xray_sdk are never
built otherwise)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

__all__ = ["traced"]

R = TypeVar("R")


def traced(function: Callable[..., R]) -> Callable[..., R]:
    """``function`` under Powertools' Tracer when tracing is on; ``function`` itself otherwise.

    Powertools' own rule: off when ``POWERTOOLS_TRACE_DISABLED`` is truthy, outside Lambda,
    and under SAM local / Chalice.
    """
    from aws_lambda_powertools.shared import constants
    from aws_lambda_powertools.shared.functions import strtobool

    disabled = strtobool(os.getenv(constants.TRACER_DISABLED_ENV, "false"))
    in_lambda = bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV))
    emulated = bool(os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV))
    if disabled or not in_lambda or emulated:
        return function
    from aws_lambda_powertools import Tracer

    tracer = Tracer()
    wrapped: Callable[..., R] = tracer.capture_lambda_handler(function)
    return wrapped
