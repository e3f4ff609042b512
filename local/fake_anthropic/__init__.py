"""A fake Anthropic Messages API on loopback, for the local stack and the tests.

``POST /v1/messages`` answers like the real API (JSON or SSE, realistic usage,
prompt-cache emulation), deterministically and offline; ``/_fake/*`` injects
faults and reports stats. ``python -m local.fake_anthropic --port 8899`` prints
``READY <url>``. Endpoints and module layout: ``docs/runner.md``, "Fake Messages
API", and ``docs/architecture.md``, "Module map".
"""

from local.fake_anthropic.answer import OFFLINE_BANNER, offline_answer, sized_answer
from local.fake_anthropic.cli import main
from local.fake_anthropic.faults import CallPlan, FaultBook, FaultSpec
from local.fake_anthropic.prompt_cache import (
    DEFAULT_CACHE_TTL_S,
    DEFAULT_MIN_CACHEABLE_TOKENS,
    PromptCache,
)
from local.fake_anthropic.protocol import ERROR_TYPES, error_body, error_type_for
from local.fake_anthropic.request import estimate_tokens, prompt_pieces, validate_request
from local.fake_anthropic.server import FakeAnthropicServer
from local.fake_anthropic.stats import Stats, key_fingerprint, redact_headers

__all__ = [
    "DEFAULT_CACHE_TTL_S",
    "DEFAULT_MIN_CACHEABLE_TOKENS",
    "ERROR_TYPES",
    "OFFLINE_BANNER",
    "CallPlan",
    "FakeAnthropicServer",
    "FaultBook",
    "FaultSpec",
    "PromptCache",
    "Stats",
    "error_body",
    "error_type_for",
    "estimate_tokens",
    "key_fingerprint",
    "main",
    "offline_answer",
    "prompt_pieces",
    "redact_headers",
    "sized_answer",
    "validate_request",
]
