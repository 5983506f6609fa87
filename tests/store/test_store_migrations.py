"""Migrations: round trip on every backend, models and migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from sla_sync.store.engine import create_engine
from sla_sync.store.migrate import current_revision, downgrade, head_revision, upgrade
from sla_sync.store.models import Base

TABLES = {
    "connections",
    "owners",
    "leads",
    "lifecycle_changes",
    "owner_changes",
    "field_changes",
    "touches",
    "lead_cycles",
    "goal_versions",
    "period_attainment",
    "confirmed_values",
    "outbox",
    "alerts",
    "sync_cursors",
    "runs",
    "quarantined_records",
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(database_url: str) -> None:
    assert current_revision(database_url) is None

    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert _tables(database_url) == TABLES

    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    assert _tables(database_url) == set()

    upgrade(database_url, revision="head")
    assert current_revision(database_url) == head_revision()
    assert _tables(database_url) == TABLES


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()


def test_models_match_migrations(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
