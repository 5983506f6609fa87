"""The SLA engine: pure functions over domain values and policies.

Nothing in this package does I/O or reads the clock: time enters as ``as_of`` arguments. The
import-linter contracts in ``pyproject.toml`` keep connectors, the store and the runtime out.
"""
