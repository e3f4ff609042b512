"""Shared fixtures live in ``tests/plugins/`` (one module per concern)."""

pytest_plugins = ["tests.plugins.aws"]
