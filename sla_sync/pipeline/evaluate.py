"""Evaluate step: recompute the cycles of queued and due leads, then the open periods' figures.

Leads are taken from the evaluation queue (leads whose inputs changed, queued by the pull) plus
those with a cycle whose ``next_check_at`` has passed (a warning, deadline or escalation due
without new input), in chunks of ``chunk_size``: only one chunk's histories are in memory, and
each chunk's cycles, MQL entries, push-queue entries and the removal from the evaluation queue
commit together (a killed run re-evaluates at most one chunk).

A lead is evaluated under every agreement that reads this connection (the same engine blocks
as ``sla explain``: :func:`~sla_sync.sla.evaluate.leads_in_scope` and
:func:`~sla_sync.sla.cycles.evaluate_lead`); a lead out of an agreement's scope gets its cycles
under it deleted. A record merged into another makes its survivor re-evaluated too.

Attainment is then recomputed from the stored cycles, for the current reporting period of each
agreement and for every earlier period a re-evaluated cycle started in (late data: the live
figures change, a closed period's snapshot stays). Marketing's figures count the stored MQL
entries against the period's goal version, published when the period has none yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from sla_sync.domain import (
    Attainment,
    CycleKind,
    GoalVersion,
    LeadCycle,
    LeadHistory,
    Owner,
    ScopeKind,
)
from sla_sync.explain.render import describe_consequence
from sla_sync.pipeline.progress import Progress, ProgressCallback
from sla_sync.sla.attainment import (
    aggregate_sales,
    apply_marketing,
    attainment_figures,
    marketing_status,
    triggered_consequences,
)
from sla_sync.sla.cycles import evaluate_lead
from sla_sync.sla.evaluate import leads_in_scope, mql_deliveries
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import AgreementPolicy, LeadDefinition
from sla_sync.sla.volume import GoalOutcome, MqlDelivery, publish_goal_version
from sla_sync.store import repositories as repo

DEFAULT_CHUNK = 2000
LEAD_OBJECT = "lead"


@dataclass(slots=True)
class EvaluateOutcome:
    """Leads evaluated, cycles stored, leads queued for the push step, periods recomputed."""

    leads: int = 0
    cycles: int = 0
    queued_for_push: int = 0
    periods: list[str] = field(default_factory=list)


def evaluate_pending(
    sessions: sessionmaker[Session],
    connection_id: int,
    policies: Sequence[AgreementPolicy],
    *,
    as_of: datetime,
    chunk_size: int = DEFAULT_CHUNK,
    progress: ProgressCallback | None = None,
) -> EvaluateOutcome:
    """Evaluate every queued or due lead as of ``as_of`` and recompute attainment.

    ``policies``: the agreements that read this connection.
    """
    outcome = EvaluateOutcome()
    touched: dict[str, set[str]] = {p.id: set() for p in policies}  # agreement -> periods
    with sessions() as session, session.begin():
        due = repo.due_cycle_leads(session, connection_id, as_of=as_of)
        repo.enqueue_evaluation(session, connection_id, due, at=as_of)
    with sessions() as session:
        owners = repo.load_owners(session, connection_id)
        backlog = repo.evaluation_backlog(session, connection_id)
    while True:
        with sessions() as session, session.begin():
            batch = repo.evaluation_batch(session, connection_id, limit=chunk_size)
            if not batch:
                break
            evaluated = _evaluate_chunk(
                session, connection_id, batch, policies, owners, as_of, outcome, touched
            )
            repo.dequeue_evaluation(session, connection_id, evaluated)
        outcome.leads += len(evaluated)
        if progress is not None:
            progress(
                Progress(step="evaluate", done=outcome.leads, total=max(backlog, outcome.leads))
            )
    with sessions() as session, session.begin():
        for policy in policies:
            current = Period.containing(as_of, policy.period, policy.timezone)
            labels = {current.label} | touched[policy.id]
            for label in sorted(labels):
                period = Period.parse(label, policy.timezone)
                outcome.queued_for_push += _recompute_attainment(
                    session, connection_id, policy, period, as_of, current=label == current.label
                )
                outcome.periods.append(f"{policy.id} {label}")
    return outcome


def _evaluate_chunk(
    session: Session,
    connection_id: int,
    batch: list[str],
    policies: Sequence[AgreementPolicy],
    owners: Mapping[str, Owner],
    as_of: datetime,
    outcome: EvaluateOutcome,
    touched: dict[str, set[str]],
) -> set[str]:
    """Evaluate one chunk in the caller's transaction; returns every lead id evaluated."""
    survivors = repo.merge_survivors(session, connection_id, batch)
    lead_ids = set(batch) | survivors
    histories = repo.load_histories(session, connection_id, lead_ids)
    with_cycles: set[str] = set()
    for policy in policies:
        selected = {h.lead.id for h in leads_in_scope(policy, histories.values(), owners)}
        cycles_by_lead: dict[str, tuple[LeadCycle, ...]] = {}
        for lead_id in lead_ids:
            history = histories.get(lead_id)
            if history is None or lead_id not in selected or policy.sales is None:
                cycles_by_lead[lead_id] = ()
                continue
            cycles = evaluate_lead(history, policy.sales, owners=owners, as_of=as_of)
            cycles_by_lead[lead_id] = cycles
            if cycles:
                with_cycles.add(lead_id)
            outcome.cycles += len(cycles)
            for cycle in cycles:
                label = Period.containing(cycle.started_at, policy.period, policy.timezone).label
                touched[policy.id].add(label)
        repo.save_cycles(
            session, connection_id, cycles_by_lead, agreement=policy.id, evaluated_at=as_of
        )
        if policy.volume is not None:
            _save_mqls(session, connection_id, policy, histories, selected, lead_ids, as_of)
    managed = repo.load_confirmed(session, connection_id, LEAD_OBJECT, lead_ids)
    queue = with_cycles | set(managed)
    repo.enqueue_push(session, connection_id, queue, at=as_of)
    outcome.queued_for_push += len(queue)
    return lead_ids


def _save_mqls(
    session: Session,
    connection_id: int,
    policy: AgreementPolicy,
    histories: Mapping[str, LeadHistory],
    selected: set[str],
    lead_ids: Iterable[str],
    as_of: datetime,
) -> None:
    assert policy.volume is not None
    definition = policy.sales.lead_definition if policy.sales else LeadDefinition()
    in_scope = [histories[i] for i in sorted(selected) if i in histories]
    deliveries = mql_deliveries(
        in_scope, definition, segment_field=policy.volume.value_field, as_of=as_of
    )
    entries: dict[str, list[tuple[datetime, str | None]]] = {i: [] for i in lead_ids}
    for item in deliveries:
        entries[item.lead_id].append((item.at, item.segment))
    repo.save_mqls(session, connection_id, entries, agreement=policy.id)


def _recompute_attainment(
    session: Session,
    connection_id: int,
    policy: AgreementPolicy,
    period: Period,
    as_of: datetime,
    *,
    current: bool,
) -> int:
    """Recompute and store one period's attainment; returns leads queued for the push step
    (open speed cycles of owners whose speed figure moved, in the current period)."""
    ids = repo.connection_ids(session)
    owners: dict[str, Owner] = {}
    for name in policy.connections:
        if name in ids:
            owners.update(repo.load_owners(session, ids[name]))
    cycles = repo.load_cycles(
        session, agreement=policy.id, started_from=period.utc_start, started_before=period.utc_end
    )
    rows = aggregate_sales(cycles, agreement=policy.id, period=period, owners=owners)
    marketing = None
    if policy.volume is not None:
        goal = _period_goal(session, policy, period, as_of, publish=current)
        if goal is not None:
            deliveries = [
                MqlDelivery(lead_id=lead, at=at, segment=segment)
                for lead, at, segment in repo.load_mqls(
                    session, policy.id, start=period.utc_start, end=period.utc_end
                )
            ]
            marketing = marketing_status(deliveries, goal, period, as_of, policy.volume)
            rows = apply_marketing(rows, marketing)
    fired = triggered_consequences(
        attainment_figures(_agreement_row(rows), marketing), policy.consequences
    )
    described = tuple(describe_consequence(rule) for rule in fired)
    rows = [
        _with_consequences(row, described) if row.scope is ScopeKind.AGREEMENT else row
        for row in rows
    ]
    queued = 0
    if current:
        before = {
            r.current.scope_id: r.current.speed.pct
            for r in repo.load_attainments(session, policy.id, period.label, scope=ScopeKind.OWNER)
        }
        moved = {
            row.scope_id
            for row in rows
            if row.scope is ScopeKind.OWNER and before.get(row.scope_id) != row.speed.pct
        }
        if moved:
            leads = repo.open_cycle_leads(
                session, connection_id, agreement=policy.id, kind=CycleKind.SPEED, owner_ids=moved
            )
            repo.enqueue_push(session, connection_id, leads, at=as_of)
            queued = len(leads)
    repo.save_attainments(session, rows, computed_at=as_of)
    return queued


def _period_goal(
    session: Session, policy: AgreementPolicy, period: Period, as_of: datetime, *, publish: bool
) -> GoalVersion | None:
    stored = repo.current_goal(session, policy.id, period.label)
    if stored is not None:
        return stored.goal
    if not publish or policy.volume is None:
        return None
    previous = repo.latest_goal(session, policy.id)
    decision = publish_goal_version(
        policy.volume,
        agreement=policy.id,
        period=period,
        actuals=None,
        previous=previous.goal if previous is not None else None,
    )
    if decision.version is None:
        return None
    if decision.outcome in (GoalOutcome.PUBLISHED, GoalOutcome.REISSUED):
        repo.publish_goal_version(session, decision.version, published_at=as_of)
    return decision.version


def _agreement_row(rows: Sequence[Attainment]) -> Attainment:
    return next(row for row in rows if row.scope is ScopeKind.AGREEMENT)


def _with_consequences(row: Attainment, described: tuple[str, ...]) -> Attainment:
    return replace(row, consequences=described)
