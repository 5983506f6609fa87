"""What the demo shows, read back from the store after the cycle: nothing is recomputed here.

The engine's figures (attainment per agreement, team and rep; the goal version; the marketing
status folded into the agreement row) are exactly what the worker's evaluate step stored; this
module only selects and groups them. A lead's SLA status (at risk, breached, ...) is the one the
push step writes to the CRM, from :mod:`sla_sync.pipeline.fields`, applied to the stored cycles.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sla_sync.connectors.base import SlaStatus
from sla_sync.domain import Attainment, CycleKind, GoalVersion, LeadCycle, Owner, ScopeKind
from sla_sync.pipeline.fields import current_cycles, status_of
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import AgreementPolicy
from sla_sync.store.repositories import current_goal, load_attainments, load_cycles


@dataclass(frozen=True, slots=True)
class LeadStatus:
    """A lead's SLA status under one agreement and the current cycle it describes."""

    lead_id: str
    status: SlaStatus
    cycle: LeadCycle


@dataclass(frozen=True, slots=True)
class AgreementFigures:
    """One agreement's stored figures for the reporting period holding ``as_of``.

    ``total`` is the agreement-scope row (``None`` when the cycle stored none); ``teams`` and
    ``reps`` the team and owner rows. ``goal`` is the period's latest stored goal version.
    ``statuses`` holds every lead with cycles under the agreement, whatever period they started
    in (a rep's open leads); ``at_risk`` counts those at risk now by scope id (agreement id,
    team, owner id).
    """

    policy: AgreementPolicy
    period: Period
    total: Attainment | None
    teams: tuple[Attainment, ...]
    reps: tuple[Attainment, ...]
    goal: GoalVersion | None
    statuses: tuple[LeadStatus, ...]
    at_risk: Mapping[str, int]

    @property
    def breached(self) -> int:
        """Speed cycles started in the period that breached."""
        return 0 if self.total is None else breached(self.total)


def breached(row: Attainment) -> int:
    """Breached speed cycles of a row (the engine's ``decided = met + breached``)."""
    return row.speed.decided - row.speed.met


def agreement_figures(
    session: Session, connection_id: int, policy: AgreementPolicy, *, as_of: datetime
) -> AgreementFigures:
    """The stored figures of ``policy`` for the reporting period that contains ``as_of``."""
    period = Period.containing(as_of, policy.period, policy.timezone)
    rows = [r.current for r in load_attainments(session, policy.id, period.label)]
    stored_goal = current_goal(session, policy.id, period.label)
    statuses = lead_statuses(
        load_cycles(session, connection_id=connection_id, agreement=policy.id), policy.id
    )
    return AgreementFigures(
        policy=policy,
        period=period,
        total=next((r for r in rows if r.scope is ScopeKind.AGREEMENT), None),
        teams=tuple(r for r in rows if r.scope is ScopeKind.TEAM),
        reps=tuple(r for r in rows if r.scope is ScopeKind.OWNER),
        goal=stored_goal.goal if stored_goal else None,
        statuses=statuses,
        at_risk=at_risk_counts(statuses, policy.id),
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
        out.append(LeadStatus(lead_id=lead_id, status=status_of(current), cycle=shown))
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


#: The situations worth showing on sample contacts, in display order.
SAMPLE_ORDER = (
    SlaStatus.AT_RISK,
    SlaStatus.BREACHED,
    SlaStatus.ON_TRACK,
    SlaStatus.MET,
    SlaStatus.PAUSED,
)


def sample_leads(figures: Sequence[AgreementFigures], *, per_status: int = 2) -> list[str]:
    """A few leads showing each status a rep meets (:data:`SAMPLE_ORDER`), those whose current
    cycle started last first; at most ``per_status`` of each. Deterministic for a store."""
    chosen: list[str] = []
    for status in SAMPLE_ORDER:
        matching = [s for f in figures for s in f.statuses if s.status is status]
        matching.sort(key=lambda s: (s.cycle.started_at, s.lead_id), reverse=True)
        chosen.extend(s.lead_id for s in matching[:per_status])
    return chosen


def owner_label(owners: Mapping[str, Owner], owner_id: str) -> str:
    """``Ana Ortiz`` for a known owner, else the id as stored."""
    owner = owners.get(owner_id)
    return owner.name if owner and owner.name else owner_id
