"""Conversion of validated specs to the engine's policy types.

Only called on a file without problems, so every reference resolves and every calendar built.
Stage and status names are case-folded here because the engine compares them case-insensitively
against the (folded) defaults of :class:`~sla_sync.sla.policy.LeadDefinition`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from sla_sync.definitions.models import (
    AgreementSpec,
    ClockSpec,
    ConsequenceSpec,
    LeadDefinitionSpec,
    MarketingSpec,
    SalesSpec,
)
from sla_sync.sla.policy import (
    AcceptanceCommitment,
    Action,
    ActionKind,
    AgreementPolicy,
    ClockRules,
    Consequence,
    DepthCommitment,
    GoalInputs,
    LeadDefinition,
    LeadScope,
    PacingBasis,
    SalesPolicy,
    SpeedCommitment,
    TierRule,
    TouchRule,
    VolumePolicy,
)

if TYPE_CHECKING:
    from sla_sync.sla.calendar import BusinessCalendar


def _fold(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values)


def build_agreement(
    spec: AgreementSpec, calendars: Mapping[str, BusinessCalendar]
) -> AgreementPolicy:
    """The policy of one agreement; ``calendars`` is every calendar visible to it (the
    agreement's own already shadowing the top-level ones)."""
    default = calendars[spec.calendar] if spec.calendar else None
    sales = None
    if spec.sales is not None:
        assert default is not None, "checked: sales commitments need a default calendar"
        sales = _sales(spec, spec.sales, default, calendars)
    volume = None
    if spec.marketing is not None:
        volume = _volume(spec, spec.marketing, default, calendars)
    return AgreementPolicy(
        id=spec.id,
        provider=spec.parties.provider,
        recipient=spec.parties.recipient,
        period=spec.reporting.period,
        timezone=spec.reporting.timezone,
        connections=tuple(spec.connections),
        scope=LeadScope(teams=frozenset(spec.scope.teams), when=spec.scope.when),
        sales=sales,
        volume=volume,
        consequences=tuple(_consequence(c) for c in spec.consequences),
    )


def _lead_definition(spec: LeadDefinitionSpec) -> LeadDefinition:
    base = LeadDefinition()
    changes: dict[str, frozenset[str]] = {}
    for state in ("mql", "accepted", "disqualified", "recycle"):
        section = getattr(spec, state)
        if section is not None:
            changes[f"{state}_stages"] = _fold(section.stages)
            changes[f"{state}_statuses"] = _fold(section.statuses)
    if spec.sql is not None:
        changes["sql_stages"] = _fold(spec.sql.stages)
    if spec.rejected is not None:
        changes["rejected_statuses"] = _fold(spec.rejected.statuses)
    return dataclasses.replace(base, **changes)


def _clock(spec: ClockSpec) -> ClockRules:
    return ClockRules(
        start=spec.start,
        pause_statuses=_fold(spec.pause_statuses),
        cancel_statuses=_fold(spec.cancel_statuses),
        cancel_stages=_fold(spec.cancel_stages),
        reset_on_remql=spec.reset_on_remql,
        reassignment=spec.reassignment,
        tier_change=spec.tier_change,
        warn_at=tuple(sorted(set(spec.warn_at))),
        escalate_after=spec.escalate_after,
    )


def _sales(
    agreement: AgreementSpec,
    spec: SalesSpec,
    default: BusinessCalendar,
    calendars: Mapping[str, BusinessCalendar],
) -> SalesPolicy:
    return SalesPolicy(
        agreement=agreement.id,
        calendar=default,
        lead_definition=_lead_definition(agreement.lead_definition),
        speed=(
            SpeedCommitment(
                tiers=tuple(TierRule(t.tier, t.target, t.when) for t in spec.speed.tiers)
            )
            if spec.speed is not None
            else None
        ),
        depth=(
            DepthCommitment(spec.depth.min_attempts, spec.depth.within)
            if spec.depth is not None
            else None
        ),
        acceptance=(
            AcceptanceCommitment(spec.acceptance.within) if spec.acceptance is not None else None
        ),
        touches=TouchRule(
            kinds=frozenset(spec.touches.kinds),
            directions=frozenset(spec.touches.directions),
            count_automated=spec.touches.count_automated,
        ),
        clock=_clock(spec.clock),
        team_calendars=MappingProxyType(
            {team: calendars[name] for team, name in agreement.team_calendars.items()}
        ),
    )


def _volume(
    agreement: AgreementSpec,
    spec: MarketingSpec,
    default: BusinessCalendar | None,
    calendars: Mapping[str, BusinessCalendar],
) -> VolumePolicy:
    goal = spec.goal
    pacing_calendar = calendars[spec.pacing.calendar] if spec.pacing.calendar else default
    if spec.pacing.basis is PacingBasis.CALENDAR_DAYS and spec.pacing.calendar is None:
        pacing_calendar = None  # calendar-day pacing needs none; do not imply one was chosen
    return VolumePolicy(
        goal=GoalInputs(
            revenue_goal=goal.revenue_goal,
            average_deal_size=goal.average_deal_size,
            lead_to_customer_rate=goal.lead_to_customer_rate,
            marketing_share=goal.marketing_share,
            self_sourced_leads=goal.self_sourced_leads,
        ),
        period=agreement.reporting.period,
        timezone=agreement.reporting.timezone,
        pacing=spec.pacing.basis,
        pacing_calendar=pacing_calendar,
        value_field=spec.value_field,
        value_weights=MappingProxyType(dict(spec.value_weights)),
        default_value=spec.default_value,
        warn_below=spec.warn_below,
        weekly_reports=spec.weekly_reports,
    )


def _consequence(spec: ConsequenceSpec) -> Consequence:
    actions = []
    for action in spec.actions:
        if action.kind is ActionKind.CARRY_SHORTFALL:
            actions.append(Action(ActionKind.CARRY_SHORTFALL, share=action.carry_shortfall))
        else:
            targets = action.notify if action.notify is not None else action.escalate
            actions.append(Action(action.kind, targets=tuple(targets or ())))
    return Consequence(metric=spec.metric, below=spec.below, actions=tuple(actions))
