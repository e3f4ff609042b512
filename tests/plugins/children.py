"""Python child processes of this checkout: ``src`` and the repository root on the path."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["REPO", "checkout_environment", "python_output", "run_python"]

REPO = Path(__file__).resolve().parents[2]


def checkout_environment(
    extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``base`` (default: this process's environment) with the checkout on ``PYTHONPATH``,
    then ``extra``."""
    path = os.pathsep.join([str(REPO / "src"), str(REPO)])
    return {**(os.environ if base is None else base), "PYTHONPATH": path, **(extra or {})}


def run_python(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the repository root, its output captured; its exit is not checked.
    ``env``: the child's whole environment (default: :func:`checkout_environment`)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=dict(env) if env is not None else checkout_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def python_output(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 120
) -> str:
    """:func:`run_python`, asserting the child exited 0 (else its stderr's tail): its stdout."""
    done = run_python(args, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
