"""Loading :class:`~sla_sync.domain.LeadHistory` values: a lead, its changes, touches and merges."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sla_sync.domain import (
    FieldChange,
    Lead,
    LeadHistory,
    LifecycleChange,
    LifecycleField,
    OwnerChange,
    Touch,
    TouchDirection,
    TouchKind,
)
from sla_sync.store.models import (
    FieldChangeRow,
    LeadRow,
    LifecycleChangeRow,
    OwnerChangeRow,
    TouchRow,
)
from sla_sync.store.repositories._upsert import chunks
from sla_sync.store.repositories.crm import lead_from_row, load_leads


def load_histories(
    session: Session, connection_id: int, lead_ids: Iterable[str]
) -> dict[str, LeadHistory]:
    """Everything the engine needs for each stored lead in ``lead_ids``, by lead id.

    ``merged_from`` holds, recursively, the histories of records merged into each lead.
    Unknown ids are left out.
    """
    wanted = set(lead_ids)
    leads = load_leads(session, connection_id, wanted)
    # Walk "merged into" links backwards until no new record turns up (guarding against loops).
    frontier = set(leads)
    while frontier:
        found: dict[str, Lead] = {}
        for chunk in chunks(sorted(frontier)):
            stmt = select(LeadRow).where(
                LeadRow.connection_id == connection_id, LeadRow.merged_into.in_(chunk)
            )
            found.update((r.crm_id, lead_from_row(r)) for r in session.scalars(stmt))
        frontier = set(found) - set(leads)
        leads.update({k: v for k, v in found.items() if k in frontier})
    parts = _load_parts(session, connection_id, sorted(leads))
    children: dict[str, list[str]] = {}
    for lead in leads.values():
        if lead.merged_into is not None and lead.merged_into != lead.id:
            children.setdefault(lead.merged_into, []).append(lead.id)

    def build(lead_id: str, seen: frozenset[str]) -> LeadHistory:
        lifecycle, owners, touches, fields = parts.get(lead_id, ([], [], [], []))
        merged = tuple(
            build(child, seen | {child})
            for child in sorted(children.get(lead_id, ()))
            if child not in seen
        )
        return LeadHistory(
            lead=leads[lead_id],
            lifecycle=tuple(lifecycle),
            owners=tuple(owners),
            touches=tuple(touches),
            field_changes=tuple(fields),
            merged_from=merged,
        )

    return {lead_id: build(lead_id, frozenset({lead_id})) for lead_id in wanted & set(leads)}


_Parts = tuple[list[LifecycleChange], list[OwnerChange], list[Touch], list[FieldChange]]


def _load_parts(session: Session, connection_id: int, lead_ids: list[str]) -> dict[str, _Parts]:
    parts: dict[str, _Parts] = {}

    def part(lead_id: str) -> _Parts:
        return parts.setdefault(lead_id, ([], [], [], []))

    for chunk in chunks(lead_ids):
        for lc in session.scalars(
            select(LifecycleChangeRow)
            .where(
                LifecycleChangeRow.connection_id == connection_id,
                LifecycleChangeRow.lead_crm_id.in_(chunk),
            )
            .order_by(LifecycleChangeRow.at, LifecycleChangeRow.id)
        ):
            part(lc.lead_crm_id)[0].append(
                LifecycleChange(
                    lead_id=lc.lead_crm_id,
                    field=LifecycleField(lc.field),
                    value=lc.value or None,
                    at=lc.at,
                    source=lc.source,
                )
            )
        for oc in session.scalars(
            select(OwnerChangeRow)
            .where(
                OwnerChangeRow.connection_id == connection_id,
                OwnerChangeRow.lead_crm_id.in_(chunk),
            )
            .order_by(OwnerChangeRow.at, OwnerChangeRow.id)
        ):
            part(oc.lead_crm_id)[1].append(
                OwnerChange(lead_id=oc.lead_crm_id, owner_id=oc.owner_crm_id or None, at=oc.at)
            )
        for t in session.scalars(
            select(TouchRow)
            .where(TouchRow.connection_id == connection_id, TouchRow.lead_crm_id.in_(chunk))
            .order_by(TouchRow.occurred_at, TouchRow.id)
        ):
            part(t.lead_crm_id)[2].append(
                Touch(
                    id=t.crm_id,
                    lead_id=t.lead_crm_id,
                    kind=TouchKind(t.kind),
                    occurred_at=t.occurred_at,
                    owner_id=t.owner_crm_id,
                    direction=TouchDirection(t.direction),
                    automated=t.automated,
                    by_sla_sync=t.by_sla_sync,
                    created_at=t.created_at,
                )
            )
        for fc in session.scalars(
            select(FieldChangeRow)
            .where(
                FieldChangeRow.connection_id == connection_id,
                FieldChangeRow.lead_crm_id.in_(chunk),
            )
            .order_by(FieldChangeRow.at, FieldChangeRow.id)
        ):
            part(fc.lead_crm_id)[3].append(
                FieldChange(lead_id=fc.lead_crm_id, name=fc.name, value=fc.value or None, at=fc.at)
            )
    return parts
