"""The SLA properties sla-sync keeps on HubSpot contacts, and their values both ways.

One property per :class:`~sla_sync.connectors.base.SlaField`, named ``sla_sync_<field>``, in
the group ``sla_sync`` ("SLA (sla-sync)"). HubSpot's public API cannot make a custom property
read-only for users (``modificationMetadata.readOnlyValue`` is output-only; ``PropertyCreate``
has no such field), so the description says the worker overwrites edits, and the properties
stay off forms (``formField: false``).

Values: :class:`~sla_sync.connectors.base.FieldUpdate` carries CRM-neutral strings (ISO-8601
UTC instants such as ``2026-11-23T15:04:05Z``, decimals such as ``42`` or ``87.5``, enum values).
:func:`canonical` is the ONE normal form, applied to what the worker sends and to what HubSpot
answers, so a value written comes back equal (``...05.000Z`` == ``...05Z``, ``42.0`` == ``42``)
and the worker never loops rewriting it. :func:`to_hubspot` renders the canonical value as
HubSpot wants it on a write (datetimes as ISO with milliseconds; ``""`` clears).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sla_sync.connectors.base import SlaField, SlaStatus

OBJECT_TYPE = "contacts"
GROUP_NAME = "sla_sync"
GROUP_LABEL = "SLA (sla-sync)"
PREFIX = "sla_sync_"
MANAGED = "Maintained by sla-sync; manual edits are overwritten on its next run."

STATUS_LABELS: dict[SlaStatus, str] = {
    SlaStatus.ON_TRACK: "On track",
    SlaStatus.AT_RISK: "At risk",
    SlaStatus.BREACHED: "Breached",
    SlaStatus.MET: "Met",
    SlaStatus.PAUSED: "Paused",
    SlaStatus.CLOSED: "Closed",
    SlaStatus.NOT_IN_SLA: "Not in SLA",
}


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """A HubSpot property sla-sync owns: ``type``/``field_type`` as the Properties API names
    them; ``options`` as (value, label) pairs for enumerations."""

    field: SlaField
    name: str
    label: str
    type: str
    field_type: str
    description: str
    options: tuple[tuple[str, str], ...] = ()

    def create_body(self, display_order: int) -> dict[str, object]:
        """The ``POST /crm/v3/properties/contacts`` body."""
        body: dict[str, object] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": GROUP_NAME,
            "description": f"{self.description} {MANAGED}",
            "displayOrder": display_order,
            "formField": False,
            "hasUniqueValue": False,
        }
        if self.options:
            body["options"] = self.option_bodies()
        return body

    def option_bodies(self) -> list[dict[str, object]]:
        """``options`` as the Properties API takes them."""
        return [
            {"value": value, "label": label, "displayOrder": i, "hidden": False}
            for i, (value, label) in enumerate(self.options)
        ]


def _spec(
    field: SlaField,
    label: str,
    type_: str,
    field_type: str,
    description: str,
    options: tuple[tuple[str, str], ...] = (),
) -> PropertySpec:
    return PropertySpec(field, PREFIX + field.value, label, type_, field_type, description, options)


PROPERTIES: dict[SlaField, PropertySpec] = {
    s.field: s
    for s in (
        _spec(
            SlaField.STATUS,
            "SLA status",
            "enumeration",
            "select",
            "Where the lead stands against its follow-up SLA.",
            tuple((s.value, STATUS_LABELS[s]) for s in SlaStatus),
        ),
        _spec(
            SlaField.DUE_AT, "SLA due", "datetime", "date", "When the next SLA commitment is due."
        ),
        _spec(
            SlaField.FIRST_TOUCH_AT,
            "SLA first touch",
            "datetime",
            "date",
            "When the owner first touched the lead in this SLA cycle.",
        ),
        _spec(
            SlaField.MINUTES_TO_FIRST_TOUCH,
            "SLA business minutes to first touch",
            "number",
            "number",
            "Business minutes from the SLA start to the first touch.",
        ),
        _spec(
            SlaField.ATTEMPTS_MADE,
            "SLA attempts made",
            "number",
            "number",
            "Follow-up attempts counted in the SLA window.",
        ),
        _spec(
            SlaField.ATTEMPTS_REQUIRED,
            "SLA attempts required",
            "number",
            "number",
            "Follow-up attempts the SLA requires.",
        ),
        _spec(SlaField.TIER, "SLA tier", "string", "text", "The SLA tier the lead falls in."),
        _spec(
            SlaField.AGREEMENT,
            "SLA agreement",
            "string",
            "text",
            "The SLA agreement that covers the lead.",
        ),
        _spec(
            SlaField.OWNER_SPEED_MTD,
            "SLA owner speed attainment (month to date, %)",
            "number",
            "number",
            "Share (0-100) of the owner's leads this month first touched in time.",
        ),
        _spec(
            SlaField.UPDATED_AT,
            "SLA last updated",
            "datetime",
            "date",
            "When sla-sync last changed these fields.",
        ),
    )
}
BY_NAME: dict[str, PropertySpec] = {s.name: s for s in PROPERTIES.values()}
NAMES: tuple[str, ...] = tuple(s.name for s in PROPERTIES.values())


def property_name(field: SlaField) -> str:
    """The HubSpot property that holds ``field``."""
    return PROPERTIES[field].name


# --------------------------------------------------------------------------- values

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _canonical_instant(raw: str) -> str:
    """An ISO-8601 instant with a zone, or epoch milliseconds (HubSpot answers either), as
    ``YYYY-MM-DDTHH:MM:SSZ`` (``.mmmZ`` when the milliseconds are not zero). Sub-millisecond
    digits are dropped: HubSpot keeps milliseconds."""
    if raw.lstrip("-").isdigit():
        instant = _EPOCH + timedelta(milliseconds=int(raw))
    else:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(f"instant {raw!r} has no time zone")
        instant = parsed.astimezone(UTC)
    millis = instant.microsecond // 1000
    base = instant.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


def _canonical_number(raw: str) -> str:
    """A finite decimal without exponent or trailing zeros: ``42.0`` -> ``42``, ``1E+2`` ->
    ``100``, ``-0`` -> ``0``."""
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{raw!r} is not a finite number")
    if number == 0:
        return "0"
    text = format(number.normalize(), "f")
    return text


def canonical(field: SlaField, value: str | None) -> str | None:
    """The one normal form of ``field``'s value, for what the worker sends and what HubSpot
    answers alike; ``None`` and ``""`` mean "no value".

    Raises:
        ValueError: not a value of the field's type (an instant without a zone, not a number).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    kind = PROPERTIES[field].type
    if kind == "datetime":
        return _canonical_instant(text)
    if kind == "number":
        return _canonical_number(text)
    return text


def to_hubspot(field: SlaField, value: str | None) -> str:
    """What to send HubSpot for ``field`` = ``value`` (CRM-neutral): ``""`` clears; instants
    as ISO with milliseconds (``2026-11-23T15:04:05.000Z``), as HubSpot itself answers.

    Raises:
        ValueError: see :func:`canonical`.
    """
    normal = canonical(field, value)
    if normal is None:
        return ""
    if PROPERTIES[field].type == "datetime" and normal.endswith("Z") and "." not in normal:
        return normal[:-1] + ".000Z"
    return normal


def from_hubspot(properties: dict[str, str | None] | None) -> dict[SlaField, str | None]:
    """The SLA fields of a HubSpot record's ``properties`` in canonical form (a value HubSpot
    holds that does not parse is kept as HubSpot wrote it, so it differs and gets rewritten)."""
    out: dict[SlaField, str | None] = {}
    props = properties or {}
    for field, spec in PROPERTIES.items():
        raw = props.get(spec.name)
        try:
            out[field] = canonical(field, raw)
        except ValueError:
            out[field] = raw
    return out
