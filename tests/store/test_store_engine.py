"""Engine set-up: SQLite pragmas and data directory, PostgreSQL driver mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from sla_sync.store.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    UnsupportedDatabaseError,
    create_engine,
    is_sqlite,
    normalize_url,
    session_factory,
)


def test_sqlite_engine_creates_data_dir_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data" / "sla-sync.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            assert busy == SQLITE_BUSY_TIMEOUT_MS
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert path.exists()
    finally:
        engine.dispose()


def test_sqlite_transactions_are_real(tmp_path: Path) -> None:
    """DDL and savepoints take part in the transaction (sqlite3's legacy mode is off)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'tx.db'}")
    try:
        with engine.connect() as connection:
            with connection.begin() as tx:
                connection.execute(text("CREATE TABLE t (x INTEGER)"))
                tx.rollback()
            names = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).all()
            assert names == []
    finally:
        engine.dispose()


def test_foreign_keys_can_be_switched_off_for_migrations(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fk.db'}", sqlite_foreign_keys=False)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_normalize_url_pins_psycopg(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql+psycopg2://u@h/db"])
def test_unsupported_databases_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseError):
        create_engine(url)


def test_engine_and_session_on_every_backend(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert is_sqlite(engine) == database_url.startswith("sqlite")
        if not is_sqlite(engine):
            assert engine.dialect.driver == "psycopg"
        with session_factory(engine)() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
