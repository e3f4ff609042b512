"""agent-gateway core: definitions, registry, runner, store and services.

Free of Lambda event shapes; importable and testable without AWS. Keep this
module empty of imports: handlers import submodules lazily (cold start).
"""
