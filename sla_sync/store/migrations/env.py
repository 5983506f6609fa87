"""Alembic environment of the store, configured programmatically (no alembic.ini needed).

:mod:`sla_sync.store.migrate` passes an open connection in ``config.attributes["connection"]``
(inside a transaction it owns). For development commands (``alembic revision
--autogenerate``) a URL may come from ``-x url=...`` or ``SLA_SYNC_DATABASE_URL`` instead.

``render_as_batch=True``: SQLite cannot ALTER most things, so Alembic's batch mode recreates
tables there; the naming convention on the metadata gives every constraint the name batch mode
needs to drop or alter it.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from sla_sync.store.engine import create_engine
from sla_sync.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    # A no-op when the caller already opened a transaction on the connection.
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against the connection the caller passed, or a URL for development commands."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "SLA_SYNC_DATABASE_URL"
    )
    if not url:
        raise RuntimeError(
            "no database: run migrations with `sla-sync db upgrade`, or pass -x url=..."
        )
    engine = create_engine(url, sqlite_foreign_keys=False)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()
