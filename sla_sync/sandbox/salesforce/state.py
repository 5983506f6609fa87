# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""The org's data: schemas, records, field history, assignment rule. Not thread-safe on its own;
the emulator holds one lock around every call.

Records are dicts keyed by canonical field names holding typed values (see :mod:`values`).
Deleted rows stay in place with ``IsDeleted = true`` (the recycle bin): only ``queryAll`` sees them.

Every change goes through :meth:`Org.changed` (or :meth:`Org.invalidate_all` for bulk/raw edits):
it bumps ``version`` (the key of the query cache) and drops the affected pre-rendered records.
Code that edits a record dict directly must call one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sla_sync.sandbox.salesforce.ids import IdFactory, to18
from sla_sync.sandbox.salesforce.schema import (
    SYSTEM_READONLY,
    ObjectSchema,
    custom_field,
    custom_object,
    standard_objects,
)
from sla_sync.sandbox.salesforce.values import FieldValueError, coerce

Record = dict[str, Any]
# Pre-rendered records of one (sobject, columns, base): the objects whose writes can change a
# rendering besides the record itself (``None``: none), and record id -> JSON text.
RenderCache = tuple[frozenset[str] | None, dict[str, str]]
NAME_OBJECTS = frozenset({"Lead", "Contact", "User"})
ACTIVITY_OBJECTS = ("Task", "Event")
# Activities whose ActivityDate is more than this before the sandbox's today are archived.
ARCHIVE_AFTER = timedelta(days=365)


class RecordError(Exception):
    """A write Salesforce refuses: ``code``/``message``/``fields`` as in its error bodies;
    ``status`` is the HTTP status of a single-record call."""

    def __init__(
        self, code: str, message: str, fields: list[str] | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []
        self.status = status


class MultipleMatches(RecordError):
    """An upsert whose external id matches several records: HTTP 300 listing them."""

    def __init__(self, sobject: str, ids: list[str]) -> None:
        super().__init__("MULTIPLE_CHOICES", "More than one record found", status=300)
        self.sobject = sobject
        self.ids = ids


@dataclass
class AssignmentRule:
    """Reassigns a new or updated record's owner (round robin over ``owner_ids``) when the request
    allows auto-assignment (``Sforce-Auto-Assign`` TRUE or absent)."""

    sobject: str
    owner_ids: list[str]
    next_index: int = 0

    def pick(self) -> str:
        owner = self.owner_ids[self.next_index % len(self.owner_ids)]
        self.next_index += 1
        return owner


@dataclass
class Org:
    """One emulated org."""

    ids: IdFactory = field(default_factory=IdFactory)
    schemas: dict[str, ObjectSchema] = field(default_factory=standard_objects)
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    assignment: AssignmentRule | None = None
    custom_prefix_seq: int = 0
    # Bumped by every write; cached query results are only valid for the version they were made at.
    version: int = 0
    render_caches: dict[Any, RenderCache] = field(default_factory=dict)
    query_cache: dict[Any, Any] = field(default_factory=dict)
    # Day of the last full archive sweep, and activities written since the last sweep.
    archive_day: date | None = None
    archive_dirty: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lower = {name.lower(): name for name in self.schemas}
        self._prefixes = {s.key_prefix: s.name for s in self.schemas.values()}
        for name in self.schemas:
            self.records.setdefault(name, {})

    # --- caches ----------------------------------------------------------------------------------

    def changed(self, obj: str, sf_id: str) -> None:
        """Record ``sf_id`` of ``obj`` was created or changed: new version, drop its renderings."""
        self.version += 1
        if obj in ACTIVITY_OBJECTS:
            self.archive_dirty.add((obj, sf_id))
        for deps, rendered in self.render_caches.values():
            if deps is not None and obj in deps:
                rendered.clear()
            else:
                rendered.pop(sf_id, None)

    def invalidate_all(self) -> None:
        """Anything may have changed (seeding, rollback, schema edits)."""
        self.version += 1
        self.render_caches.clear()
        self.query_cache.clear()
        self.archive_day = None  # raw edits: sweep every activity again

    # --- archived activities -----------------------------------------------------------------------

    def archive_activities(self, today: date) -> None:
        """Set ``IsArchived`` on Tasks/Events whose ActivityDate (Events: else the day of
        ActivityDateTime) is over 365 days before ``today``. A full sweep once a day (or after
        :meth:`invalidate_all`); otherwise only the activities written since the last call."""
        if self.archive_day != today:
            todo = [
                (obj, r) for obj in ACTIVITY_OBJECTS for r in self.records.get(obj, {}).values()
            ]
            self.archive_day = today
        elif self.archive_dirty:
            todo = [
                (obj, r)
                for obj, sf_id in self.archive_dirty
                if (r := self.records.get(obj, {}).get(sf_id)) is not None
            ]
        else:
            return
        self.archive_dirty.clear()
        cutoff = today - ARCHIVE_AFTER
        for obj, record in todo:
            if record.get("IsArchived"):
                continue
            when = record.get("ActivityDate")
            if when is None and isinstance(record.get("ActivityDateTime"), datetime):
                when = record["ActivityDateTime"].date()
            if isinstance(when, date) and when < cutoff:
                record["IsArchived"] = True
                self.changed(obj, record["Id"])
        self.archive_dirty.clear()

    def set_archived(self, raw_ids: list[str], archived: bool = True) -> list[str]:
        """Archive (or un-archive) activities by id; returns the ids changed.

        Raises:
            RecordError: an id that is not an existing Task or Event (404).
        """
        targets: list[Record] = []
        for raw in raw_ids:
            obj = self.object_of(str(raw))
            if obj not in ACTIVITY_OBJECTS:
                raise RecordError("NOT_FOUND", f"not a Task or Event id: {raw}", status=404)
            _, record = self.get_any(obj, str(raw))
            targets.append(record)
        changed = []
        for record in targets:
            if bool(record.get("IsArchived")) != archived:
                record["IsArchived"] = archived
                obj_name = self.object_of(record["Id"])
                assert obj_name is not None
                self.changed(obj_name, record["Id"])
                changed.append(str(record["Id"]))
        return changed

    def get_any(self, obj: str, raw_id: str) -> tuple[ObjectSchema, Record]:
        """A record by 15/18-char id, deleted ones included. Raises ``NOT_FOUND`` (404)."""
        schema = self.require_schema(obj)
        try:
            record = self.records[schema.name].get(to18(raw_id))
        except ValueError:
            record = None
        if record is None:
            raise RecordError("NOT_FOUND", "The requested resource does not exist", status=404)
        return schema, record

    # --- schema ----------------------------------------------------------------------------------

    def schema(self, name: str) -> ObjectSchema | None:
        """The object called ``name`` in any case, or ``None``."""
        canonical = self._lower.get(name.lower())
        return self.schemas[canonical] if canonical else None

    def require_schema(self, name: str) -> ObjectSchema:
        """Like :meth:`schema`; raises ``NOT_FOUND`` (404) the way ``/sobjects/<bad>`` does."""
        schema = self.schema(name)
        if schema is None:
            raise RecordError("NOT_FOUND", "The requested resource does not exist", status=404)
        return schema

    def add_custom_object(self, name: str, label: str | None = None) -> ObjectSchema:
        """Create ``Foo__c`` (idempotent). Raises ``ValueError`` for a bad name."""
        existing = self.schema(name)
        if existing is not None:
            return existing
        self.custom_prefix_seq += 1
        schema = custom_object(name, f"a{self.custom_prefix_seq:02d}", label)
        self.schemas[schema.name] = schema
        self._lower[schema.name.lower()] = schema.name
        self._prefixes[schema.key_prefix] = schema.name
        self.records[schema.name] = {}
        self.invalidate_all()
        return schema

    def add_custom_field(self, full_name: str, metadata: Mapping[str, Any]) -> str:
        """Tooling ``CustomField`` create: ``Lead.SLA_Due__c``. Returns the new ``00N`` id.

        Raises:
            RecordError: unknown object, bad name/type, or a duplicate field.
        """
        obj_name, _, field_name = full_name.partition(".")
        schema = self.schema(obj_name)
        if schema is None:
            raise RecordError("INVALID_INPUT", f"Cannot find object: {obj_name}", ["FullName"])
        if schema.field(field_name) is not None:
            raise RecordError(
                "DUPLICATE_DEVELOPER_NAME",
                f"duplicate value found: DeveloperName duplicates value on record with id: {field_name}",
                ["FullName"],
            )
        try:
            schema.add(custom_field(schema, field_name, metadata))
        except ValueError as exc:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", str(exc), ["Metadata"]) from None
        self.invalidate_all()
        return self.ids.new("00N")

    def object_of(self, sf_id: str) -> str | None:
        """The object an id belongs to (by key prefix)."""
        return self._prefixes.get(sf_id[:3])

    def lookup(self, sf_id: str | None) -> Record | None:
        """Any record by id (deleted ones included), or ``None``."""
        if not sf_id:
            return None
        obj = self._prefixes.get(sf_id[:3])
        return self.records[obj].get(sf_id) if obj else None

    # --- writes ----------------------------------------------------------------------------------

    def _apply(self, schema: ObjectSchema, body: Mapping[str, Any], *, creating: bool) -> Record:
        changes: Record = {}
        for key, value in body.items():
            if key == "attributes" or (key.lower() == "id" and not creating):
                continue
            fdef = schema.field(key)
            if fdef is None:
                raise RecordError(
                    "INVALID_FIELD",
                    f"No such column '{key}' on sobject of type {schema.name}",
                    [key],
                )
            allowed = fdef.createable if creating else fdef.updateable
            if not allowed or fdef.name in SYSTEM_READONLY:
                verb = "create" if creating else "update"
                raise RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to {verb}/update fields: {fdef.name}. Please check the security settings "
                    "of this field and verify that it is read/write for your profile or permission set.",
                    [fdef.name],
                )
            try:
                changes[fdef.name] = coerce(fdef, value)
            except FieldValueError as exc:
                raise RecordError(exc.code, exc.message, exc.fields) from None
            if changes[fdef.name] is not None and fdef.type == "reference":
                target = self.lookup(changes[fdef.name])
                if target is None:
                    raise RecordError(
                        "INVALID_CROSS_REFERENCE_KEY",
                        f"{fdef.label}: id value of incorrect type: {value}",
                        [fdef.name],
                    )
        return changes

    def create(
        self,
        obj: str,
        body: Mapping[str, Any],
        *,
        user_id: str,
        now: datetime,
        auto_assign: bool = True,
    ) -> str:
        """Insert a record; returns its 18-char id. Raises :class:`RecordError`."""
        schema = self.require_schema(obj)
        if schema.history_of is not None:
            raise RecordError("INVALID_TYPE", f"entity type {schema.name} does not support create")
        changes = self._apply(schema, body, creating=True)
        missing = [f for f in schema.required if changes.get(f) in (None, "")]
        if missing:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        record: Record = dict.fromkeys(schema.fields)
        for fdef in schema.fields.values():
            if fdef.default_value is not None:
                record[fdef.name] = fdef.default_value
            elif fdef.type == "boolean":
                record[fdef.name] = False
        record.update(changes)
        sf_id = self.ids.new(schema.key_prefix)
        record.update(
            Id=sf_id,
            IsDeleted=False,
            CreatedDate=now,
            CreatedById=user_id,
            LastModifiedDate=now,
            LastModifiedById=user_id,
            SystemModstamp=now,
        )
        if "OwnerId" in record and record["OwnerId"] is None:
            record["OwnerId"] = user_id
        if auto_assign and self.assignment and self.assignment.sobject == schema.name:
            record["OwnerId"] = self.assignment.pick()
        self._derive(schema, record)
        self.records[schema.name][sf_id] = record
        self.changed(schema.name, sf_id)
        if schema.tracked:
            self._history(schema, sf_id, "created", None, None, "Text", user_id, now)
        return sf_id

    def get_live(self, obj: str, raw_id: str) -> tuple[ObjectSchema, Record]:
        """An existing, not deleted record. Raises ``NOT_FOUND``/``ENTITY_IS_DELETED`` (404)."""
        schema = self.require_schema(obj)
        # An exact 18-character key was issued here, so its checksum is right: skip the check.
        record = self.records[schema.name].get(raw_id) if len(raw_id) == 18 else None
        if record is not None:
            if record["IsDeleted"]:
                raise RecordError("ENTITY_IS_DELETED", "entity is deleted", status=404)
            return schema, record
        try:
            sf_id = to18(raw_id)
        except ValueError:
            raise RecordError(
                "NOT_FOUND",
                "Provided external ID field does not exist or is not accessible: " + raw_id,
                status=404,
            ) from None
        record = self.records[schema.name].get(sf_id)
        if record is None:
            raise RecordError("NOT_FOUND", "The requested resource does not exist", status=404)
        if record["IsDeleted"]:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", status=404)
        return schema, record

    def update(
        self,
        obj: str,
        raw_id: str,
        body: Mapping[str, Any],
        *,
        user_id: str,
        now: datetime,
        auto_assign: bool = True,
    ) -> None:
        """Patch a record, bump its stamps, write history for tracked fields."""
        schema, record = self.get_live(obj, raw_id)
        if schema.history_of is not None:
            raise RecordError("INVALID_TYPE", f"entity type {schema.name} does not support update")
        changes = self._apply(schema, body, creating=False)
        for name in schema.required:
            if name in changes and changes[name] in (None, ""):
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
                )
        if auto_assign and self.assignment and self.assignment.sobject == schema.name:
            changes["OwnerId"] = self.assignment.pick()
        self.write(schema, record, changes, user_id=user_id, now=now)

    def write(
        self,
        schema: ObjectSchema,
        record: Record,
        changes: Mapping[str, Any],
        *,
        user_id: str,
        now: datetime,
    ) -> None:
        """Apply already-validated ``changes`` (history, stamps, derived fields)."""
        for name, new in changes.items():
            old = record.get(name)
            if name in schema.tracked and old != new:
                if name == "OwnerId":
                    # Salesforce writes owner changes twice: names (Text) and ids (EntityId).
                    self._history(
                        schema,
                        record["Id"],
                        "Owner",
                        self._name_of(old),
                        self._name_of(new),
                        "Text",
                        user_id,
                        now,
                    )
                    self._history(schema, record["Id"], "Owner", old, new, "EntityId", user_id, now)
                else:
                    self._history(schema, record["Id"], name, old, new, "Text", user_id, now)
            record[name] = new
        record.update(LastModifiedDate=now, LastModifiedById=user_id, SystemModstamp=now)
        self._derive(schema, record)
        self.changed(schema.name, record["Id"])

    def upsert(
        self,
        obj: str,
        field_name: str,
        value: str,
        body: Mapping[str, Any],
        *,
        user_id: str,
        now: datetime,
        auto_assign: bool = True,
    ) -> tuple[str, bool]:
        """Upsert by external id (``PATCH sobjects/<obj>/<Field>/<value>``): ``(id, created)``.

        Matching is case-insensitive, as for non-case-sensitive external ids. The external id
        value from the URL is written on create (it wins over the same field in the body).

        Raises:
            RecordError: unknown field (404), a field that is not an external id (400), more than
                one match (:class:`MultipleMatches`, 300), or any create/update error.
        """
        schema = self.require_schema(obj)
        fdef = schema.field(field_name)
        if fdef is None:
            raise RecordError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
                status=404,
            )
        if not fdef.external_id:
            raise RecordError(
                "INVALID_FIELD",
                f"Field {fdef.name} is not an External ID or indexed field for {schema.name}",
                [fdef.name],
            )
        wanted = value.lower()
        matches = [
            r["Id"]
            for r in self.records[schema.name].values()
            if not r["IsDeleted"]
            and isinstance(r.get(fdef.name), str)
            and r[fdef.name].lower() == wanted
        ]
        if len(matches) > 1:
            raise MultipleMatches(schema.name, matches)
        if matches:
            self.update(
                schema.name, matches[0], body, user_id=user_id, now=now, auto_assign=auto_assign
            )
            return matches[0], False
        new_id = self.create(
            schema.name,
            {**body, fdef.name: value},
            user_id=user_id,
            now=now,
            auto_assign=auto_assign,
        )
        return new_id, True

    def delete(self, obj: str, raw_id: str, *, user_id: str, now: datetime) -> None:
        """Move a record to the recycle bin (``IsDeleted``; queryAll still returns it)."""
        schema, record = self.get_live(obj, raw_id)
        record.update(
            IsDeleted=True, LastModifiedDate=now, LastModifiedById=user_id, SystemModstamp=now
        )
        self.changed(schema.name, record["Id"])

    def _name_of(self, sf_id: Any) -> Any:
        target = self.lookup(sf_id) if isinstance(sf_id, str) else None
        return target.get("Name") if target else sf_id

    def _derive(self, schema: ObjectSchema, record: Record) -> None:
        if schema.name in NAME_OBJECTS:
            parts = [record.get("FirstName"), record.get("LastName")]
            record["Name"] = " ".join(p for p in parts if p)
        if schema.name == "Task":
            closed = record.get("Status") == "Completed"
            if closed and not record.get("IsClosed"):
                record["CompletedDateTime"] = record["LastModifiedDate"]
            record["IsClosed"] = closed

    def _history(
        self,
        schema: ObjectSchema,
        parent_id: str,
        field_name: str,
        old: Any,
        new: Any,
        data_type: str,
        user_id: str,
        now: datetime,
    ) -> None:
        hist = self.schemas.get(f"{schema.name}History")
        if hist is None:
            return
        hid = self.ids.new(hist.key_prefix)
        self.records[hist.name][hid] = {
            "Id": hid,
            "IsDeleted": False,
            f"{schema.name}Id": parent_id,
            "Field": field_name,
            "DataType": data_type,
            "OldValue": old,
            "NewValue": new,
            "CreatedDate": now,
            "CreatedById": user_id,
        }
        self.changed(hist.name, hid)

    def insert_raw(self, obj: str, record: Record) -> str:
        """Seed path: store a complete record as given (system fields included); returns its id."""
        schema = self.schemas[obj]
        full: Record = dict.fromkeys(schema.fields)
        for fdef in schema.fields.values():
            if fdef.type == "boolean":
                full[fdef.name] = False
        full.update(record)
        if "Id" not in record or record["Id"] is None:
            full["Id"] = self.ids.new(schema.key_prefix)
        self._derive(schema, full)
        self.records[obj][full["Id"]] = full
        self.changed(obj, full["Id"])
        return str(full["Id"])

    def history_raw(
        self,
        obj: str,
        parent_id: str,
        field_name: str,
        old: Any,
        new: Any,
        at: datetime,
        user_id: str,
    ) -> None:
        """Seed path: a history row at ``at``."""
        data_type = (
            "EntityId"
            if field_name == "Owner" and isinstance(new, str) and len(new) == 18
            else "Text"
        )
        self._history(self.schemas[obj], parent_id, field_name, old, new, data_type, user_id, at)
