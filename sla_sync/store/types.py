"""Column types shared by the store's tables.

:class:`UtcDateTime` is the only datetime type the store uses. Every stored instant is
timezone-aware UTC (an architecture invariant), on both databases:

* PostgreSQL: ``timestamp with time zone``; values read back are converted to UTC whatever the
  session's ``TimeZone`` setting is.
* SQLite has no datetime type, so instants are stored as fixed-width ISO-8601 strings in UTC
  (``2026-11-03T14:05:00.000000Z``, always 27 characters). Fixed width and a single zone make
  string order equal time order, so ``ORDER BY``, ``<`` and ``BETWEEN`` on these columns are
  correct.

Naive datetimes are refused when bound, with :class:`~sla_sync.domain.NaiveDatetimeError`
(SQLAlchemy wraps it in a ``StatementError`` whose ``orig`` is that error).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from sla_sync.domain import NaiveDatetimeError

_SQLITE_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
_SQLITE_WIDTH: Final = 27


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` column (see the module docstring).

    Binding converts any aware value to UTC; binding a naive one raises
    :class:`~sla_sync.domain.NaiveDatetimeError`. Reading always returns aware UTC values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(_SQLITE_WIDTH))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected an aware datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                f"cannot store naive datetime {value.isoformat()}: "
                "the store keeps only timezone-aware instants (convert to UTC first)"
            )
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.strftime(_SQLITE_FORMAT)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            parsed = datetime.strptime(value, _SQLITE_FORMAT)  # noqa: DTZ007 - zone set below
            return parsed.replace(tzinfo=UTC)
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected stored instant {value!r}")
        if value.tzinfo is None:
            # Only reachable if a row was written around this type (raw SQL); such values
            # were UTC by the store's contract.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
