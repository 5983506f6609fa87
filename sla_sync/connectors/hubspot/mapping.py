"""HubSpot payloads -> domain values. Pure functions over plain mappings (no SDK, no I/O).

The pull hands over what the SDK returned, flattened: ``props`` is a record's ``properties``
(strings, ``None`` or ``""`` for no value) and ``history`` its ``propertiesWithHistory`` as
:class:`Version` tuples (newest first, as HubSpot sends them; order does not matter here).

A record that cannot be mapped raises :class:`BadRecord`; the pull quarantines it and goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

from sla_sync.connectors.hubspot.markers import has_sla_sync_marker
from sla_sync.domain import (
    FieldChange,
    Lead,
    LifecycleChange,
    LifecycleField,
    Owner,
    OwnerChange,
    TouchDirection,
    TouchKind,
)

# Instants outside this range are absurd for CRM data (a zero or garbage epoch, year 9999).
_MIN_INSTANT: Final = datetime(1971, 1, 1, tzinfo=UTC)
_MAX_INSTANT: Final = datetime(2100, 1, 1, tzinfo=UTC)

STAGE_PROPERTY: Final = "lifecyclestage"
STATUS_PROPERTY: Final = "hs_lead_status"
OWNER_PROPERTY: Final = "hubspot_owner_id"
MERGED_PROPERTY: Final = "hs_merged_object_ids"
CURRENT_STAGE_ENTERED: Final = "hs_v2_date_entered_current_stage"

# Engagement object type -> touch kind.
KINDS: Final[Mapping[str, TouchKind]] = MappingProxyType(
    {
        "calls": TouchKind.CALL,
        "emails": TouchKind.EMAIL,
        "meetings": TouchKind.MEETING,
        "tasks": TouchKind.TASK,
        "notes": TouchKind.NOTE,
    }
)
_CALL_DIRECTIONS: Final = {"INBOUND": TouchDirection.INBOUND, "OUTBOUND": TouchDirection.OUTBOUND}
# EMAIL: sent from the CRM or BCC-logged by the rep; INCOMING_EMAIL: the lead's reply.
# FORWARDED_EMAIL is a rep forwarding a thread in: who wrote it is unknown.
_EMAIL_DIRECTIONS: Final = {
    "EMAIL": TouchDirection.OUTBOUND,
    "INCOMING_EMAIL": TouchDirection.INBOUND,
    "FORWARDED_EMAIL": TouchDirection.UNKNOWN,
}


class BadRecord(ValueError):
    """A record that cannot be mapped; the message is the quarantine reason."""


@dataclass(frozen=True, slots=True)
class Version:
    """One entry of ``propertiesWithHistory``: the value (``""``: cleared) and its instant."""

    value: str | None
    timestamp: datetime | str | None
    source_type: str | None = None


# --------------------------------------------------------------------------- scalars


def parse_instant(raw: object, *, what: str) -> datetime | None:
    """A HubSpot instant as an aware UTC datetime; ``None`` for no value.

    HubSpot returns datetimes as ISO strings but some calculated/legacy properties as epoch
    milliseconds (hubspot-api.md section 3): both forms are accepted, and SDK-parsed datetimes.

    Raises:
        BadRecord: unparseable, or outside 1971..2100 (an absurd value), naming ``what``.
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        instant = raw if raw.tzinfo is not None else raw.replace(tzinfo=UTC)
    else:
        text = str(raw).strip()
        try:
            if text.lstrip("-").isdigit():
                instant = datetime.fromtimestamp(int(text) / 1000, UTC)
            else:
                instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if instant.tzinfo is None:  # HubSpot means UTC when it omits the zone
                    instant = instant.replace(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            raise BadRecord(f"{what}: unparseable instant {text[:40]!r}") from None
    instant = instant.astimezone(UTC)
    if not _MIN_INSTANT <= instant < _MAX_INSTANT:
        raise BadRecord(f"{what}: absurd instant {instant.isoformat()}")
    return instant


def epoch_ms(instant: datetime) -> str:
    """``instant`` as the epoch-milliseconds string search filters take."""
    return str(int(instant.timestamp() * 1000))


def owner_id_of(raw: str | None, *, what: str = OWNER_PROPERTY) -> str | None:
    """A ``hubspot_owner_id`` value checked for format (owner ids are numeric strings).

    Raises:
        BadRecord: a value that cannot be an owner id (e.g. an e-mail or a name).
    """
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not text.isdigit():
        raise BadRecord(f"{what}: unknown owner format {text[:40]!r}")
    return text


def _text(props: Mapping[str, str | None], name: str) -> str | None:
    value = props.get(name)
    return None if value is None or value == "" else value


# --------------------------------------------------------------------------- owners


def map_owner(raw: Mapping[str, object]) -> Owner:
    """An owner of the owners API (``archived``: an inactive owner).

    ``team`` is the primary team's name (the first team when none is marked primary).

    Raises:
        BadRecord: no id.
    """
    owner_id = str(raw.get("id") or "").strip()
    if not owner_id:
        raise BadRecord("owner without id")
    first = str(raw.get("first_name") or "").strip()
    last = str(raw.get("last_name") or "").strip()
    email = str(raw.get("email") or "").strip() or None
    teams = raw.get("teams") or []
    team: str | None = None
    if isinstance(teams, Sequence) and teams:
        primary = [t for t in teams if isinstance(t, Mapping) and t.get("primary")]
        chosen = (primary or list(teams))[0]
        if isinstance(chosen, Mapping):
            team = str(chosen.get("name") or "").strip() or None
    return Owner(
        id=owner_id,
        name=" ".join(p for p in (first, last) if p) or email or owner_id,
        email=email,
        team=team,
        active=not bool(raw.get("archived")),
    )


# --------------------------------------------------------------------------- contacts


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactSettings:
    """What the contact mapping needs from :class:`~.pull.PullSettings`.

    ``lead_fields``: agreement field name -> HubSpot property. ``history_fields``: agreement
    field names whose history becomes :class:`FieldChange` values. ``stages``: lifecycle stage
    ids whose entry-date properties are read as a fallback for missing history.
    """

    lead_fields: Mapping[str, str]
    history_fields: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContactRecords:
    """Everything one contact contributes to a page."""

    lead: Lead
    lifecycle: tuple[LifecycleChange, ...] = ()
    owner_changes: tuple[OwnerChange, ...] = ()
    field_changes: tuple[FieldChange, ...] = ()
    merged_ids: tuple[str, ...] = field(default=())


def stage_date_properties(stages: Iterable[str]) -> list[str]:
    """The entry-date properties of ``stages``: ``hs_v2_date_entered_<id>`` (current portals)
    and the legacy ``hs_lifecyclestage_<id>_date`` (older portals)."""
    out: list[str] = [CURRENT_STAGE_ENTERED]
    for stage in stages:
        out += [f"hs_v2_date_entered_{stage}", f"hs_lifecyclestage_{stage}_date"]
    return out


def contact_properties(settings: ContactSettings) -> list[str]:
    """Properties a contact batch read asks for."""
    base = [STAGE_PROPERTY, STATUS_PROPERTY, OWNER_PROPERTY, "createdate", "lastmodifieddate"]
    base += [MERGED_PROPERTY, *settings.lead_fields.values()]
    return list(dict.fromkeys([*base, *stage_date_properties(settings.stages)]))


def contact_history_properties(settings: ContactSettings) -> list[str]:
    """Properties whose history a contact batch read asks for."""
    tracked = [
        settings.lead_fields[n] for n in settings.history_fields if n in settings.lead_fields
    ]
    return list(dict.fromkeys([STAGE_PROPERTY, STATUS_PROPERTY, OWNER_PROPERTY, *tracked]))


def _versions(
    history: Mapping[str, Sequence[Version]], name: str, what: str
) -> list[tuple[datetime, str | None, str | None]]:
    out = []
    for v in history.get(name) or ():
        at = parse_instant(v.timestamp, what=f"{what} history timestamp")
        if at is None:
            raise BadRecord(f"{what} history entry without timestamp")
        out.append((at, v.value if v.value else None, v.source_type))
    out.sort(key=lambda e: e[0])
    return out


def map_contact(
    contact_id: str,
    props: Mapping[str, str | None],
    history: Mapping[str, Sequence[Version]],
    settings: ContactSettings,
) -> ContactRecords:
    """One contact with its lifecycle, status, owner and tier-field histories.

    Stage changes come from ``lifecyclestage`` history (it alone keeps re-MQLs and clears);
    a stage the history never shows (truncated history, imports) is added from its
    ``hs_v2_date_entered_<stage>`` date, else the legacy ``hs_lifecyclestage_<stage>_date``, and
    the current stage from ``hs_v2_date_entered_current_stage``.

    Raises:
        BadRecord: an unparseable or absurd date, or an owner id of unknown format.
    """
    created = parse_instant(_text(props, "createdate"), what="createdate")
    if created is None:
        raise BadRecord("createdate missing")
    owner = owner_id_of(_text(props, OWNER_PROPERTY))
    fields = {
        name: value
        for name, prop in settings.lead_fields.items()
        if (value := _text(props, prop)) is not None
    }
    stage = _text(props, STAGE_PROPERTY)
    lead = Lead(
        id=contact_id,
        created_at=created,
        owner_id=owner,
        stage=stage,
        status=_text(props, STATUS_PROPERTY),
        fields=MappingProxyType(fields),
    )
    lifecycle: list[LifecycleChange] = []
    seen_stages: set[str] = set()
    for at, value, source in _versions(history, STAGE_PROPERTY, STAGE_PROPERTY):
        lifecycle.append(_change(contact_id, LifecycleField.STAGE, value, at, source))
        if value is not None:
            seen_stages.add(value)
    fallback = dict.fromkeys(settings.stages)
    if stage is not None:
        fallback.setdefault(stage, None)
    for s in fallback:
        if s in seen_stages:
            continue
        raw = _text(props, f"hs_v2_date_entered_{s}") or _text(props, f"hs_lifecyclestage_{s}_date")
        if raw is None and s == stage:
            raw = _text(props, CURRENT_STAGE_ENTERED)
        entered = parse_instant(raw, what=f"date entered {s}")
        if entered is not None:
            lifecycle.append(_change(contact_id, LifecycleField.STAGE, s, entered, "DATE_ENTERED"))
    for at, value, source in _versions(history, STATUS_PROPERTY, STATUS_PROPERTY):
        lifecycle.append(_change(contact_id, LifecycleField.STATUS, value, at, source))
    owners = [
        OwnerChange(lead_id=contact_id, owner_id=owner_id_of(value), at=at)
        for at, value, _ in _versions(history, OWNER_PROPERTY, OWNER_PROPERTY)
    ]
    changes = [
        FieldChange(lead_id=contact_id, name=name, value=value, at=at)
        for name in settings.history_fields
        if name in settings.lead_fields
        for at, value, _ in _versions(history, settings.lead_fields[name], name)
    ]
    merged = _text(props, MERGED_PROPERTY) or ""
    losers = tuple(dict.fromkeys(i.strip() for i in merged.split(";") if i.strip()))
    return ContactRecords(
        lead=lead,
        lifecycle=tuple(lifecycle),
        owner_changes=tuple(owners),
        field_changes=tuple(changes),
        merged_ids=tuple(i for i in losers if i != contact_id),
    )


def _change(
    lead_id: str, which: LifecycleField, value: str | None, at: datetime, source: str | None
) -> LifecycleChange:
    return LifecycleChange(lead_id=lead_id, field=which, value=value, at=at, source=source)


# --------------------------------------------------------------------------- engagements


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationRules:
    """How to recognise automated activity (sequences, workflows, auto-replies).

    ``sources``: values of ``hs_object_source`` that mean a machine created the activity.
    ``flags``: properties that mark automation when ``"true"`` (an out-of-office auto-reply).
    These names come from field reports on real portals, not from HubSpot's documentation;
    the emulator does not model them (it drops the seed's ``automated`` flag).
    """

    sources: frozenset[str] = frozenset({"AUTOMATION_PLATFORM", "SEQUENCES", "WORKFLOWS"})
    flags: tuple[str, ...] = ("hs_incoming_email_is_out_of_office",)

    def properties(self) -> list[str]:
        """Properties a search must return for these rules."""
        return ["hs_object_source", *self.flags]

    def automated(self, props: Mapping[str, str | None]) -> bool:
        """Whether ``props`` describe an automated activity."""
        if (_text(props, "hs_object_source") or "").upper() in self.sources:
            return True
        return any((_text(props, f) or "").lower() == "true" for f in self.flags)


@dataclass(frozen=True, slots=True, kw_only=True)
class Engagement:
    """An engagement mapped to everything a :class:`~sla_sync.domain.Touch` needs but its lead."""

    id: str
    kind: TouchKind
    occurred_at: datetime
    created_at: datetime | None
    owner_id: str | None
    direction: TouchDirection
    automated: bool
    by_sla_sync: bool


def engagement_properties(object_type: str, rules: AutomationRules) -> list[str]:
    """Properties an engagement search asks for."""
    extra = {
        "calls": ["hs_call_direction"],
        "emails": ["hs_email_direction"],
        "tasks": ["hs_task_subject", "hs_task_body", "hs_task_completion_date"],
    }.get(object_type, [])
    base = ["hs_timestamp", "hs_createdate", OWNER_PROPERTY, *extra, *rules.properties()]
    return list(dict.fromkeys(base))


def map_engagement(
    object_type: str, engagement_id: str, props: Mapping[str, str | None], rules: AutomationRules
) -> Engagement:
    """One call, e-mail, meeting, task or note.

    ``occurred_at`` is ``hs_timestamp``, except for a completed task, whose ``hs_timestamp`` is
    its due date: there the completion date is when the touch happened.

    Raises:
        BadRecord: no or a bad ``hs_timestamp``, a bad creation date or owner id.
    """
    kind = KINDS[object_type]
    occurred: datetime | None = None
    if kind is TouchKind.TASK:
        occurred = parse_instant(
            _text(props, "hs_task_completion_date"), what="hs_task_completion_date"
        )
    if occurred is None:
        occurred = parse_instant(_text(props, "hs_timestamp"), what="hs_timestamp")
    if occurred is None:
        raise BadRecord("hs_timestamp missing")
    direction = TouchDirection.UNKNOWN
    if kind is TouchKind.CALL:
        direction = _CALL_DIRECTIONS.get(
            (_text(props, "hs_call_direction") or "").upper(), TouchDirection.UNKNOWN
        )
    elif kind is TouchKind.EMAIL:
        direction = _EMAIL_DIRECTIONS.get(
            (_text(props, "hs_email_direction") or "").upper(), TouchDirection.UNKNOWN
        )
    by_us = kind is TouchKind.TASK and has_sla_sync_marker(
        _text(props, "hs_task_subject"), _text(props, "hs_task_body")
    )
    return Engagement(
        id=engagement_id,
        kind=kind,
        occurred_at=occurred,
        created_at=parse_instant(_text(props, "hs_createdate"), what="hs_createdate"),
        owner_id=owner_id_of(_text(props, OWNER_PROPERTY)),
        direction=direction,
        automated=rules.automated(props),
        by_sla_sync=by_us,
    )
