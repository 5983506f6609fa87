"""sObject schemas: fields, types, picklists, relationships, history tracking; and describe output.

Names are case-insensitive in the API (SOQL, REST bodies); each :class:`ObjectSchema` keeps a
lower-case index so lookups are O(1) and every stored record uses the canonical spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SYSTEM_READONLY = frozenset(
    {
        "Id",
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "MasterRecordId",
    }
)

# Child relationships SOQL subqueries can name: parent -> relationship -> (child, reference field).
CHILD_RELATIONSHIPS: dict[str, dict[str, tuple[str, str]]] = {
    "Lead": {
        "Tasks": ("Task", "WhoId"),
        "Events": ("Event", "WhoId"),
        "Histories": ("LeadHistory", "LeadId"),
    },
    "Contact": {"Tasks": ("Task", "WhoId"), "Events": ("Event", "WhoId")},
}

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
}


@dataclass(slots=True)
class FieldDef:
    """One field. ``type`` uses describe's names (string, picklist, reference, datetime, ...)."""

    name: str
    type: str = "string"
    label: str = ""
    length: int = 255
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    external_id: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    default_value: str | None = None
    restricted: bool = False
    filterable: bool = True

    def describe(self) -> dict[str, Any]:
        """The describe entry (the keys a client reads; real describes carry ~50)."""
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "length": self.length if self.type in ("string", "textarea", "picklist") else 0,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "custom": self.custom,
            "calculated": False,
            "defaultedOnCreate": self.name in SYSTEM_READONLY or self.default_value is not None,
            "externalId": self.external_id,
            "unique": False,
            "filterable": self.filterable,
            "sortable": self.filterable,
            "groupable": self.type not in ("datetime", "double", "textarea"),
            "idLookup": self.name == "Id" or self.external_id,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "namePointing": len(self.reference_to) > 1,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default_value,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist
            ],
        }


@dataclass(slots=True)
class ObjectSchema:
    """One sObject type. ``tracked`` lists fields whose changes write ``<Object>History`` rows."""

    name: str
    key_prefix: str
    label: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    custom: bool = False
    tracked: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    history_of: str | None = None  # set on LeadHistory: the parent object name
    _lower: dict[str, str] = field(default_factory=dict)
    _relationships: dict[str, str] = field(default_factory=dict)

    def add(self, fdef: FieldDef) -> None:
        """Add (or replace) a field and index its name and relationship name."""
        self.fields[fdef.name] = fdef
        self._lower[fdef.name.lower()] = fdef.name
        if fdef.relationship_name:
            self._relationships[fdef.relationship_name.lower()] = fdef.name

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name`` in any case, or ``None``."""
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical else None

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (any case), or ``None``."""
        canonical = self._relationships.get(name.lower())
        return self.fields[canonical] if canonical else None

    def describe(self, base: str) -> dict[str, Any]:
        """``GET sobjects/<name>/describe``."""
        urls = self.urls(base)
        return {
            **self.summary(base),
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [
                {
                    "cascadeDelete": True,
                    "childSObject": child,
                    "deprecatedAndHidden": False,
                    "field": ref_field,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": rel,
                    "restrictedDelete": False,
                }
                for rel, (child, ref_field) in CHILD_RELATIONSHIPS.get(self.name, {}).items()
            ],
            "recordTypeInfos": [
                {
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "developerName": "Master",
                    "master": True,
                    "name": "Master",
                    "recordTypeId": "012000000000000AAA",
                    "urls": {"layout": f"{urls['sobject']}/describe/layouts/012000000000000AAA"},
                }
            ],
            "supportedScopes": [{"label": "All", "name": "everything"}],
            "actionOverrides": [],
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "sobjectDescribeOption": "FULL",
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "implementedBy": None,
            "implementsInterfaces": None,
            "isInterface": False,
            "isSubtype": False,
            "hasSubtypes": False,
            "compactLayoutable": not self.history_of,
            "deepCloneable": False,
            "lookupLayoutable": None,
            "listviewable": None,
            "searchLayoutable": not self.history_of,
        }

    def summary(self, base: str) -> dict[str, Any]:
        """The global-describe entry (also the head of the full describe)."""
        writable = self.history_of is None and self.name != "User"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "customSetting": False,
            "activateable": False,
            "createable": writable or self.name == "User",
            "updateable": writable or self.name == "User",
            "deletable": writable,
            "undeletable": writable,
            "mergeable": self.name in ("Lead", "Contact"),
            "queryable": True,
            "retrieveable": True,
            "replicateable": True,
            "searchable": not self.history_of,
            "triggerable": writable,
            "layoutable": not self.history_of,
            "feedEnabled": False,
            "mruEnabled": not self.history_of,
            "deprecatedAndHidden": False,
            "urls": self.urls(base),
        }

    def urls(self, base: str) -> dict[str, str]:
        """``urls`` block; ``base`` is ``/services/data/vXX.X``."""
        root = f"{base}/sobjects/{self.name}"
        return {
            "sobject": root,
            "describe": f"{root}/describe",
            "rowTemplate": f"{root}/{{ID}}",
        }


def _f(name: str, type_: str = "string", /, **kw: Any) -> FieldDef:
    return FieldDef(name=name, type=type_, **kw)


def _system_fields(parent_history: bool = False) -> list[FieldDef]:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    user_ref: dict[str, Any] = {"reference_to": ("User",), **ro}
    fields = [
        _f("Id", "id", nillable=False, length=18, **ro),
        _f("IsDeleted", "boolean", nillable=False, **ro),
        _f("CreatedDate", "datetime", nillable=False, **ro),
        _f("CreatedById", "reference", relationship_name="CreatedBy", **user_ref),
    ]
    if not parent_history:
        fields += [
            _f("LastModifiedDate", "datetime", nillable=False, **ro),
            _f("LastModifiedById", "reference", relationship_name="LastModifiedBy", **user_ref),
            _f("SystemModstamp", "datetime", nillable=False, **ro),
        ]
    return fields


# The scratch-org defaults plus the MQL/SQL values lead-SLA orgs add (see the reference, 4.2).
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Marketing Qualified",
    "Sales Qualified",
    "Closed - Converted",
    "Closed - Not Converted",
)
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")


def _object(name: str, prefix: str, fields: Iterable[FieldDef], **kw: Any) -> ObjectSchema:
    schema = ObjectSchema(name=name, key_prefix=prefix, label=kw.pop("label", name), **kw)
    for fdef in fields:
        schema.add(fdef)
    return schema


def standard_objects() -> dict[str, ObjectSchema]:
    """Fresh schemas of the standard objects a lead-SLA sync touches."""
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    who: dict[str, Any] = {"reference_to": ("Contact", "Lead"), "relationship_name": "Who"}
    lead = _object(
        "Lead",
        "00Q",
        [
            *_system_fields(),
            _f(
                "MasterRecordId",
                "reference",
                reference_to=("Lead",),
                relationship_name="MasterRecord",
                **ro,
            ),
            _f("FirstName", length=40),
            _f("LastName", length=80, nillable=False),
            _f("Name", length=121, **ro),
            _f("Title", length=128),
            _f("Company", length=255, nillable=False),
            _f("Email", "email", length=80),
            _f("Phone", "phone", length=40),
            _f("Country", length=80),
            _f("NumberOfEmployees", "int"),
            _f(
                "LeadSource",
                "picklist",
                picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
            ),
            _f(
                "Status",
                "picklist",
                nillable=False,
                picklist=LEAD_STATUSES,
                default_value=LEAD_STATUSES[0],
            ),
            _f("Rating", "picklist", picklist=("Hot", "Warm", "Cold")),
            _f(
                "OwnerId",
                "reference",
                reference_to=("Group", "User"),
                relationship_name="Owner",
                nillable=False,
            ),
            _f("IsConverted", "boolean", nillable=False, updateable=False),
            _f("ConvertedDate", "date", **ro),
            _f(
                "ConvertedContactId",
                "reference",
                reference_to=("Contact",),
                relationship_name="ConvertedContact",
                **ro,
            ),
            _f("LastActivityDate", "date", **ro),
            _f("Description", "textarea", length=32000),
        ],
        tracked=frozenset({"Status", "OwnerId", "Rating", "LeadSource", "Company", "Email"}),
        required=("LastName", "Company"),
    )
    contact = _object(
        "Contact",
        "003",
        [
            *_system_fields(),
            _f("FirstName", length=40),
            _f("LastName", length=80, nillable=False),
            _f("Name", length=121, **ro),
            _f("Email", "email", length=80),
            _f("Phone", "phone", length=40),
            _f(
                "OwnerId",
                "reference",
                reference_to=("User",),
                relationship_name="Owner",
                nillable=False,
            ),
            _f(
                "LeadSource",
                "picklist",
                picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
            ),
        ],
        required=("LastName",),
    )
    activity = [
        _f("WhoId", "reference", **who),
        _f("Subject", "combobox"),
        _f(
            "OwnerId",
            "reference",
            reference_to=("User",),
            relationship_name="Owner",
            nillable=False,
        ),
        _f("ActivityDate", "date"),
        _f("Description", "textarea", length=32000),
        _f("IsArchived", "boolean", nillable=False, **ro),
    ]
    task = _object(
        "Task",
        "00T",
        [
            *_system_fields(),
            *activity,
            _f(
                "Status",
                "picklist",
                nillable=False,
                picklist=TASK_STATUSES,
                default_value="Not Started",
            ),
            _f(
                "Priority",
                "picklist",
                nillable=False,
                picklist=("High", "Normal", "Low"),
                default_value="Normal",
            ),
            _f("IsClosed", "boolean", nillable=False, **ro),
            _f("CompletedDateTime", "datetime", **ro),
            _f(
                "TaskSubtype",
                "picklist",
                picklist=("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
                restricted=True,
                updateable=False,
            ),
            _f("Type", "picklist", picklist=("Call", "Email", "Meeting", "Other")),
            _f("CallType", "picklist", picklist=("Inbound", "Outbound", "Internal")),
            _f("CallDurationInSeconds", "int"),
            _f("IsReminderSet", "boolean", nillable=False),
            _f("ReminderDateTime", "datetime"),
        ],
    )
    event = _object(
        "Event",
        "00U",
        [
            *_system_fields(),
            *activity,
            _f("ActivityDateTime", "datetime"),
            _f("StartDateTime", "datetime"),
            _f("EndDateTime", "datetime"),
            _f("DurationInMinutes", "int"),
            _f("EventSubtype", "picklist", picklist=("Event",), updateable=False),
            _f("Location"),
        ],
    )
    user = _object(
        "User",
        "005",
        [
            *_system_fields(),
            _f("Username", length=80, nillable=False),
            _f("FirstName", length=40),
            _f("LastName", length=80, nillable=False),
            _f("Name", length=121, **ro),
            _f("Alias", length=8),
            _f("Email", "email", length=128, nillable=False),
            _f("IsActive", "boolean", nillable=False),
            _f("ManagerId", "reference", reference_to=("User",), relationship_name="Manager"),
            _f("TimeZoneSidKey", "picklist", picklist=()),
            _f("UserType", "picklist", picklist=("Standard",), **ro),
            _f("Department", length=80),
        ],
        required=("Username", "LastName", "Email"),
    )
    lead_history = _object(
        "LeadHistory",
        "017",
        [
            *_system_fields(parent_history=True),
            _f("LeadId", "reference", reference_to=("Lead",), relationship_name="Lead", **ro),
            _f("Field", "picklist", **ro),
            _f("DataType", **ro),
            _f("OldValue", "anyType", filterable=False, **ro),
            _f("NewValue", "anyType", filterable=False, **ro),
        ],
        label="Lead History",
        history_of="Lead",
    )
    return {s.name: s for s in (lead, contact, task, event, user, lead_history)}


def custom_field(
    object_schema: ObjectSchema, api_name: str, metadata: Mapping[str, Any]
) -> FieldDef:
    """A :class:`FieldDef` from Tooling ``CustomField`` metadata (``{"type": "DateTime", ...}``).

    Raises:
        ValueError: unknown or missing type, or a name without ``__c``.
    """
    if not api_name.endswith("__c") or not api_name[:-3].replace("_", "").isalnum():
        raise ValueError(f"invalid custom field name {api_name!r}")
    kind = str(metadata.get("type", ""))
    types = {
        "Text": "string",
        "TextArea": "textarea",
        "LongTextArea": "textarea",
        "DateTime": "datetime",
        "Date": "date",
        "Checkbox": "boolean",
        "Number": "double",
        "Currency": "currency",
        "Percent": "percent",
        "Email": "email",
        "Phone": "phone",
        "Url": "url",
        "Picklist": "picklist",
        "Lookup": "reference",
    }
    if kind not in types:
        raise ValueError(f"unsupported CustomField type {kind!r}")
    values: tuple[str, ...] = ()
    default: str | None = None
    restricted = False
    if kind == "Picklist":
        value_set = metadata.get("valueSet") or {}
        restricted = bool(value_set.get("restricted", False))
        definition = value_set.get("valueSetDefinition") or {}
        entries = definition.get("value") or []
        values = tuple(str(v.get("fullName")) for v in entries)
        default = next((str(v.get("fullName")) for v in entries if v.get("default")), None)
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    if kind == "Lookup":
        reference_to = (str(metadata.get("referenceTo", "")),)
        relationship = str(metadata.get("relationshipName") or api_name[:-3]) + "__r"
    return FieldDef(
        name=api_name,
        type=types[kind],
        label=str(metadata.get("label") or api_name),
        length=int(metadata.get("length", 255) or 255),
        custom=True,
        external_id=bool(metadata.get("externalId", False)),
        picklist=values,
        default_value=default,
        restricted=restricted,
        reference_to=reference_to,
        relationship_name=relationship,
    )


def custom_object(name: str, prefix: str, label: str | None = None) -> ObjectSchema:
    """A new custom object ``Foo__c`` with the standard system fields, ``Name`` and ``OwnerId``."""
    if not name.endswith("__c"):
        raise ValueError(f"custom object names end in __c, got {name!r}")
    return _object(
        name,
        prefix,
        [
            *_system_fields(),
            _f("Name", length=80),
            _f("OwnerId", "reference", reference_to=("Group", "User"), relationship_name="Owner"),
        ],
        label=label or name[:-3].replace("_", " "),
        custom=True,
    )
