"""Fixtures for the store tests (the database fixtures live in ``tests/conftest.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from sla_sync.store import repositories as repo


@pytest.fixture
def connection_id(session: Session) -> int:
    """A HubSpot connection row, committed."""
    cid = repo.ensure_connection(session, "hubspot-main", "hubspot")
    session.commit()
    return cid
