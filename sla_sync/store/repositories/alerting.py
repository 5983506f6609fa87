"""Reads for the alerts step: the stored cycles whose warning, breach or escalation is recent.

None of these functions commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sla_sync.domain import LeadCycle, ensure_utc
from sla_sync.store.models import LeadCycleRow
from sla_sync.store.repositories.evaluation import _cycle


def recent_transition_cycles(
    session: Session, connection_id: int, *, since: datetime
) -> list[LeadCycle]:
    """Cycles of a connection whose ``warning_at``, ``breached_at`` or ``escalated_at`` is at or
    after ``since``, ordered by agreement, lead, kind and number. Older transitions are left
    out: a backfill of past months must not raise alerts for decided history."""
    ensure_utc(since, what="since")
    stmt = (
        select(LeadCycleRow)
        .where(
            LeadCycleRow.connection_id == connection_id,
            or_(
                LeadCycleRow.warning_at >= since,
                LeadCycleRow.breached_at >= since,
                LeadCycleRow.escalated_at >= since,
            ),
        )
        .order_by(
            LeadCycleRow.agreement,
            LeadCycleRow.lead_crm_id,
            LeadCycleRow.kind,
            LeadCycleRow.number,
        )
    )
    return [_cycle(r) for r in session.scalars(stmt)]
