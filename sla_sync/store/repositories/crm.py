"""CRM inputs: connections, owners, leads, their change history and touches.

Every upsert is idempotent: re-applying the same page changes no row and reports nothing
changed. Each returns the ids of the leads whose inputs changed, which is what the evaluate step
needs to recompute. None of these functions commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, or_, select, update
from sqlalchemy.orm import Session

from sla_sync.domain import (
    FieldChange,
    Lead,
    LifecycleChange,
    Owner,
    OwnerChange,
    Touch,
    ensure_utc,
)
from sla_sync.store.models import (
    Connection,
    FieldChangeRow,
    LeadRow,
    LifecycleChangeRow,
    OwnerChangeRow,
    OwnerRow,
    TouchRow,
)
from sla_sync.store.records import LeadVersion
from sla_sync.store.repositories._upsert import (
    chunks,
    content_hash,
    dedupe_last,
    insert_for,
)

# --------------------------------------------------------------------------- connections


def ensure_connection(session: Session, name: str, kind: str) -> int:
    """Return the id of connection ``name``, creating it if needed (``kind``: hubspot, ...)."""
    stmt = insert_for(session, Connection.__table__)  # type: ignore[arg-type]
    session.execute(
        stmt.values(name=name, kind=str(kind)).on_conflict_do_nothing(index_elements=["name"])
    )
    return session.execute(select(Connection.id).where(Connection.name == name)).scalar_one()


def connection_ids(session: Session) -> dict[str, int]:
    """All connections, name -> id."""
    return {name: id_ for id_, name in session.execute(select(Connection.id, Connection.name))}


# --------------------------------------------------------------------------- upsert machinery

_KEY = ("connection_id", "crm_id")


def _upsert(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    version: str | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """Insert ``rows`` or update stored rows keyed by (connection_id, crm_id).

    A stored row is updated when its content hash differs or, with ``version`` (the column of
    the CRM's modification instant), when the incoming version is newer; with ``version`` an
    incoming row older than the stored one never overwrites it (unknown counts as newer). The
    version column is not part of the hash, so a re-read whose only difference is a bumped
    modification date (the worker's own write coming back) reports nothing changed.

    Returns the ``crm_id`` of every row inserted or whose content changed, and the previously
    stored values of ``extra`` columns per ``crm_id``.
    """
    if not rows:
        return set(), {}
    rows = dedupe_last(rows, key=lambda row: row["crm_id"])
    connection_id = rows[0]["connection_id"]
    for row in rows:
        row["content_hash"] = content_hash(
            {k: v for k, v in row.items() if k not in ("content_hash", version)}
        )
    previous: dict[str, dict[str, Any]] = {}
    columns = [table.c.crm_id, table.c.content_hash, *(table.c[name] for name in extra)]
    for chunk in chunks(sorted(row["crm_id"] for row in rows)):
        query = select(*columns).where(
            table.c.connection_id == connection_id, table.c.crm_id.in_(chunk)
        )
        previous.update((r.crm_id, dict(r._mapping)) for r in session.execute(query))
    stmt = insert_for(session, table)
    apply: ColumnElement[bool] = table.c.content_hash != stmt.excluded.content_hash
    if version is not None:
        stored, incoming = table.c[version], stmt.excluded[version]
        apply = or_(apply, incoming > stored) & or_(
            stored.is_(None), incoming.is_(None), incoming >= stored
        )
    update = {name: stmt.excluded[name] for name in rows[0] if name not in _KEY}
    upsert = stmt.on_conflict_do_update(index_elements=list(_KEY), set_=update, where=apply)
    hashes = {row["crm_id"]: row["content_hash"] for row in rows}
    written: set[str] = set()
    for chunk in chunks(rows):
        written.update(session.execute(upsert.returning(table.c.crm_id), list(chunk)).scalars())
    changed = {
        crm_id
        for crm_id in written
        if crm_id not in previous or previous[crm_id]["content_hash"] != hashes[crm_id]
    }
    return changed, previous


def _insert_new(
    session: Session, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> set[str]:
    """Insert rows whose key is not stored yet; return the ``lead_crm_id`` of new rows."""
    if not rows:
        return set()
    rows = dedupe_last(rows, key=lambda row: tuple(row[k] for k in key))
    stmt = insert_for(session, table).on_conflict_do_nothing(index_elements=list(key))
    new: set[str] = set()
    for chunk in chunks(rows):
        new.update(session.execute(stmt.returning(table.c.lead_crm_id), list(chunk)).scalars())
    return new


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


# --------------------------------------------------------------------------- owners


def upsert_owners(session: Session, connection_id: int, owners: Iterable[Owner]) -> set[str]:
    """Insert or update owners; returns the ids of owners that were new or changed."""
    rows = [
        {
            "connection_id": connection_id,
            "crm_id": o.id,
            "name": o.name,
            "email": o.email,
            "team": o.team,
            "manager_crm_id": o.manager_id,
            "timezone": o.timezone,
            "active": o.active,
        }
        for o in owners
    ]
    return _upsert(session, _table(OwnerRow), rows)[0]


def load_owners(session: Session, connection_id: int) -> dict[str, Owner]:
    """All owners of a connection, by CRM id."""
    rows = session.scalars(select(OwnerRow).where(OwnerRow.connection_id == connection_id))
    return {
        r.crm_id: Owner(
            id=r.crm_id,
            name=r.name,
            email=r.email,
            team=r.team,
            manager_id=r.manager_crm_id,
            timezone=r.timezone,
            active=r.active,
        )
        for r in rows
    }


# --------------------------------------------------------------------------- leads


def upsert_leads(
    session: Session, connection_id: int, leads: Iterable[Lead | LeadVersion]
) -> set[str]:
    """Insert or update leads, newer-wins on the CRM's modification time.

    A stored row changes only when the incoming content differs and its ``modified_at`` is not
    older than the stored one. Returns the ids of leads inserted or changed.

    Raises:
        NaiveDatetimeError: a datetime of a lead has no time zone (wrapped in SQLAlchemy's
            ``StatementError``).
    """
    rows = []
    for item in leads:
        version = item if isinstance(item, LeadVersion) else LeadVersion(lead=item)
        lead = version.lead
        rows.append(
            {
                "connection_id": connection_id,
                "crm_id": lead.id,
                "owner_crm_id": lead.owner_id,
                "stage": lead.stage,
                "status": lead.status,
                "fields": dict(lead.fields),
                "created_at": lead.created_at,
                "merged_into": lead.merged_into,
                "deleted_at": lead.deleted_at,
                "modified_at": version.modified_at,
            }
        )
    _check_aware(rows, ("created_at", "deleted_at", "modified_at"))
    return _upsert(session, _table(LeadRow), rows, version="modified_at")[0]


def load_leads(session: Session, connection_id: int, lead_ids: Iterable[str]) -> dict[str, Lead]:
    """The stored leads among ``lead_ids`` (unknown ids are left out), by CRM id."""
    ids = sorted(set(lead_ids))
    found: dict[str, Lead] = {}
    for chunk in chunks(ids):
        stmt = select(LeadRow).where(
            LeadRow.connection_id == connection_id, LeadRow.crm_id.in_(chunk)
        )
        found.update((r.crm_id, lead_from_row(r)) for r in session.scalars(stmt))
    return found


def lead_from_row(row: LeadRow) -> Lead:
    """The domain :class:`~sla_sync.domain.Lead` of a stored row."""
    return Lead(
        id=row.crm_id,
        created_at=row.created_at,
        owner_id=row.owner_crm_id,
        stage=row.stage,
        status=row.status,
        fields=MappingProxyType(dict(row.fields)),
        merged_into=row.merged_into,
        deleted_at=row.deleted_at,
    )


def _check_aware(rows: Sequence[Mapping[str, Any]], names: tuple[str, ...]) -> None:
    # Fail before the statement, naming the record, rather than deep inside a batch insert.
    for row in rows:
        for name in names:
            value = row.get(name)
            if isinstance(value, datetime):
                key = row.get("crm_id") or row.get("lead_crm_id")
                ensure_utc(value, what=f"{name} of record {key}")


# --------------------------------------------------------------------------- history


def add_lifecycle_changes(
    session: Session, connection_id: int, changes: Iterable[LifecycleChange]
) -> set[str]:
    """Record lifecycle changes; already-known ones are skipped. Returns leads with new changes.

    A cleared value (``None``) is stored as ``""`` and read back as ``None``.
    """
    rows = [
        {
            "connection_id": connection_id,
            "lead_crm_id": c.lead_id,
            "field": str(c.field),
            "value": c.value or "",
            "at": c.at,
            "source": c.source,
        }
        for c in changes
    ]
    _check_aware(rows, ("at",))
    key = ("connection_id", "lead_crm_id", "field", "at", "value")
    return _insert_new(session, _table(LifecycleChangeRow), rows, key)


def add_owner_changes(
    session: Session, connection_id: int, changes: Iterable[OwnerChange]
) -> set[str]:
    """Record owner changes; already-known ones are skipped. Returns leads with new changes."""
    rows = [
        {
            "connection_id": connection_id,
            "lead_crm_id": c.lead_id,
            "owner_crm_id": c.owner_id or "",
            "at": c.at,
        }
        for c in changes
    ]
    _check_aware(rows, ("at",))
    key = ("connection_id", "lead_crm_id", "at", "owner_crm_id")
    return _insert_new(session, _table(OwnerChangeRow), rows, key)


def add_field_changes(
    session: Session, connection_id: int, changes: Iterable[FieldChange]
) -> set[str]:
    """Record field changes; already-known ones are skipped. Returns leads with new changes."""
    rows = [
        {
            "connection_id": connection_id,
            "lead_crm_id": c.lead_id,
            "name": c.name,
            "value": c.value or "",
            "at": c.at,
        }
        for c in changes
    ]
    _check_aware(rows, ("at",))
    key = ("connection_id", "lead_crm_id", "name", "at", "value")
    return _insert_new(session, _table(FieldChangeRow), rows, key)


def upsert_touches(session: Session, connection_id: int, touches: Iterable[Touch]) -> set[str]:
    """Insert or update touches (one lead per touch, keyed by the CRM activity id).

    Returns the ids of leads whose touches changed, including the previous lead of a touch that
    was re-associated to another lead.
    """
    rows: list[dict[str, Any]] = [
        {
            "connection_id": connection_id,
            "crm_id": t.id,
            "lead_crm_id": t.lead_id,
            "activity_crm_id": activity_of(t.id, t.lead_id),
            "owner_crm_id": t.owner_id,
            "kind": str(t.kind),
            "direction": str(t.direction),
            "automated": t.automated,
            "by_sla_sync": t.by_sla_sync,
            "occurred_at": t.occurred_at,
            "created_at": t.created_at,
        }
        for t in touches
    ]
    _check_aware(rows, ("occurred_at", "created_at"))
    changed, previous = _upsert(session, _table(TouchRow), rows, extra=("lead_crm_id",))
    leads = {row["lead_crm_id"] for row in rows if row["crm_id"] in changed}
    leads.update(previous[crm_id]["lead_crm_id"] for crm_id in changed if crm_id in previous)
    return leads


def activity_of(touch_id: str, lead_id: str) -> str | None:
    """The activity id of a touch id ``<activity>/<lead>`` (the connectors' ``touch_id``), or
    ``None`` when the id does not end with ``/<lead_id>``."""
    suffix = f"/{lead_id}"
    if touch_id.endswith(suffix) and len(touch_id) > len(suffix):
        return touch_id[: -len(suffix)]
    return None


def replace_activity_links(
    session: Session,
    connection_id: int,
    activity_ids: Iterable[str],
    keep_touch_ids: Iterable[str],
) -> set[str]:
    """Drop the touches of ``activity_ids`` other than ``keep_touch_ids``.

    For activities whose complete set of lead links was just pulled (``keep_touch_ids``): an
    activity re-associated away from a lead, or unlinked, stops counting for it. Returns the
    leads that lost a touch.
    """
    keep = set(keep_touch_ids)
    return _delete_touches(
        session, connection_id, sorted(set(activity_ids)), lambda crm_id: crm_id not in keep
    )


def remove_activities(
    session: Session, connection_id: int, activity_ids: Iterable[str]
) -> set[str]:
    """Delete every touch of activities deleted in the CRM; returns the leads that lost one."""
    return _delete_touches(session, connection_id, sorted(set(activity_ids)), lambda _: True)


def _delete_touches(
    session: Session, connection_id: int, activity_ids: list[str], drop: Callable[[str], bool]
) -> set[str]:
    affected: set[str] = set()
    for chunk in chunks(activity_ids):
        rows = session.execute(
            select(TouchRow.id, TouchRow.crm_id, TouchRow.lead_crm_id).where(
                TouchRow.connection_id == connection_id, TouchRow.activity_crm_id.in_(chunk)
            )
        ).all()
        doomed = [r for r in rows if drop(r.crm_id)]
        for ids in chunks([r.id for r in doomed]):
            session.execute(delete(TouchRow).where(TouchRow.id.in_(ids)))
        affected.update(r.lead_crm_id for r in doomed)
    return affected


def mark_leads_deleted(
    session: Session, connection_id: int, deleted: Mapping[str, datetime]
) -> set[str]:
    """Set ``deleted_at`` on stored leads archived or deleted in the CRM (``{id: when}``).

    Leads never stored are ignored (nothing of theirs to cancel). Returns the leads changed.
    """
    changed: set[str] = set()
    for lead_id, at in sorted(deleted.items()):
        at = ensure_utc(at, what=f"deletion of lead {lead_id}")
        result = session.execute(
            update(LeadRow)
            .where(
                LeadRow.connection_id == connection_id,
                LeadRow.crm_id == lead_id,
                or_(LeadRow.deleted_at.is_(None), LeadRow.deleted_at != at),
            )
            .values(deleted_at=at)
            .returning(LeadRow.crm_id)
        )
        changed.update(result.scalars())
    return changed


def mark_leads_merged(session: Session, connection_id: int, merges: Mapping[str, str]) -> set[str]:
    """Set ``merged_into`` on stored leads merged away (``{loser: survivor}``).

    Returns the losers changed *and* their survivors (whose history now includes the loser's),
    so both are re-evaluated.
    """
    changed: set[str] = set()
    for loser, survivor in sorted(merges.items()):
        result = session.execute(
            update(LeadRow)
            .where(
                LeadRow.connection_id == connection_id,
                LeadRow.crm_id == loser,
                or_(LeadRow.merged_into.is_(None), LeadRow.merged_into != survivor),
            )
            .values(merged_into=survivor)
            .returning(LeadRow.crm_id)
        )
        if result.scalars().all():
            changed.update((loser, survivor))
    return changed


def merge_survivors(session: Session, connection_id: int, lead_ids: Iterable[str]) -> set[str]:
    """The records the given leads were merged into (their histories include these leads)."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(lead_ids))):
        found.update(
            session.scalars(
                select(LeadRow.merged_into).where(
                    LeadRow.connection_id == connection_id,
                    LeadRow.crm_id.in_(chunk),
                    LeadRow.merged_into.is_not(None),
                )
            )
        )
    found.discard("")
    return found


def leads_owned_by(session: Session, connection_id: int, owner_ids: Iterable[str]) -> set[str]:
    """Leads currently owned by any of ``owner_ids`` (an owner's team moved: scopes change)."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(owner_ids))):
        found.update(
            session.scalars(
                select(LeadRow.crm_id).where(
                    LeadRow.connection_id == connection_id, LeadRow.owner_crm_id.in_(chunk)
                )
            )
        )
    return found
