"""Shared fixtures: a database per test on every backend the run asks for.

Backends come from ``SLA_SYNC_TEST_BACKENDS`` (comma-separated, default ``sqlite,postgres``):

* ``sqlite``: a file in the test's tmp directory;
* ``postgres``: a scratch database ``sla_sync_test_<random>`` created through the admin URL
  ``SLA_SYNC_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
  and dropped afterwards. Tests on it carry the ``postgres`` marker (``-m "not postgres"`` skips
  them). The server is probed once per session with a short connect timeout; when it does not
  answer, those tests SKIP with the reason, unless ``SLA_SYNC_REQUIRE_POSTGRES=1`` (CI), which
  makes them FAIL.

Fixtures: ``backend``; ``database_url`` (a new empty database); ``migrated_url`` and
``migrated_engine`` (schema at head, no rows; the engine asserts no pooled connection leaked);
``session_maker`` and ``session`` (rolled back and closed at the end); ``postgres_url`` (a
scratch PostgreSQL database even in a test not parametrised over backends).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from sla_sync.store.engine import create_engine, normalize_url, session_factory
from sla_sync.store.migrate import upgrade
from sla_sync.store.models import Base

BACKENDS_ENV = "SLA_SYNC_TEST_BACKENDS"
ADMIN_URL_ENV = "SLA_SYNC_TEST_POSTGRES_URL"
REQUIRE_ENV = "SLA_SYNC_REQUIRE_POSTGRES"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PROBE_TIMEOUT_S = 3
KNOWN_BACKENDS = ("sqlite", "postgres")


def _selected_backends() -> list[str]:
    raw = os.environ.get(BACKENDS_ENV, "sqlite,postgres")
    names = list(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    unknown = sorted(set(names) - set(KNOWN_BACKENDS))
    if unknown:
        raise pytest.UsageError(
            f"{BACKENDS_ENV}={raw!r}: unknown backend(s) {unknown}; "
            f"choose from {', '.join(KNOWN_BACKENDS)}"
        )
    return names


SELECTED_BACKENDS = _selected_backends()
BACKENDS = [
    pytest.param(name, id=name, marks=[pytest.mark.postgres] if name == "postgres" else [])
    for name in SELECTED_BACKENDS
]


def _admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


@pytest.fixture(scope="session")
def postgres_admin_engine() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the admin database; skips (or fails) when PostgreSQL is away.

    Session-scoped: pytest caches a skip or failure raised here, so the probe runs once.
    """
    if "postgres" not in SELECTED_BACKENDS:
        pytest.skip(f"PostgreSQL not selected: {BACKENDS_ENV}={os.environ.get(BACKENDS_ENV)!r}")
    url = _admin_url()
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": PROBE_TIMEOUT_S},
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        reason = (
            f"PostgreSQL not reachable at {shown}: set {ADMIN_URL_ENV} "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''})"
        )
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason}; {REQUIRE_ENV}=1 requires it", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin_engine: Engine) -> Iterator[str]:
    """A scratch PostgreSQL database for one test, dropped afterwards."""
    name = f"sla_sync_test_{secrets.token_hex(6)}"
    with postgres_admin_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(postgres_admin_engine.url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin_engine.connect() as connection:
            # FORCE: a test that failed mid-transaction may still hold a connection.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of this parametrisation: ``"sqlite"`` or ``"postgres"``."""
    name: str = request.param
    return name


@pytest.fixture
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """URL of a new, empty database (no schema) for one test, on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'sla-sync.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def postgres_migrated_url(postgres_admin_engine: Engine) -> Iterator[str]:
    """One scratch PostgreSQL database at head for the whole session (see ``migrated_url``)."""
    name = f"sla_sync_test_{secrets.token_hex(6)}"
    with postgres_admin_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(postgres_admin_engine.url).set(database=name)
    try:
        upgrade(url)
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def migrated_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of a database with the schema at head and no rows, for one test.

    SQLite: a new file, migrated. PostgreSQL: creating and migrating a database costs ~0.6 s, so
    one migrated database serves the session and every table is emptied after each test. Do not
    migrate this database up or down in a test (use ``database_url`` for that).
    """
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sla-sync.db'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("postgres_migrated_url")
    yield url
    _empty_postgres(url)


def _empty_postgres(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    try:
        with engine.begin() as connection:
            # A connection a test left open would block TRUNCATE: fail loudly instead.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def migrated_engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on ``migrated_url`` (schema at head, no rows).

    At teardown, asserts every pooled connection was returned (a leaked one holds locks, and
    on SQLite blocks the next writer).
    """
    engine = create_engine(migrated_url)
    try:
        yield engine
        if isinstance(engine.pool, QueuePool):
            assert engine.pool.checkedout() == 0, f"leaked connections: {engine.pool.status()}"
    finally:
        engine.dispose()


@pytest.fixture
def session_maker(migrated_engine: Engine) -> sessionmaker[Session]:
    """The store's session factory on the migrated database."""
    return session_factory(migrated_engine)


@pytest.fixture
def session(session_maker: sessionmaker[Session]) -> Iterator[Session]:
    """A session on the migrated database; whatever was not committed is rolled back."""
    with session_maker() as db_session:
        yield db_session
        db_session.rollback()
