"""The reliability suite's stack (``bench.reliability.harness.Harness``), one per test module.

In-process on purpose: scenarios inspect the fake model's counters and the store directly.
Module scope keeps its environment changes (``os.environ``, reset singletons) inside the
module that asked for it; ``stop()`` restores them. Nothing else may reset moto while it
runs, which holds because pytest runs the tests of a module one after another.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.reliability.harness import Harness


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """The whole local stack with the SQS worker (short timeouts: see the harness docs)."""
    with Harness() as running:
        yield running


@pytest.fixture(scope="module")
def api_harness() -> Iterator[Harness]:
    """The whole local stack without the SQS worker (the API-only scenarios)."""
    with Harness(worker=False) as running:
        yield running
