"""The one place that picks the dialect's ``INSERT ... ON CONFLICT`` construct.

SQLite (3.24+) and PostgreSQL spell upserts the same way and SQLAlchemy gives both the same API
(``on_conflict_do_update`` / ``on_conflict_do_nothing`` / ``excluded``), but through two classes.
Repositories call :func:`insert_for` and never import a dialect themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

#: Rows per statement when a caller hands over a large batch, and ids per ``IN (...)`` list:
#: well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
CHUNK: Final = 500

DialectInsert = postgresql.Insert | sqlite.Insert

T = TypeVar("T")


class UnsupportedDialectError(RuntimeError):
    """The session is bound to a database other than SQLite or PostgreSQL."""


def insert_for(session: Session, table: Table) -> DialectInsert:
    """An ``INSERT`` for ``table`` in the session's dialect, with ``ON CONFLICT`` support."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise UnsupportedDialectError(f"no upsert support for dialect {name!r}")


def content_hash(values: dict[str, Any]) -> str:
    """A stable digest of a row's content, to skip upserts that would change nothing.

    Instants are hashed in UTC, so the same instant read in another zone hashes the same.
    """
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def dedupe_last(rows: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """Keep the last row per key, in first-seen order.

    PostgreSQL refuses an ``ON CONFLICT DO UPDATE`` that touches one row twice in a statement,
    and CRMs do return the same record twice in a page (same-timestamp pagination overlaps).
    """
    by_key: dict[Hashable, T] = {}
    for row in rows:
        by_key[key(row)] = row
    return list(by_key.values())


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
