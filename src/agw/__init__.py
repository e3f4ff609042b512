"""The `agw` command-line client and local tooling (not shipped to Lambda)."""
