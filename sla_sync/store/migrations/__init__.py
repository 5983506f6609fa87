"""Alembic migrations of the store, shipped in the package; run by ``sla_sync.store.migrate``."""
