"""SnapStart runtime hooks shared by the handlers.

Environments restored from one snapshot must not share per-environment state
(AWS clients, their connections and credentials, the SDK client, caches built
on them); heavy imports, on the other hand, are best paid once, in the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable


def reset_core() -> None:
    """Forget the container's clients, caches and settings (after a restore)."""
    from agents import container

    container.reset()


def import_heavy() -> None:
    """Pay the heavy imports in the snapshot (no clients, no secrets)."""
    import anthropic  # noqa: F401
    import boto3  # noqa: F401


def install(
    *,
    after_restore: Callable[[], None] = reset_core,
    before_snapshot: Callable[[], None] = import_heavy,
) -> bool:
    """Register the hooks where the Lambda Python runtime offers them; False elsewhere.

    By default: forget every client and cache after a restore (:func:`reset_core`), pay
    the heavy imports before the snapshot (:func:`import_heavy`)."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:  # outside the Lambda Python runtime
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
