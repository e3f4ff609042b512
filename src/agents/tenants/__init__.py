"""Tenants and their access keys: records in the TenantsTable, key hashing, budgets.

:mod:`~agents.tenants.keys` is the key format and hash, :mod:`~agents.tenants.table` the
records, :mod:`~agents.tenants.authenticate` the authorizer's decision,
``lifecycle`` (operator-only) the operator's commands and
:mod:`~agents.tenants.budget` the per-tenant spend caps. docs/security.md is the design.
"""
