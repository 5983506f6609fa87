"""The store: SQLAlchemy 2 models, repositories and Alembic migrations (SQLite or PostgreSQL).

Public entry points:

* :mod:`sla_sync.store.engine` — :func:`~sla_sync.store.engine.create_engine`,
  :func:`~sla_sync.store.engine.session_factory`;
* :mod:`sla_sync.store.migrate` — ``upgrade`` / ``downgrade`` / ``current_revision``;
* :mod:`sla_sync.store.repositories` — every read and write, taking a ``Session``; they never
  commit: the caller owns the transaction (a page and its cursor commit together).

The store imports only :mod:`sla_sync.domain` from the product.
"""

from __future__ import annotations
