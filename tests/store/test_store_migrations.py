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
    # 0002
    "lead_mqls",
    "evaluation_queue",
    "push_queue",
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


def test_0002_backfills_touch_activity_ids(database_url: str) -> None:
    from sqlalchemy import text

    upgrade(database_url, revision="0001")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO connections (id, name, kind) VALUES (1, 'c', 'x')")
            )
            for crm_id, lead in (("501/11", "11"), ("odd-id", "12"), ("7/8/9", "9")):
                connection.execute(
                    text(
                        "INSERT INTO touches (connection_id, crm_id, lead_crm_id, kind, "
                        "direction, automated, by_sla_sync, occurred_at, content_hash) VALUES "
                        "(1, :crm_id, :lead, 'call', 'outbound', false, false, "
                        ":at, 'h')"
                    ),
                    {"crm_id": crm_id, "lead": lead, "at": "2026-11-02T10:00:00.000000Z"},
                )
        upgrade(database_url)
        with engine.connect() as connection:
            found = dict(
                connection.execute(text("SELECT crm_id, activity_crm_id FROM touches")).all()
            )
    finally:
        engine.dispose()
    assert found == {"501/11": "501", "odd-id": None, "7/8/9": "7/8"}
