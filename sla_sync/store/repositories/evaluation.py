"""Engine results: lead cycles and period attainment.

Rows convert to and from the domain's :class:`~sla_sync.domain.LeadCycle` and
:class:`~sla_sync.domain.Attainment` exactly (same values, aware UTC instants). None of these
functions commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sla_sync.domain import (
    Attainment,
    CycleKind,
    CycleState,
    LeadCycle,
    Ratio,
    ScopeKind,
    ensure_utc,
)
from sla_sync.store.models import LeadCycleRow, PeriodAttainmentRow
from sla_sync.store.records import AttainmentRecord
from sla_sync.store.repositories._upsert import chunks, dedupe_last, insert_for

# --------------------------------------------------------------------------- lead cycles

_CYCLE_KEY = ("agreement", "connection_id", "lead_crm_id", "kind", "number")


def save_cycles(
    session: Session,
    connection_id: int,
    cycles_by_lead: Mapping[str, Sequence[LeadCycle]],
    *,
    agreement: str,
    evaluated_at: datetime,
) -> None:
    """Store the evaluated cycles of each lead in ``cycles_by_lead`` for ``agreement``.

    For each lead given, the cycles passed replace what was stored for that agreement: cycles
    with a (kind, number) no longer produced are deleted (a re-evaluation after a merge may
    yield fewer cycles). Leads not named are left alone.

    Raises:
        ValueError: a cycle belongs to another agreement or lead than the key it is under.
    """
    ensure_utc(evaluated_at, what="evaluated_at")
    rows: list[dict[str, Any]] = []
    for lead_id, cycles in cycles_by_lead.items():
        for cycle in cycles:
            if cycle.agreement != agreement or cycle.lead_id != lead_id:
                raise ValueError(
                    f"cycle {cycle.kind} #{cycle.number} of lead {cycle.lead_id} "
                    f"({cycle.agreement}) filed under lead {lead_id} ({agreement})"
                )
            rows.append(_cycle_row(connection_id, cycle, evaluated_at))
    rows = dedupe_last(rows, key=lambda row: tuple(row[k] for k in _CYCLE_KEY))
    table = LeadCycleRow.__table__
    keep = {(row["lead_crm_id"], row["kind"], row["number"]) for row in rows}
    for chunk in chunks(sorted(cycles_by_lead)):
        stored = session.execute(
            select(
                LeadCycleRow.id, LeadCycleRow.lead_crm_id, LeadCycleRow.kind, LeadCycleRow.number
            ).where(
                LeadCycleRow.agreement == agreement,
                LeadCycleRow.connection_id == connection_id,
                LeadCycleRow.lead_crm_id.in_(chunk),
            )
        ).all()
        stale = [r.id for r in stored if (r.lead_crm_id, r.kind, r.number) not in keep]
        if stale:
            session.execute(delete(LeadCycleRow).where(LeadCycleRow.id.in_(stale)))
    if not rows:
        return
    stmt = insert_for(session, table)  # type: ignore[arg-type]
    upsert = stmt.on_conflict_do_update(
        index_elements=list(_CYCLE_KEY),
        set_={name: stmt.excluded[name] for name in rows[0] if name not in _CYCLE_KEY},
    )
    for chunk_rows in chunks(rows):
        session.execute(upsert, list(chunk_rows))


def load_cycles(
    session: Session,
    *,
    connection_id: int | None = None,
    agreement: str | None = None,
    lead_ids: Iterable[str] | None = None,
    started_from: datetime | None = None,
    started_before: datetime | None = None,
) -> list[LeadCycle]:
    """Stored cycles matching every filter given, ordered by lead, kind and number.

    ``lead_ids`` requires ``connection_id`` (lead ids are unique per connection only).
    """
    stmt = select(LeadCycleRow)
    if connection_id is not None:
        stmt = stmt.where(LeadCycleRow.connection_id == connection_id)
    if agreement is not None:
        stmt = stmt.where(LeadCycleRow.agreement == agreement)
    if started_from is not None:
        stmt = stmt.where(LeadCycleRow.started_at >= started_from)
    if started_before is not None:
        stmt = stmt.where(LeadCycleRow.started_at < started_before)
    order = (
        LeadCycleRow.agreement,
        LeadCycleRow.lead_crm_id,
        LeadCycleRow.kind,
        LeadCycleRow.number,
    )
    if lead_ids is None:
        return [_cycle(r) for r in session.scalars(stmt.order_by(*order))]
    if connection_id is None:
        raise ValueError("lead_ids needs connection_id: lead ids are unique per connection")
    found: list[LeadCycleRow] = []
    for chunk in chunks(sorted(set(lead_ids))):
        found.extend(session.scalars(stmt.where(LeadCycleRow.lead_crm_id.in_(chunk))))
    found.sort(key=lambda r: (r.agreement, r.lead_crm_id, r.kind, r.number))
    return [_cycle(r) for r in found]


def due_cycle_leads(session: Session, connection_id: int, *, as_of: datetime) -> set[str]:
    """Leads with a cycle whose ``next_check_at`` (a warning, deadline or escalation the engine
    projected) is at or before ``as_of``: they need re-evaluation even if no input changed."""
    stmt = select(LeadCycleRow.lead_crm_id).where(
        LeadCycleRow.connection_id == connection_id,
        LeadCycleRow.next_check_at <= as_of,
    )
    return set(session.scalars(stmt.distinct()))


def _cycle_row(connection_id: int, c: LeadCycle, evaluated_at: datetime) -> dict[str, Any]:
    return {
        "connection_id": connection_id,
        "lead_crm_id": c.lead_id,
        "agreement": c.agreement,
        "kind": c.kind.value,
        "number": c.number,
        "state": c.state.value,
        "started_at": c.started_at,
        "owner_crm_id": c.owner_id,
        "team": c.team,
        "tier": c.tier,
        "target_seconds": c.target_seconds,
        "deadline_at": c.deadline_at,
        "warning_at": c.warning_at,
        "stopped_at": c.stopped_at,
        "first_touch_at": c.first_touch_at,
        "breached_at": c.breached_at,
        "business_seconds": c.business_seconds,
        "paused_seconds": c.paused_seconds,
        "attempts": c.attempts,
        "attempts_required": c.attempts_required,
        "cancel_reason": c.cancel_reason,
        "escalated_at": c.escalated_at,
        "next_check_at": c.next_check_at,
        "evaluated_at": evaluated_at,
    }


def _cycle(r: LeadCycleRow) -> LeadCycle:
    return LeadCycle(
        lead_id=r.lead_crm_id,
        agreement=r.agreement,
        kind=CycleKind(r.kind),
        number=r.number,
        state=CycleState(r.state),
        started_at=r.started_at,
        owner_id=r.owner_crm_id,
        team=r.team,
        tier=r.tier,
        target_seconds=r.target_seconds,
        deadline_at=r.deadline_at,
        warning_at=r.warning_at,
        stopped_at=r.stopped_at,
        first_touch_at=r.first_touch_at,
        breached_at=r.breached_at,
        business_seconds=r.business_seconds,
        paused_seconds=r.paused_seconds,
        attempts=r.attempts,
        attempts_required=r.attempts_required,
        cancel_reason=r.cancel_reason,
        escalated_at=r.escalated_at,
        next_check_at=r.next_check_at,
    )


# --------------------------------------------------------------------------- attainment

_ATTAINMENT_KEY = ("agreement", "period", "scope_kind", "scope_id")


def save_attainments(
    session: Session, attainments: Iterable[Attainment], *, computed_at: datetime
) -> None:
    """Store the live figures of each attainment (insert or replace).

    A closed period's ``final`` snapshot is never touched: late data changes the live figures
    and both numbers are kept.
    """
    ensure_utc(computed_at, what="computed_at")
    rows = [
        {**_attainment_figures(a), "computed_at": computed_at}
        for a in dedupe_last(
            attainments, key=lambda a: (a.agreement, a.period, a.scope, a.scope_id)
        )
    ]
    if not rows:
        return
    stmt = insert_for(session, PeriodAttainmentRow.__table__)  # type: ignore[arg-type]
    upsert = stmt.on_conflict_do_update(
        index_elements=list(_ATTAINMENT_KEY),
        set_={name: stmt.excluded[name] for name in rows[0] if name not in _ATTAINMENT_KEY},
    )
    for chunk_rows in chunks(rows):
        session.execute(upsert, list(chunk_rows))


def close_period(session: Session, agreement: str, period: str, *, closed_at: datetime) -> int:
    """Freeze the current figures of every scope of the period as its closed snapshot.

    Idempotent: scopes already closed keep their first snapshot. Returns how many were closed.
    """
    ensure_utc(closed_at, what="closed_at")
    rows = session.scalars(
        select(PeriodAttainmentRow).where(
            PeriodAttainmentRow.agreement == agreement,
            PeriodAttainmentRow.period == period,
            PeriodAttainmentRow.closed_at.is_(None),
        )
    ).all()
    for row in rows:
        figures = _attainment_figures(_attainment(row))
        row.final = {name: figures[name] for name in _SNAPSHOT_FIELDS}
        row.closed_at = closed_at
    session.flush()
    return len(rows)


def load_attainments(
    session: Session, agreement: str, period: str, *, scope: ScopeKind | None = None
) -> list[AttainmentRecord]:
    """The stored attainment of a period, live figures and closed snapshot, by scope and id."""
    stmt = select(PeriodAttainmentRow).where(
        PeriodAttainmentRow.agreement == agreement, PeriodAttainmentRow.period == period
    )
    if scope is not None:
        stmt = stmt.where(PeriodAttainmentRow.scope_kind == scope.value)
    stmt = stmt.order_by(PeriodAttainmentRow.scope_kind, PeriodAttainmentRow.scope_id)
    return [
        AttainmentRecord(
            current=_attainment(r),
            computed_at=r.computed_at,
            final=_attainment_from(r, r.final) if r.final is not None else None,
            closed_at=r.closed_at,
        )
        for r in session.scalars(stmt)
    ]


_SNAPSHOT_FIELDS = (
    "speed_met",
    "speed_decided",
    "depth_met",
    "depth_decided",
    "acceptance_met",
    "acceptance_decided",
    "running",
    "median_first_touch_minutes",
    "p90_first_touch_minutes",
    "mqls_delivered",
    "mql_goal",
    "value_delivered",
    "value_goal",
    "expected_to_date",
    "pace_index",
    "consequences",
)


def _attainment_figures(a: Attainment) -> dict[str, Any]:
    return {
        "agreement": a.agreement,
        "period": a.period,
        "scope_kind": a.scope.value,
        "scope_id": a.scope_id,
        "speed_met": a.speed.met,
        "speed_decided": a.speed.decided,
        "depth_met": a.depth.met,
        "depth_decided": a.depth.decided,
        "acceptance_met": a.acceptance.met,
        "acceptance_decided": a.acceptance.decided,
        "running": a.running,
        "median_first_touch_minutes": a.median_first_touch_minutes,
        "p90_first_touch_minutes": a.p90_first_touch_minutes,
        "mqls_delivered": a.mqls_delivered,
        "mql_goal": a.mql_goal,
        "value_delivered": a.value_delivered,
        "value_goal": a.value_goal,
        "expected_to_date": a.expected_to_date,
        "pace_index": a.pace_index,
        "consequences": list(a.consequences),
    }


def _attainment(r: PeriodAttainmentRow) -> Attainment:
    return _attainment_from(r, {name: getattr(r, name) for name in _SNAPSHOT_FIELDS})


def _attainment_from(r: PeriodAttainmentRow, f: Mapping[str, Any]) -> Attainment:
    def optional_float(name: str) -> float | None:
        value = f[name]
        return None if value is None else float(value)

    return Attainment(
        agreement=r.agreement,
        period=r.period,
        scope=ScopeKind(r.scope_kind),
        scope_id=r.scope_id,
        speed=Ratio(met=f["speed_met"], decided=f["speed_decided"]),
        depth=Ratio(met=f["depth_met"], decided=f["depth_decided"]),
        acceptance=Ratio(met=f["acceptance_met"], decided=f["acceptance_decided"]),
        running=f["running"],
        median_first_touch_minutes=optional_float("median_first_touch_minutes"),
        p90_first_touch_minutes=optional_float("p90_first_touch_minutes"),
        mqls_delivered=f["mqls_delivered"],
        mql_goal=optional_float("mql_goal"),
        value_delivered=optional_float("value_delivered"),
        value_goal=optional_float("value_goal"),
        expected_to_date=optional_float("expected_to_date"),
        pace_index=optional_float("pace_index"),
        consequences=tuple(f["consequences"]),
    )


def open_cycle_leads(
    session: Session,
    connection_id: int,
    *,
    agreement: str,
    kind: CycleKind,
    owner_ids: Iterable[str],
) -> set[str]:
    """Leads with a running or paused ``kind`` cycle of ``agreement`` owned by ``owner_ids``."""
    open_states = (CycleState.RUNNING.value, CycleState.PAUSED.value)
    found: set[str] = set()
    for chunk in chunks(sorted(set(owner_ids))):
        stmt = select(LeadCycleRow.lead_crm_id).where(
            LeadCycleRow.connection_id == connection_id,
            LeadCycleRow.agreement == agreement,
            LeadCycleRow.kind == kind.value,
            LeadCycleRow.state.in_(open_states),
            LeadCycleRow.owner_crm_id.in_(chunk),
        )
        found.update(session.scalars(stmt.distinct()))
    return found
