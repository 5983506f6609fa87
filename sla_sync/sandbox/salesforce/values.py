"""Field values on the wire: JSON input coerced to stored Python values, and stored values to JSON.

Stored values are typed (``datetime`` aware UTC, ``date``, ``bool``, ``int``/``float``, ``str``) so
SOQL comparisons and sorts work on them directly; the wire formats are Salesforce's
(``2026-11-20T18:00:00.000+0000`` for dateTime, ``2026-11-20`` for date).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sla_sync.sandbox.salesforce.ids import to18
from sla_sync.sandbox.salesforce.schema import FieldDef


class FieldValueError(ValueError):
    """A value Salesforce rejects: ``code`` is the per-record ``statusCode``."""

    def __init__(self, code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields


def sf_datetime(instant: datetime) -> str:
    """``2026-11-20T18:00:00.000+0000``: how the REST API writes a dateTime."""
    if instant.utcoffset():
        instant = instant.astimezone(UTC)
    # Hand-formatted: strftime dominates rendering 2,000-row query pages otherwise.
    return (
        f"{instant.year:04d}-{instant.month:02d}-{instant.day:02d}T{instant.hour:02d}:{instant.minute:02d}:"
        f"{instant.second:02d}.{instant.microsecond // 1000:03d}+0000"
    )


def to_json(value: Any) -> Any:
    """A stored value as REST JSON."""
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_datetime(raw: str) -> datetime:
    """Accept ``...Z``, ``...+00:00``, ``...+0000``, with or without fractional seconds.

    Raises:
        ValueError: not an ISO-8601 dateTime.
    """
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        # Salesforce reads an offset-less dateTime as UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def coerce(fdef: FieldDef, value: Any) -> Any:
    """``value`` (from a JSON body) as the stored value of ``fdef``.

    Raises:
        FieldValueError: with Salesforce's statusCode for a value of the wrong type.
    """
    if value is None:
        return None
    name, kind = fdef.name, fdef.type

    def bad() -> FieldValueError:  # built only when needed: coerce runs for every written value
        return FieldValueError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{fdef.label or name}: value not of required type: {value}",
            [name],
        )

    if kind == "datetime":
        if not isinstance(value, str):
            raise bad()
        try:
            return parse_datetime(value)
        except ValueError:
            raise bad() from None
    if kind == "date":
        if not isinstance(value, str):
            raise bad()
        try:
            # A dateTime given for a date field keeps its day (Salesforce truncates).
            return date.fromisoformat(value[:10])
        except ValueError:
            raise bad() from None
    if kind == "boolean":
        if not isinstance(value, bool):
            raise bad()
        return value
    if kind in ("int",):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad()
        return int(value)
    if kind in ("double", "currency", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad()
        return float(value)
    if kind in ("id", "reference"):
        try:
            return to18(str(value))
        except ValueError:
            raise FieldValueError(
                "MALFORMED_ID", f"{fdef.label or name}: id value of incorrect type: {value}", [name]
            ) from None
    text = value if isinstance(value, str) else str(value)
    if kind == "picklist" and fdef.restricted and fdef.picklist and text not in fdef.picklist:
        raise FieldValueError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{fdef.label or name}: bad value for restricted picklist field: {text}",
            [name],
        )
    if len(text) > fdef.length and kind in ("string", "textarea", "email", "phone", "url"):
        raise FieldValueError(
            "STRING_TOO_LONG",
            f"{fdef.label or name}: data value too large: {text[:40]} (max length={fdef.length})",
            [name],
        )
    return text
