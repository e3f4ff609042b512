"""Benchmarks that print tables (``python -m bench.<name>``); not timed tests."""
