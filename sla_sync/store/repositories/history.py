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

    # Plain column tuples, not ORM objects: a full sync loads every lead's history once, and
    # identity-map bookkeeping would cost more than the queries.
    lc_t, oc_t = LifecycleChangeRow.__table__.c, OwnerChangeRow.__table__.c
    t_t, fc_t = TouchRow.__table__.c, FieldChangeRow.__table__.c
    for chunk in chunks(lead_ids):
        for lead_id, field, value, at, source in session.execute(
            select(lc_t.lead_crm_id, lc_t.field, lc_t.value, lc_t.at, lc_t.source)
            .where(lc_t.connection_id == connection_id, lc_t.lead_crm_id.in_(chunk))
            .order_by(lc_t.at, lc_t.id)
        ):
            part(lead_id)[0].append(
                LifecycleChange(
                    lead_id=lead_id,
                    field=LifecycleField(field),
                    value=value or None,
                    at=at,
                    source=source,
                )
            )
        for lead_id, owner_id, at in session.execute(
            select(oc_t.lead_crm_id, oc_t.owner_crm_id, oc_t.at)
            .where(oc_t.connection_id == connection_id, oc_t.lead_crm_id.in_(chunk))
            .order_by(oc_t.at, oc_t.id)
        ):
            part(lead_id)[1].append(OwnerChange(lead_id=lead_id, owner_id=owner_id or None, at=at))
        for t in session.execute(
            select(
                t_t.crm_id,
                t_t.lead_crm_id,
                t_t.kind,
                t_t.occurred_at,
                t_t.owner_crm_id,
                t_t.direction,
                t_t.automated,
                t_t.by_sla_sync,
                t_t.created_at,
            )
            .where(t_t.connection_id == connection_id, t_t.lead_crm_id.in_(chunk))
            .order_by(t_t.occurred_at, t_t.id)
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
        for lead_id, name, value, at in session.execute(
            select(fc_t.lead_crm_id, fc_t.name, fc_t.value, fc_t.at)
            .where(fc_t.connection_id == connection_id, fc_t.lead_crm_id.in_(chunk))
            .order_by(fc_t.at, fc_t.id)
        ):
            part(lead_id)[3].append(
                FieldChange(lead_id=lead_id, name=name, value=value or None, at=at)
            )
    return parts
