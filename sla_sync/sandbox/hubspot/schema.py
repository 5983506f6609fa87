"""Object types, built-in property definitions and association types of the emulated portal.

Property definitions drive validation (unknown property -> ``PROPERTY_DOESNT_EXIST``), value
normalisation (datetimes stored as ISO strings with milliseconds, so string order is time order)
and search comparisons. Lifecycle stage order comes from the ``lifecyclestage`` options, so a
portal with custom stages is a matter of seeding a different option list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OBJECT_TYPES = ("contacts", "calls", "emails", "meetings", "tasks", "notes")
# Every spelling the generic objects API accepts for a type: plural, singular, type id.
ALIASES = {
    **{t: t for t in OBJECT_TYPES},
    "contact": "contacts",
    "0-1": "contacts",
    "call": "calls",
    "0-48": "calls",
    "email": "emails",
    "0-49": "emails",
    "meeting": "meetings",
    "0-47": "meetings",
    "task": "tasks",
    "0-27": "tasks",
    "note": "notes",
    "0-46": "notes",
}
TYPE_IDS = {"contacts": "0-1", "calls": "0-48", "emails": "0-49", "meetings": "0-47"}
TYPE_IDS |= {"tasks": "0-27", "notes": "0-46"}
SINGULAR = {t: t[:-1] for t in OBJECT_TYPES}
UPPER_NAME = {t: t[:-1].upper() for t in OBJECT_TYPES}

DEFAULT_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)

# HUBSPOT_DEFINED association type ids (hubspot/crm/association_type.py), keyed (from, to).
ASSOCIATION_TYPES: dict[tuple[str, str], int] = {
    ("contacts", "calls"): 193,
    ("calls", "contacts"): 194,
    ("contacts", "emails"): 197,
    ("emails", "contacts"): 198,
    ("contacts", "meetings"): 199,
    ("meetings", "contacts"): 200,
    ("contacts", "notes"): 201,
    ("notes", "contacts"): 202,
    ("contacts", "tasks"): 203,
    ("tasks", "contacts"): 204,
}
ASSOCIATION_LABELS = {
    "meetings": "meeting_event",
}

# Search returns these when the request names no properties (and always adds them otherwise).
CONTACT_DEFAULTS = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)
ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
SEARCHABLE = {
    "contacts": ("firstname", "lastname", "email", "phone", "mobilephone", "company"),
    "tasks": ("hs_task_body", "hs_task_subject"),
    "calls": ("hs_call_title", "hs_body_preview"),
    "meetings": ("hs_meeting_title", "hs_meeting_body"),
    "emails": ("hs_email_subject",),
    "notes": ("hs_note_body",),
}
# Maintained by the emulator; writes to them are ignored (HubSpot ignores read-only values).
READ_ONLY = frozenset(
    {
        "hs_object_id",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "hs_merged_object_ids",
        "hs_createdate",
        # "Record source": set by HubSpot from where the record was created (CRM_UI, INTEGRATION,
        # AUTOMATION_PLATFORM, ...), read-only through the API (guess: third-party property
        # dumps list it among the system fields next to hs_object_id).
        "hs_object_source",
    }
)
# Enumerations whose options live outside the property definition (owners, merged ids,
# portal-defined call/meeting types): any value is accepted, as far as the emulator knows.
# ``hubspot_owner_id`` is validated against owners by HubSpot; the emulator does not (guess:
# the error code for an unknown owner is not in the reference).
EXTERNAL_OPTIONS = frozenset({"hubspot_owner_id", "hs_merged_object_ids", "hs_activity_type"})

# Option values of built-in engagement enumerations (reference §2.7; task type LINKED_IN*,
# MEETING and priority NONE are guesses from the "others exist" / "NONE also seen" notes).
CALL_DISPOSITIONS = (
    "9d9162e7-6cf3-4944-bf63-4dff82258764",  # Busy
    "f240bbac-87c9-4f6e-bf70-924b57d47db7",  # Connected
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff",  # Left live message
    "b2cf5968-551e-4856-9783-52b3da59a7d0",  # Left voicemail
    "73a0d17f-1163-4015-bdd5-ec830791da20",  # No answer
    "17b47fee-58de-441e-a44c-c6300d46f273",  # Wrong number
)
ENGAGEMENT_OPTIONS: dict[str, tuple[str, ...]] = {
    "hs_call_direction": ("INBOUND", "OUTBOUND"),
    "hs_call_status": (
        "BUSY",
        "CALLING_CRM_USER",
        "CANCELED",
        "COMPLETED",
        "CONNECTING",
        "FAILED",
        "IN_PROGRESS",
        "MISSED",  # "a voicemail shows as missed" (reference §2.7)
        "NO_ANSWER",
        "QUEUED",
        "RINGING",
    ),
    "hs_call_disposition": CALL_DISPOSITIONS,
    "hs_email_direction": ("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
    "hs_email_status": ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
    "hs_meeting_outcome": ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
    "hs_task_status": ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
    "hs_task_priority": ("NONE", "LOW", "MEDIUM", "HIGH"),
    "hs_task_type": (
        "EMAIL",
        "CALL",
        "TODO",
        "MEETING",
        "LINKED_IN",
        "LINKED_IN_CONNECT",
        "LINKED_IN_MESSAGE",
    ),
}


@dataclass(slots=True)
class PropertyDef:
    """One property definition (the Properties API model)."""

    name: str
    type: str
    field_type: str
    group: str
    label: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    hubspot_defined: bool = True
    description: str = ""
    created_at: str = "2020-01-01T00:00:00.000Z"
    updated_at: str | None = None
    display_order: int = -1
    hidden: bool = False
    form_field: bool = False
    external_options: bool = False
    archived: bool = False
    archived_at: str | None = None
    # Option values, for validating writes (rebuilt whenever ``options`` is replaced).
    allowed: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.set_options(self.options)

    def set_options(self, options: list[dict[str, Any]]) -> None:
        """Replace the options (and the set writes are checked against)."""
        self.options = options
        self.allowed = frozenset(str(o.get("value")) for o in options)

    @property
    def checks_options(self) -> bool:
        """Whether writes must name one of the options (enumerations with inline options;
        HubSpot's ``bool`` properties carry true/false options too)."""
        return self.type == "enumeration" and not self.external_options

    def to_json(self) -> dict[str, Any]:
        """The Properties API representation."""
        out = {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group,
            "description": self.description,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
            "formField": self.form_field,
            "hasUniqueValue": self.name in ("email", "hs_object_id"),
            "hubspotDefined": self.hubspot_defined,
            "calculated": False,
            "externalOptions": self.external_options,
            "options": self.options,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.name in READ_ONLY,
                # Portal-customisable option lists (reference §3: lifecycle stages, lead status).
                "readOnlyOptions": self.hubspot_defined and self.name not in EDITABLE_OPTIONS,
            },
            "createdAt": self.created_at,
            "updatedAt": self.updated_at or self.created_at,
            "archived": self.archived,
        }
        if self.archived:
            out["archivedAt"] = self.archived_at
        return out


# HubSpot-defined properties whose options a portal may change (reference §3).
EDITABLE_OPTIONS = frozenset({"lifecyclestage", "hs_lead_status"})


def _options(values: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"label": v.replace("_", " ").title(), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    ]


def _defs(group: str, spec: dict[str, str]) -> list[PropertyDef]:
    out = []
    for name, kind in spec.items():
        ptype, ftype = {
            "s": ("string", "text"),
            "n": ("number", "number"),
            "d": ("datetime", "date"),
            "e": ("enumeration", "select"),
            "b": ("bool", "booleancheckbox"),
        }[kind]
        d = PropertyDef(name, ptype, ftype, group)
        if ptype == "enumeration":
            if name in EXTERNAL_OPTIONS:
                d.external_options = True
            elif name in ENGAGEMENT_OPTIONS:
                d.set_options(_options(ENGAGEMENT_OPTIONS[name]))
        out.append(d)
    return out


_COMMON = {"hs_object_id": "n", "hs_createdate": "d", "hs_lastmodifieddate": "d"}
_COMMON |= {"hubspot_owner_id": "e", "hs_timestamp": "d", "hs_object_source": "s"}


def default_properties(object_type: str) -> list[PropertyDef]:
    """The built-in property definitions of ``object_type``."""
    if object_type == "contacts":
        spec = {
            "email": "s",
            "firstname": "s",
            "lastname": "s",
            "company": "s",
            "phone": "s",
            "mobilephone": "s",
            "country": "s",
            "numemployees": "n",
            "hs_analytics_source": "s",
            "hubspotscore": "n",
            "createdate": "d",
            "lastmodifieddate": "d",
            "hs_lastmodifieddate": "d",
            "hs_object_id": "n",
            "hs_object_source": "s",
            "hubspot_owner_id": "e",
            "hubspot_owner_assigneddate": "d",
            "hs_merged_object_ids": "e",
            "hs_lead_status": "e",
            "lifecyclestage": "e",
            "hs_v2_date_entered_current_stage": "d",
            "notes_last_contacted": "d",
            "hs_sa_first_engagement_date": "d",
        }
        defs = _defs("contactinformation", spec)
        for d in defs:
            if d.name == "lifecyclestage":
                d.set_options(_options(DEFAULT_STAGES))
            elif d.name == "hs_lead_status":
                d.set_options(_options(LEAD_STATUSES))
        for stage in DEFAULT_STAGES:
            defs += _defs(
                "contactinformation",
                {
                    f"hs_v2_date_entered_{stage}": "d",
                    f"hs_v2_date_exited_{stage}": "d",
                    f"hs_lifecyclestage_{stage}_date": "d",
                },
            )
        return defs
    extra = {
        "calls": {
            "hs_call_title": "s",
            "hs_call_body": "s",
            "hs_body_preview": "s",
            "hs_call_direction": "e",
            "hs_call_status": "e",
            "hs_call_disposition": "e",
            "hs_call_duration": "n",
            "hs_activity_type": "e",
        },
        "emails": {
            "hs_email_direction": "e",
            "hs_email_status": "e",
            "hs_email_subject": "s",
            "hs_email_text": "s",
            "hs_email_html": "s",
        },
        "meetings": {
            "hs_meeting_title": "s",
            "hs_meeting_body": "s",
            "hs_meeting_start_time": "d",
            "hs_meeting_end_time": "d",
            "hs_meeting_outcome": "e",
            "hs_activity_type": "e",
        },
        "tasks": {
            "hs_task_subject": "s",
            "hs_task_body": "s",
            "hs_task_status": "e",
            "hs_task_priority": "e",
            "hs_task_type": "e",
            "hs_task_completion_date": "d",
        },
        "notes": {"hs_note_body": "s"},
    }[object_type]
    return _defs(f"{SINGULAR[object_type]}information", _COMMON | extra)


def default_groups(object_type: str) -> list[dict[str, Any]]:
    """The built-in property groups of ``object_type``."""
    name = f"{SINGULAR[object_type]}information"
    label = f"{SINGULAR[object_type].title()} information"
    return [{"name": name, "label": label, "displayOrder": 0, "archived": False}]


VALID_FIELD_TYPES = {
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "string": {"text", "textarea", "file", "html", "phonenumber", "calculation_equation"},
    "number": {"number", "calculation_equation"},
}
