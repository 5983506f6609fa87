"""One CRM record, value normalisation, and how records are rendered as JSON.

Values are stored as HubSpot sends them: strings, datetimes as ``YYYY-MM-DDThh:mm:ss.sssZ`` (so
comparing the strings compares the instants), ``None`` for "no value". Property history is kept
oldest first and rendered newest first, as HubSpot does.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sla_sync.sandbox.clock import iso_millis
from sla_sync.sandbox.hubspot.schema import PropertyDef
from sla_sync.sandbox.hubspot.wire import HubSpotError, validation_error


@dataclass(slots=True)
class Version:
    """One entry of a property's history."""

    value: str
    timestamp: str
    source_type: str
    source_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "timestamp": self.timestamp,
            "sourceType": self.source_type,
        }
        if self.source_id is not None:
            out["sourceId"] = self.source_id
        return out


@dataclass(slots=True)
class Record:
    """A contact or engagement."""

    id: int
    type: str
    created_at: str
    updated_at: str
    props: dict[str, str | None] = field(default_factory=dict)
    history: dict[str, list[Version]] = field(default_factory=dict)
    archived: bool = False
    archived_at: str | None = None

    def to_json(
        self,
        names: Iterable[str],
        defined: Container[str],
        with_history: Iterable[str] = (),
        nulls: bool = True,
    ) -> dict[str, Any]:
        """``SimplePublicObject``: requested ``names`` (``None`` for known ones without a value)."""
        props: dict[str, str | None] = {}
        for name in names:
            value = self.props.get(name)
            if value is not None or (nulls and name in defined):
                props[name] = value
        out: dict[str, Any] = {"id": str(self.id), "properties": props}
        hist = list(with_history)
        if hist:
            out["propertiesWithHistory"] = {
                name: [v.to_json() for v in reversed(self.history.get(name, []))] for name in hist
            }
        out["createdAt"] = self.created_at
        out["updatedAt"] = self.updated_at
        out["archived"] = self.archived
        if self.archived:
            out["archivedAt"] = self.archived_at
        return out


def to_iso(value: str, kind: str) -> str:
    """Normalise a date/datetime write (ISO 8601 or epoch milliseconds) to HubSpot's output form.

    Raises:
        ValueError: not a date HubSpot would accept.
    """
    value = value.strip()
    if value.lstrip("-").isdigit():
        instant = datetime.fromtimestamp(int(value) / 1000, UTC)
    else:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        instant = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind == "date":
        if (instant.hour, instant.minute, instant.second, instant.microsecond) != (0, 0, 0, 0):
            raise ValueError("date values must be midnight UTC")
        return instant.strftime("%Y-%m-%d")
    return iso_millis(instant)


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
    from sla_sync.sandbox.hubspot.schema import READ_ONLY

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
        if name in READ_ONLY or name.startswith(("hs_v2_date_", "hs_lifecyclestage_")):
            continue
        value = as_string(raw)
        if value is None:
            out[name] = None
            continue
        kind = definition.type
        try:
            if kind in ("datetime", "date"):
                value = to_iso(value, kind)
            elif kind == "number":
                float(value)
            elif kind == "bool":
                if value.lower() not in ("true", "false"):
                    raise ValueError(value)
                value = value.lower()
        except ValueError:
            code = "INVALID_DATE" if kind in ("datetime", "date") else "INVALID_INTEGER"
            errors.append(validation_error(f"{value!r} is not a valid {kind}", code, name))
            continue
        if name in ("lifecyclestage", "hs_lead_status"):
            allowed = {str(o["value"]) for o in definition.options}
            if value not in allowed:
                msg = f"{value} was not one of the allowed options"
                errors.append(validation_error(msg, "INVALID_OPTION", name))
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
