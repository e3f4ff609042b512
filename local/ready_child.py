"""A child process that prints ``READY <url>`` once it serves: started, awaited, stopped.

The fake Messages API (``python -m local.fake_anthropic``), moto in its own process
(``python -m local.moto_server``) and the reliability suite's function children
(:mod:`bench.reliability.resume_children`) announce themselves so.
"""

from __future__ import annotations

import select
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ready_child"]

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a child has to exit after its stop signal before it is killed.
STOP_TIMEOUT_S = 10.0


@contextmanager
def ready_child(
    argv: Sequence[str],
    *,
    what: str,
    env: Mapping[str, str] | None = None,
    start_timeout_s: float = 60.0,
    stop_signal: int = signal.SIGTERM,
) -> Iterator[str]:
    """``argv`` in a child process (cwd: the repository; stderr discarded) until it prints
    ``READY <url>``; yields the URL. At the end ``stop_signal`` (``SIGKILL``: a crash),
    then ``SIGKILL`` if it has not exited within :data:`STOP_TIMEOUT_S`."""
    process = subprocess.Popen(  # noqa: S603 - argv comes from the caller, not from input
        list(argv),
        env=None if env is None else dict(env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], start_timeout_s)
        line = process.stdout.readline().strip() if ready else ""
        if not line.startswith("READY "):
            raise RuntimeError(f"{what} did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        if process.poll() is None:
            process.send_signal(stop_signal)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
