"""Shared fixtures live in ``tests/plugins/`` (one module per concern)."""

pytest_plugins = [
    "tests.plugins.aws",
    "tests.plugins.logs",
    "tests.plugins.model",
    "tests.plugins.agents",
    "tests.plugins.stack",
    "tests.plugins.event_log",
    "tests.plugins.local_stack",
    "tests.plugins.api",
    "tests.plugins.dev_stack",
    "tests.plugins.reliability",
    "tests.plugins.worker",
    "tests.plugins.tenants",
    "tests.plugins.webhooks",
]
