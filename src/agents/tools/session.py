"""Per-invocation tool state: which files were Read, what was written, call counts."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ToolSession"]


class ToolSession:
    """One invocation's tool state; thread-safe (a turn's tool calls run concurrently).

    Edit and Write of an existing file require the file to have been Read in this
    session (Claude Code's rule). Writes are numbered so Glob and Grep list the
    files touched last, last (Claude Code sorts by modification time).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._read: set[str] = set()
        self._written: dict[str, int] = {}
        self._calls: Counter[str] = Counter()
        self._sequence = 0

    def mark_read(self, path: str) -> None:
        with self._lock:
            self._read.add(path)

    def was_read(self, path: str) -> bool:
        with self._lock:
            return path in self._read

    def mark_written(self, path: str) -> None:
        """A tool changed ``path`` (its content is now known to the model)."""
        with self._lock:
            self._read.add(path)
            self._sequence += 1
            self._written[path] = self._sequence

    def write_order(self, path: str) -> int | None:
        """Position of the last write of ``path`` in this session (None: never written)."""
        with self._lock:
            return self._written.get(path)

    def count_call(self, name: str) -> None:
        with self._lock:
            self._calls[name] += 1

    def call_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold while reading, changing and writing back one file (no lost updates)."""
        with self._write_lock:
            yield
