"""One CRM record, value normalisation, and how records are rendered as JSON.

Values are stored as HubSpot sends them: strings, datetimes as ``YYYY-MM-DDThh:mm:ss.sssZ`` (so
comparing the strings compares the instants), ``None`` for "no value". Property history is kept
oldest first and rendered newest first, as HubSpot does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sla_sync.sandbox.clock import iso_millis
from sla_sync.sandbox.hubspot.schema import READ_ONLY, PropertyDef
from sla_sync.sandbox.hubspot.wire import HubSpotError, validation_error

# A record's property history is one flat list, oldest first, of ``HISTORY_STRIDE`` slots per
# version: property name, value ("" for a cleared value), timestamp, source type (or
# ``(source type, source id)``). A list of ``Version`` objects per property cost ~150 bytes a
# version; this costs ~32 (1,000,000 seeded leads: 5.2 GB peak RSS instead of ~10).
HISTORY_STRIDE = 4
# Stamped by the emulator on lifecycle changes; writes to them are ignored.
DERIVED_PREFIXES = ("hs_v2_date_", "hs_lifecyclestage_")
HistoryEntry = str | tuple[str, str]


@dataclass(slots=True)
class Record:
    """A contact or engagement."""

    id: int
    type: str
    created_at: str
    updated_at: str
    props: dict[str, str | None] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)
    archived: bool = False
    archived_at: str | None = None

    def add_version(
        self, name: str, value: str, timestamp: str, source: str, source_id: str | None = None
    ) -> None:
        """Append one version of ``name`` to the history."""
        self.history += (
            name,
            value,
            timestamp,
            source if source_id is None else (source, source_id),
        )

    def versions(self, name: str) -> list[dict[str, Any]]:
        """The history of ``name`` as HubSpot renders it (``PropertyHistory``, newest first)."""
        h = self.history
        out: list[dict[str, Any]] = []
        for i in range(len(h) - HISTORY_STRIDE, -1, -HISTORY_STRIDE):
            if h[i] != name:
                continue
            source = h[i + 3]
            entry: dict[str, Any] = {"value": h[i + 1], "timestamp": h[i + 2]}
            if isinstance(source, tuple):
                entry["sourceType"], entry["sourceId"] = source
            else:
                entry["sourceType"] = source
            out.append(entry)
        return out

    def to_json(
        self,
        names: Iterable[str],
        defined: Container[str],
        with_history: Sequence[str] = (),
        nulls: bool = True,
    ) -> dict[str, Any]:
        """``SimplePublicObject``: requested ``names`` (``None`` for known ones without a value)."""
        get = self.props.get
        if nulls:
            props = {n: v for n in names if (v := get(n)) is not None or n in defined}
        else:
            props = {n: v for n in names if (v := get(n)) is not None}
        out: dict[str, Any] = {"id": str(self.id), "properties": props}
        if with_history:
            out["propertiesWithHistory"] = {name: self.versions(name) for name in with_history}
        out["createdAt"] = self.created_at
        out["updatedAt"] = self.updated_at
        out["archived"] = self.archived
        if self.archived:
            out["archivedAt"] = self.archived_at
        return out

    def full_json(self) -> dict[str, Any]:
        """``SimplePublicObject`` with every property that has a value (write answers)."""
        out: dict[str, Any] = {
            "id": str(self.id),
            "properties": {k: v for k, v in self.props.items() if v is not None},
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": self.archived,
        }
        if self.archived:
            out["archivedAt"] = self.archived_at
        return out


# ``2026-09-01T13:05:22Z`` or ``2026-09-01T13:05:22.123Z``: already (nearly) the stored form, so
# it skips ``fromisoformat``/``strftime`` (the seed generator's instants all look like this).
_UTC_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{3})?Z")


def iso_ms(instant: datetime) -> str:
    """``2026-11-20T18:00:00.123Z`` (as :func:`sla_sync.sandbox.clock.iso_millis`, faster)."""
    if instant.utcoffset():
        instant = instant.astimezone(UTC)
    if instant.year < 1000:
        return iso_millis(instant)
    return (
        f"{instant.year}-{instant.month:02d}-{instant.day:02d}T{instant.hour:02d}:"
        f"{instant.minute:02d}:{instant.second:02d}.{instant.microsecond // 1000:03d}Z"
    )


def to_iso(value: str, kind: str) -> str:
    """Normalise a date/datetime write (ISO 8601 or epoch milliseconds) to HubSpot's output form.

    Raises:
        ValueError: not a date HubSpot would accept.
    """
    value = value.strip()
    if kind == "datetime":
        m = _UTC_ISO.fullmatch(value)
        if m is not None:
            y, mo, d, h, mi, sec, ms = m.groups()
            datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec), tzinfo=UTC)  # in range?
            return value if ms is not None else value[:-1] + ".000Z"
    if value.lstrip("-").isdigit():
        instant = datetime.fromtimestamp(int(value) / 1000, UTC)
    else:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        instant = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind == "date":
        if (instant.hour, instant.minute, instant.second, instant.microsecond) != (0, 0, 0, 0):
            raise ValueError("date values must be midnight UTC")
        return instant.strftime("%Y-%m-%d")
    return iso_ms(instant)


def as_string(value: Any) -> str | None:
    """A JSON property value as HubSpot stores it (``true`` -> ``"true"``, ``""`` -> None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return None if text == "" else text


def _invalid(errors: list[dict[str, Any]]) -> HubSpotError:
    results = [
        {
            "isValid": False,
            "message": e["message"],
            "error": e["code"],
            "name": e["context"]["propertyName"][0],
        }
        for e in errors
    ]
    message = "Property values were not valid: " + json.dumps(results, separators=(",", ":"))
    return HubSpotError(400, message, category="VALIDATION_ERROR", errors=errors)


def normalize(
    props: Mapping[str, Any],
    defined: Mapping[str, PropertyDef],
    *,
    stage_order: Mapping[str, int],
    current: Record | None,
    lenient: bool = False,
) -> dict[str, str | None]:
    """Validate and normalise a write; returns ``{name: value or None (clear)}``.

    Read-only system values are dropped silently. ``lenient`` drops unknown properties instead
    of refusing them (the calls/tasks guides' behaviour).

    Raises:
        HubSpotError: 400 ``VALIDATION_ERROR`` with one ``errors`` entry per bad property
            (``PROPERTY_DOESNT_EXIST``, ``INVALID_DATE``, ``INVALID_OPTION``, ``INVALID_INTEGER``).
    """
    out: dict[str, str | None] = {}
    errors: list[dict[str, Any]] = []
    for name, raw in props.items():
        definition = defined.get(name)
        if definition is None:
            if not lenient:
                errors.append(
                    validation_error(
                        f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST", name
                    )
                )
            continue
        if name in READ_ONLY or name.startswith(DERIVED_PREFIXES):
            continue
        if raw is None or raw == "":
            out[name] = None
            continue
        value = raw if type(raw) is str else as_string(raw)
        if value is None:
            out[name] = None
            continue
        kind = definition.type
        if kind != "string" and kind != "enumeration":
            try:
                if kind == "datetime" or kind == "date":
                    value = to_iso(value, kind)
                elif kind == "number":
                    if not math.isfinite(float(value)):  # float() takes "nan" and "inf"
                        raise ValueError(value)
                elif kind == "bool":
                    if value.lower() not in ("true", "false"):
                        raise ValueError(value)
                    value = value.lower()
            except (ValueError, OverflowError):
                # INVALID_DATE / INVALID_INTEGER are the reference's codes (§4.2); a bad bool
                # answering INVALID_OPTION is a guess (HubSpot bools carry true/false options).
                code = {"datetime": "INVALID_DATE", "date": "INVALID_DATE"}.get(kind)
                code = code or ("INVALID_INTEGER" if kind == "number" else "INVALID_OPTION")
                errors.append(validation_error(f"{value!r} is not a valid {kind}", code, name))
                continue
        elif kind == "enumeration" and definition.checks_options:
            allowed = definition.allowed
            if definition.field_type == "checkbox":
                # Multiple values, ";"-separated; a leading ";" appends to the current ones
                # (reference §2.5).
                parts = [v for v in value.split(";") if v]
                if value.startswith(";") and current is not None and current.props.get(name):
                    kept = (current.props.get(name) or "").split(";")
                    parts = list(dict.fromkeys([*(v for v in kept if v), *parts]))
                bad = [v for v in parts if v not in allowed]
                value = ";".join(parts)
            else:
                bad = [] if value in allowed else [value]
            if bad:
                msg = f"{bad[0]} was not one of the allowed options"
                errors.append(validation_error(msg, "INVALID_OPTION", name))
                continue
            if not value:
                out[name] = None
                continue
        if name == "lifecyclestage" and current is not None:
            now = current.props.get("lifecyclestage")
            if now is not None and stage_order.get(value, 0) < stage_order.get(now, 0):
                msg = (
                    f"Lifecycle stage can only move forward ({now} -> {value}); "
                    "clear it first to set an earlier stage"
                )
                errors.append(validation_error(msg, "INVALID_OPTION", name))
                continue
        out[name] = value
    if errors:
        raise _invalid(errors)
    return out
