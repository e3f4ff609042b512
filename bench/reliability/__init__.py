"""The reliability and security suite: ten scenarios returning figures (docs/reliability.md).

``python -m bench.reliability`` prints the table; ``tests/reliability`` asserts on the same
functions.
"""
