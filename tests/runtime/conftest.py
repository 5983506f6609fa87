"""Fixtures of the worker tests: the pipeline tests' sandbox HubSpot emulator and stores, and a
real local HTTP receiver for notifications (apprise ``json://`` URLs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sla_sync.store.engine import create_engine
from sla_sync.store.migrate import upgrade
from tests.pipeline.conftest import config, environ, portal, sandbox, store  # noqa: F401
from tests.runtime.support import Receiver


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite store, for tests whose backend does not matter (the ``store`` fixture
    runs on every backend)."""
    url = f"sqlite:///{tmp_path / 'store' / 'sla-sync.db'}"
    upgrade(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
