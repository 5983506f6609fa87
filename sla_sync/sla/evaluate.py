"""Evaluate one agreement over a set of leads: cycles, attainment, marketing status, consequences.

This is the single composition of the engine modules; the worker's evaluate step and
``sla-sync sla explain`` both call :func:`evaluate_agreement`, so what ops tries on a scenario is
exactly what the worker computes. Pure: time enters as ``as_of``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sla_sync.domain import (
    Attainment,
    GoalVersion,
    LeadCycle,
    LeadHistory,
    Owner,
    ScopeKind,
    ensure_utc,
)
from sla_sync.sla.attainment import (
    MarketingStatus,
    aggregate_sales,
    apply_marketing,
    attainment_figures,
    marketing_status,
    triggered_consequences,
)
from sla_sync.sla.cycles import evaluate_lead, mql_entries
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import AgreementPolicy, Consequence, LeadDefinition
from sla_sync.sla.rules import in_scope
from sla_sync.sla.volume import GoalDecision, MqlDelivery, TrailingActuals, publish_goal_version


@dataclass(frozen=True, slots=True)
class AgreementEvaluation:
    """Everything the engine says about one agreement as of ``as_of``.

    ``cycles`` covers every lead in scope (all periods: a lead's open cycle may have started in
    an earlier one); ``attainment`` is the rows of ``period`` (agreement, teams, owners).
    ``goal`` is ``None`` without a volume commitment; ``marketing`` is ``None`` without a goal.
    ``consequences`` are those that would fire if ``period`` closed with these figures.
    """

    agreement: AgreementPolicy
    period: Period
    as_of: datetime
    lead_ids: tuple[str, ...]
    cycles: tuple[LeadCycle, ...]
    attainment: tuple[Attainment, ...]
    goal: GoalDecision | None
    marketing: MarketingStatus | None
    consequences: tuple[Consequence, ...]

    @property
    def agreement_row(self) -> Attainment:
        """The agreement-scope attainment row (always present)."""
        return next(row for row in self.attainment if row.scope is ScopeKind.AGREEMENT)


def leads_in_scope(
    policy: AgreementPolicy, histories: Iterable[LeadHistory], owners: Mapping[str, Owner]
) -> list[LeadHistory]:
    """The leads ``policy`` covers: scope conditions on the lead's fields and its owner's team."""
    selected = []
    for history in histories:
        owner = owners.get(history.lead.owner_id) if history.lead.owner_id else None
        if in_scope(policy.scope, history.lead.fields, owner.team if owner else None):
            selected.append(history)
    return selected


def mql_deliveries(
    histories: Iterable[LeadHistory],
    definition: LeadDefinition,
    *,
    segment_field: str | None,
    as_of: datetime,
) -> list[MqlDelivery]:
    """Every MQL entry of every lead up to ``as_of``, tagged with the lead's value segment."""
    deliveries: list[MqlDelivery] = []
    for history in histories:
        segment = history.lead.fields.get(segment_field) if segment_field else None
        deliveries.extend(
            MqlDelivery(lead_id=history.lead.id, at=at, segment=segment)
            for at in mql_entries(history, definition, as_of=as_of)
        )
    return deliveries


def evaluate_agreement(
    policy: AgreementPolicy,
    histories: Iterable[LeadHistory],
    *,
    owners: Mapping[str, Owner],
    as_of: datetime,
    period: Period | None = None,
    actuals: Sequence[TrailingActuals] | TrailingActuals | None = None,
    previous_goal: GoalVersion | None = None,
) -> AgreementEvaluation:
    """Evaluate ``policy`` on ``histories`` as of ``as_of``.

    Args:
        policy: the agreement.
        histories: candidate leads (any agreement); those out of the agreement's scope are skipped.
        owners: every known owner by id (teams, for calendars and scopes).
        as_of: the evaluation instant (aware).
        period: the reporting period to aggregate; default: the one containing ``as_of`` in the
            agreement's reporting time zone.
        actuals: closed-loop actuals for ``trailing`` goal inputs.
        previous_goal: the agreement's latest goal version (kept when it already is ``period``'s).

    Raises:
        NaiveDatetimeError: ``as_of`` has no time zone.
    """
    as_of = ensure_utc(as_of, what="as_of")
    period = period or Period.containing(as_of, policy.period, policy.timezone)
    selected = leads_in_scope(policy, histories, owners)
    cycles: list[LeadCycle] = []
    if policy.sales is not None:
        for history in selected:
            cycles.extend(evaluate_lead(history, policy.sales, owners=owners, as_of=as_of))
    rows = aggregate_sales(cycles, agreement=policy.id, period=period, owners=owners)

    goal: GoalDecision | None = None
    marketing: MarketingStatus | None = None
    if policy.volume is not None:
        definition = policy.sales.lead_definition if policy.sales else LeadDefinition()
        goal = publish_goal_version(
            policy.volume,
            agreement=policy.id,
            period=period,
            actuals=actuals,
            previous=previous_goal,
        )
        if goal.version is not None:
            deliveries = mql_deliveries(
                selected, definition, segment_field=policy.volume.value_field, as_of=as_of
            )
            marketing = marketing_status(deliveries, goal.version, period, as_of, policy.volume)
            rows = apply_marketing(rows, marketing)

    agreement_row = next(row for row in rows if row.scope is ScopeKind.AGREEMENT)
    fired = triggered_consequences(
        attainment_figures(agreement_row, marketing), policy.consequences
    )
    return AgreementEvaluation(
        agreement=policy,
        period=period,
        as_of=as_of,
        lead_ids=tuple(history.lead.id for history in selected),
        cycles=tuple(cycles),
        attainment=tuple(rows),
        goal=goal,
        marketing=marketing,
        consequences=fired,
    )
