"""What the fake remembers between calls: faults, the script, stats, the prompt cache, requests."""

from __future__ import annotations

import threading
from typing import Any

from local.fake_anthropic.faults import FaultBook
from local.fake_anthropic.prompt_cache import (
    DEFAULT_CACHE_TTL_S,
    DEFAULT_MIN_CACHEABLE_TOKENS,
    PromptCache,
)
from local.fake_anthropic.script import ScriptQueue
from local.fake_anthropic.stats import RequestLog, Stats

__all__ = ["FakeModelState"]


class FakeModelState:
    """The state every endpoint works on; ``reset()`` is ``POST /_fake/reset``."""

    def __init__(
        self,
        *,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
        min_cacheable_tokens: int = DEFAULT_MIN_CACHEABLE_TOKENS,
        delta_delay_s: float = 0.0,
    ) -> None:
        #: Wait this long before each streamed text delta (``--delta-delay-ms``).
        self.delta_delay_s = delta_delay_s
        self.faults = FaultBook()
        self.stats = Stats()
        self.cache = PromptCache(ttl_s=cache_ttl_s, min_tokens=min_cacheable_tokens)
        self.requests = RequestLog()
        #: Responses queued by ``POST /_fake/script``, answered before the offline model's.
        self.script = ScriptQueue()
        #: Set while the server stops: injected waits end early.
        self.stopping = threading.Event()

    def reset(self) -> None:
        self.faults.clear()
        self.stats.reset()
        self.cache.clear()
        self.requests.clear()
        self.script.clear()

    def record_request(self, body: Any, streaming: bool) -> dict[str, Any]:
        return self.requests.record(body, streaming)

    def recent_requests(self, limit: int) -> list[dict[str, Any]]:
        return self.requests.recent(limit)
