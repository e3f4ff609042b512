"""What the API's answers look like to the reliability scenarios: problem documents."""

from __future__ import annotations

from typing import Any

from bench.reliability.harness import AGENT

__all__ = ["INVOKE", "PROBLEM_JSON", "is_problem"]

PROBLEM_JSON = "application/problem+json"
INVOKE = f"/agents/{AGENT}/invocations"


def is_problem(response: Any) -> bool:
    """An RFC 9457 document: the media type and the members ``type``, ``title``, ``status``."""
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and isinstance(body.get("type"), str)
        and isinstance(body.get("title"), str)
        and body.get("status") == response.status_code
    )
