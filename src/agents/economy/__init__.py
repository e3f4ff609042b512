"""Economy batches: items run in Anthropic Message Batches at batch prices (docs/batches.md).

:mod:`~agents.economy.submitter` drains the economy queue into Message Batches,
:mod:`~agents.economy.collector` polls them and applies their results, and
:mod:`~agents.store.economy` holds their conditional writes. Nothing here imports
``anthropic`` at import time.
"""
