"""Schema migrations: ``upgrade``, ``downgrade`` and ``current_revision`` by database URL.

Each call runs all of its migration steps in ONE transaction (both SQLite and PostgreSQL have
transactional DDL), so a failed or interrupted migration leaves the previous schema intact.

* PostgreSQL: the transaction first takes a transaction-scoped advisory lock, so two starters
  (a compose one-shot and an impatient operator) run one after the other, never interleaved.
* SQLite: foreign key enforcement is off while migrating (batch mode recreates tables, which
  enforcement would block, and the pragma cannot change inside a transaction); the keys are
  checked with ``PRAGMA foreign_key_check`` before commit instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from sla_sync.store.engine import create_engine

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock that serialises migrations ("slasync" in ASCII).
MIGRATION_LOCK_KEY: Final = 0x736C6173796E63


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (and was rolled back)."""


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (creating the schema if empty)."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str | URL, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"``: drop everything)."""
    _run(url, lambda config: command.downgrade(config, revision))


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision shipped with this version of sla-sync."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise MigrationError("no migrations shipped")
    return head


def _run(url: str | URL, step: Callable[[Config], None]) -> None:
    engine = create_engine(url, sqlite_foreign_keys=False, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            _lock(connection)
            config = alembic_config()
            config.attributes["connection"] = connection
            step(config)
            _check_foreign_keys(connection)
    finally:
        engine.dispose()


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        # Bound DDL waits behind a running worker's transaction rather than hang forever.
        connection.execute(text("SET LOCAL lock_timeout = '60s'"))


def _check_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        raise MigrationError(f"migration broke foreign keys (rolled back): {problems[:5]}")
