"""Prompt-cache emulation: prefixes ending at ``cache_control`` breakpoints, with a TTL."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from local.fake_anthropic.request import PromptPiece

__all__ = [
    "DEFAULT_CACHE_TTL_S",
    "DEFAULT_MIN_CACHEABLE_TOKENS",
    "LONG_CACHE_TTL_S",
    "LOOKBACK_PIECES",
    "CacheOutcome",
    "PromptCache",
]

DEFAULT_CACHE_TTL_S = 300.0
LONG_CACHE_TTL_S = 3600.0
#: A prompt prefix shorter than this is not cached (the real API has a similar floor).
DEFAULT_MIN_CACHEABLE_TOKENS = 1024
#: How many block boundaries before a breakpoint are checked for a cache entry.
LOOKBACK_PIECES = 20


@dataclass
class CacheOutcome:
    """How many of a request's input tokens were read from and written to the cache."""

    read_tokens: int = 0
    creation_tokens: int = 0
    creation_1h_tokens: int = 0


class PromptCache:
    """Cache prefixes ending at each ``cache_control`` breakpoint, with a TTL.

    The longest entry still alive is read; the tokens from there up to the last
    breakpoint are written; a hit refreshes the TTL. Prefixes below
    ``min_tokens`` are never cached (``docs/runner.md``, "Prompt cache").
    """

    def __init__(self, *, ttl_s: float, min_tokens: int) -> None:
        self.ttl_s = ttl_s
        self.min_tokens = min_tokens
        self._lock = threading.Lock()
        self._entries: dict[str, float] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def account(self, model: str, pieces: list[PromptPiece]) -> CacheOutcome:
        """``pieces``: (fingerprint, tokens, cache ttl or None) in prompt order.

        Like the real API, each breakpoint also finds entries written at any of the
        ``LOOKBACK_PIECES`` boundaries before it, so a breakpoint that moves to the
        newest message each turn reads the prefix the previous turn wrote.
        """
        now = time.monotonic()
        boundaries: list[tuple[str, int]] = []  # (key, prefix tokens) after each piece
        breakpoints: list[tuple[int, int, float]] = []  # (boundary index, prefix tokens, ttl)
        digest = hashlib.sha256(model.encode())
        tokens = 0
        for fingerprint, piece_tokens, ttl in pieces:
            digest.update(fingerprint.encode())
            tokens += piece_tokens
            boundaries.append((digest.hexdigest(), tokens))
            if ttl is not None:
                seconds = LONG_CACHE_TTL_S if ttl == "1h" else self.ttl_s
                breakpoints.append((len(boundaries) - 1, tokens, seconds))
        breakpoints = [bp for bp in breakpoints if bp[1] >= self.min_tokens]
        if not breakpoints:
            return CacheOutcome()
        outcome = CacheOutcome()
        with self._lock:
            hit: str | None = None
            for index, _, _ in reversed(breakpoints):
                for back in range(index, max(-1, index - LOOKBACK_PIECES), -1):
                    key, prefix_tokens = boundaries[back]
                    expires = self._entries.get(key)
                    if (
                        expires is not None
                        and expires > now
                        and prefix_tokens > outcome.read_tokens
                    ):
                        outcome.read_tokens, hit = prefix_tokens, key
                if hit is not None:
                    break
            _, last_tokens, last_ttl = breakpoints[-1]
            written = last_tokens - outcome.read_tokens
            if last_ttl == LONG_CACHE_TTL_S:
                outcome.creation_1h_tokens = written
            outcome.creation_tokens = written
            if hit is not None:
                self._entries[hit] = max(self._entries[hit], now + self.ttl_s)
            for index, _, seconds in breakpoints:
                self._entries[boundaries[index][0]] = now + seconds
        return outcome
