"""``python -m local.fake_anthropic``: serve until SIGINT/SIGTERM, printing ``READY <url>``."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from local.fake_anthropic.prompt_cache import DEFAULT_CACHE_TTL_S, DEFAULT_MIN_CACHEABLE_TOKENS
from local.fake_anthropic.server import FakeAnthropicServer

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.fake_anthropic", description="Fake Anthropic Messages API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--cache-ttl", type=float, default=DEFAULT_CACHE_TTL_S)
    parser.add_argument("--min-cacheable-tokens", type=int, default=DEFAULT_MIN_CACHEABLE_TOKENS)
    parser.add_argument("--delta-delay-ms", type=float, default=0.0)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    server = FakeAnthropicServer(
        args.host,
        args.port,
        cache_ttl_s=args.cache_ttl,
        min_cacheable_tokens=args.min_cacheable_tokens,
        delta_delay_s=args.delta_delay_ms / 1000,
        verbose=args.verbose,
    )
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    print(f"READY {server.url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    print("STOPPED", flush=True)
    return 0
