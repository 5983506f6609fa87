"""Read an agreement's figures back from the store: nothing is recomputed here.

The engine's figures (attainment per agreement, team and rep; the goal version; the marketing
status folded into the agreement row) are exactly what the worker's evaluate step stored; this
module only selects and groups them. A lead's SLA status (at risk, breached, ...) is the one the
push step writes to the CRM, from :mod:`sla_sync.pipeline.fields`, applied to the stored cycles.

Shared by everything that shows figures (the demo, the weekly report, the period close), so that
one figure is read one way everywhere.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sla_sync.connectors.base import SlaStatus
from sla_sync.domain import Attainment, CycleKind, GoalVersion, LeadCycle, Owner, ScopeKind
from sla_sync.pipeline.fields import current_cycles, status_of
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import AgreementPolicy
from sla_sync.store.repositories import (
    connection_ids,
    current_goal,
    load_attainments,
    load_cycles,
    load_owners,
)


@dataclass(frozen=True, slots=True)
class LeadStatus:
    """A lead's SLA status under one agreement, the current cycle it describes (the speed cycle
    when there is one), and every current cycle (one per kind)."""

    lead_id: str
    status: SlaStatus
    cycle: LeadCycle
    current: tuple[LeadCycle, ...] = ()


@dataclass(frozen=True, slots=True)
class AgreementFigures:
    """One agreement's stored figures for one reporting period.

    ``total`` is the agreement-scope row (``None`` when the cycle stored none); ``teams`` and
    ``reps`` the team and owner rows (live figures, or the closed snapshot when ``closed``).
    ``goal`` is the period's latest stored goal version. ``statuses`` holds every lead with cycles
    under the agreement, whatever period they started in (a rep's open leads); ``at_risk`` counts
    those at risk now by scope id (agreement id, team, owner id).
    """

    policy: AgreementPolicy
    period: Period
    total: Attainment | None
    teams: tuple[Attainment, ...]
    reps: tuple[Attainment, ...]
    goal: GoalVersion | None
    statuses: tuple[LeadStatus, ...]
    at_risk: Mapping[str, int]
    closed: bool = False

    @property
    def breached(self) -> int:
        """Speed cycles started in the period that breached."""
        return 0 if self.total is None else breached(self.total)


def breached(row: Attainment) -> int:
    """Breached speed cycles of a row (the engine's ``decided = met + breached``)."""
    return row.speed.decided - row.speed.met


def agreement_figures(
    session: Session,
    connection_id: int | Iterable[int],
    policy: AgreementPolicy,
    *,
    as_of: datetime,
    period: Period | None = None,
    final: bool = False,
) -> AgreementFigures:
    """The stored figures of ``policy`` for ``period`` (default: the period holding ``as_of``).

    ``connection_id``: the connection(s) whose leads' statuses are read. ``final``: show a
    closed period's frozen snapshot rather than its live figures (a scope without a snapshot
    shows its live figures).
    """
    period = period or Period.containing(as_of, policy.period, policy.timezone)
    records = load_attainments(session, policy.id, period.label)
    rows = [r.final if final and r.final is not None else r.current for r in records]
    stored_goal = current_goal(session, policy.id, period.label)
    ids = [connection_id] if isinstance(connection_id, int) else list(connection_id)
    statuses: list[LeadStatus] = []
    for one in ids:
        statuses += lead_statuses(
            load_cycles(session, connection_id=one, agreement=policy.id), policy.id
        )
    return AgreementFigures(
        policy=policy,
        period=period,
        total=next((r for r in rows if r.scope is ScopeKind.AGREEMENT), None),
        teams=tuple(r for r in rows if r.scope is ScopeKind.TEAM),
        reps=tuple(r for r in rows if r.scope is ScopeKind.OWNER),
        goal=stored_goal.goal if stored_goal else None,
        statuses=tuple(statuses),
        at_risk=at_risk_counts(statuses, policy.id),
        closed=bool(records) and all(r.closed_at is not None for r in records),
    )


def lead_statuses(cycles: Iterable[LeadCycle], agreement: str) -> tuple[LeadStatus, ...]:
    """Each lead's status under ``agreement`` as the push step derives it, with the current
    cycle it describes (the speed cycle when there is one), in lead order."""
    by_lead: dict[str, list[LeadCycle]] = defaultdict(list)
    for cycle in cycles:
        by_lead[cycle.lead_id].append(cycle)
    out = []
    for lead_id in sorted(by_lead):
        current = current_cycles(by_lead[lead_id], agreement)
        if not current:
            continue
        shown = current.get(CycleKind.SPEED) or next(iter(current.values()))
        out.append(
            LeadStatus(
                lead_id=lead_id,
                status=status_of(current),
                cycle=shown,
                current=tuple(current.values()),
            )
        )
    return tuple(out)


def at_risk_counts(statuses: Iterable[LeadStatus], agreement_id: str) -> dict[str, int]:
    """Leads at risk now, by agreement id, team and owner id (of their current cycle)."""
    counts: Counter[str] = Counter()
    for item in statuses:
        if item.status is SlaStatus.AT_RISK:
            counts[agreement_id] += 1
            for scope in (item.cycle.team, item.cycle.owner_id):
                if scope:
                    counts[scope] += 1
    return dict(counts)


def agreement_owners(session: Session, policy: AgreementPolicy) -> dict[str, Owner]:
    """The owners of every stored connection ``policy`` reads, by CRM id (as the evaluate step
    gathers them for attainment)."""
    ids = connection_ids(session)
    owners: dict[str, Owner] = {}
    for name in policy.connections:
        if name in ids:
            owners.update(load_owners(session, ids[name]))
    return owners


def agreement_connection_ids(session: Session, policy: AgreementPolicy) -> list[int]:
    """Ids of the stored connections ``policy`` reads, in the policy's order."""
    ids = connection_ids(session)
    return [ids[name] for name in policy.connections if name in ids]


def owner_label(owners: Mapping[str, Owner], owner_id: str) -> str:
    """``Ana Ortiz`` for a known owner, else the id as stored."""
    owner = owners.get(owner_id)
    return owner.name if owner and owner.name else owner_id
