"""Per-container state: values built once per execution environment, and one ``reset()``.

Every cache that lives as long as a Lambda container (settings, AWS clients, the
store, the registry, the runner, the service, the idempotency layer) is a
:class:`PerContainer` or :class:`PerContainerMap`. :func:`reset` forgets all of
them at once: SnapStart's after-restore hook, ``local/``, ``bench/`` and the tests
call it, and nothing else keeps a reset list of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["PerContainer", "PerContainerMap", "per_container", "reset"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

_registry_lock = threading.Lock()
_registered: list[PerContainer[object] | PerContainerMap[Hashable, object]] = []


class PerContainer(Generic[T]):
    """``build()`` run at most once per container (thread-safe); ``clear()`` forgets it.

    ``on_clear`` is called with the forgotten value (close a client, say).
    """

    def __init__(
        self, build: Callable[[], T], *, on_clear: Callable[[T], None] | None = None
    ) -> None:
        self._build = build
        self._on_clear = on_clear
        self._lock = threading.Lock()
        self._value: tuple[T] | None = None
        self.__doc__ = build.__doc__
        with _registry_lock:
            _registered.append(self)  # type: ignore[arg-type]

    def __call__(self) -> T:
        held = self._value
        if held is not None:
            return held[0]
        with self._lock:
            if self._value is None:
                self._value = (self._build(),)
            return self._value[0]

    def built(self) -> bool:
        """Whether the value exists now (without building it)."""
        return self._value is not None

    def clear(self) -> None:
        with self._lock:
            held, self._value = self._value, None
        if held is not None and self._on_clear is not None:
            self._on_clear(held[0])


class PerContainerMap(Generic[K, T]):
    """One value per key, each built once per container by ``build(key)``."""

    def __init__(self, build: Callable[[K], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._values: dict[K, T] = {}
        with _registry_lock:
            _registered.append(self)  # type: ignore[arg-type]

    def get(self, key: K) -> T:
        found = self._values.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._values.get(key)
            if found is None:
                found = self._values[key] = self._build(key)
            return found

    def values(self) -> list[T]:
        """The values built so far (a snapshot)."""
        with self._lock:
            return list(self._values.values())

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def per_container(build: Callable[[], T]) -> PerContainer[T]:
    """Decorator form of :class:`PerContainer`."""
    return PerContainer(build)


def reset(*, keep: tuple[object, ...] = ()) -> None:
    """Forget every per-container value (SnapStart restore, a changed environment, tests).

    ``keep``: values to leave alone (a benchmark that measures cold caches on warm clients).
    """
    with _registry_lock:
        values = [value for value in reversed(_registered) if value not in keep]
    for value in values:
        value.clear()
