"""Engines and sessions for the store: SQLite (embedded default) or PostgreSQL (psycopg 3).

Contract:

* :func:`create_engine` accepts any SQLAlchemy URL string. ``postgresql://`` and
  ``postgres://`` URLs (no driver named) are mapped to ``postgresql+psycopg://``: psycopg 3 is
  the only PostgreSQL driver sla-sync ships with (the ``postgres`` extra).
* SQLite connections run in WAL mode with a busy timeout and ``foreign_keys=ON``; the directory
  of the database file is created if missing. sqlite3's legacy transaction handling is switched
  off (SQLAlchemy emits ``BEGIN`` itself) so that SAVEPOINTs and DDL are transactional, which the
  migrations and the "cursor saved in the page's transaction" rule rely on.
* No engine reads the clock or sets server-side defaults: callers pass every instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

#: How long a SQLite writer waits for another one before "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
#: How long a PostgreSQL connect may take before it fails (seconds).
POSTGRES_CONNECT_TIMEOUT_S: Final = 10

_POSTGRES_NAMES: Final = frozenset({"postgresql", "postgres"})


class UnsupportedDatabaseError(ValueError):
    """The URL names a database sla-sync does not support (only SQLite and PostgreSQL)."""


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pin the driver sla-sync uses for its backend.

    Raises:
        UnsupportedDatabaseError: the backend is neither SQLite nor PostgreSQL, or a PostgreSQL
            URL names a driver other than psycopg 3.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    if backend in _POSTGRES_NAMES:
        if driver not in (None, "psycopg"):
            raise UnsupportedDatabaseError(
                f"PostgreSQL driver {driver!r} is not supported: use postgresql+psycopg://"
            )
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if driver not in (None, "pysqlite"):
            raise UnsupportedDatabaseError(f"SQLite driver {driver!r} is not supported")
        return parsed
    raise UnsupportedDatabaseError(
        f"database {backend!r} is not supported: use sqlite:/// or postgresql+psycopg://"
    )


def is_sqlite(url_or_engine: str | URL | Engine) -> bool:
    """Whether the URL or engine points at SQLite."""
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


def create_engine(url: str | URL, *, sqlite_foreign_keys: bool = True, **kwargs: Any) -> Engine:
    """Create an :class:`~sqlalchemy.engine.Engine` configured for the store.

    ``sqlite_foreign_keys=False`` is only for migrations: SQLite's batch mode recreates tables,
    which foreign key enforcement would block; the migration checks the keys itself afterwards.
    Extra keyword arguments go to :func:`sqlalchemy.create_engine`.

    Raises:
        UnsupportedDatabaseError: see :func:`normalize_url`.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, foreign_keys=sqlite_foreign_keys, **kwargs)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("connect_timeout", POSTGRES_CONNECT_TIMEOUT_S)
    # pool_pre_ping: a long-running worker outlives server restarts and idle-connection reapers.
    kwargs.setdefault("pool_pre_ping", True)
    return sqlalchemy.create_engine(parsed, connect_args=connect_args, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``.

    ``expire_on_commit=False`` so that values loaded in a unit of work stay readable after its
    commit (repositories return frozen domain values anyway, not live rows).
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def _create_sqlite_engine(url: URL, *, foreign_keys: bool, **kwargs: Any) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sqlalchemy.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from sqlite3's legacy mode (see the module docstring);
        # the "begin" hook below emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                # WAL: readers (ops commands, health checks) never block the worker's writes.
                cursor.execute("PRAGMA journal_mode=WAL")
                # NORMAL is durable across application crashes in WAL mode; only a power loss
                # may drop the last transactions, which the next pull re-reads anyway.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sqlalchemy.Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine
