"""Attainment per period and scope (agreement, team, owner), marketing status, and consequences.

Sales figures (reference §6.2): a cycle belongs to the period holding its ``started_at`` in the
reporting time zone. Each ratio is ``met / decided`` with ``decided = met + breached``; running and
paused cycles are counted apart (``running``) and cancelled ones are left out entirely (T34).

Percentiles of business minutes to first touch use linear interpolation between closest ranks
(Hyndman & Fan type 7: numpy's default, Excel ``PERCENTILE.INC``): position ``p * (n - 1)`` in the
sorted sample. The median is then the usual one (mean of the two middle values for even ``n``),
and a one-element sample gives that element for every percentile.

Consequences (reference §6.3): per metric the single *most severe* matching rule fires, i.e. the
one with the lowest ``below`` that is still above the attainment. The reference's "first tier in
the ordered list where attainment < threshold" would, for a list written ``[<0.90 notify, <0.75
escalate]``, stop at the notify tier for an attainment of 0.70 and never escalate.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sla_sync.domain import (
    Attainment,
    CycleKind,
    CycleState,
    GoalVersion,
    LeadCycle,
    Owner,
    Ratio,
    ScopeKind,
    ensure_utc,
)
from sla_sync.sla.pacing import ZERO, pacing
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import ActionKind, Consequence, Metric, VolumePolicy
from sla_sync.sla.volume import MqlDelivery, delivered

UNASSIGNED = "unassigned"


# --------------------------------------------------------------------------- percentiles


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0..1) percentile of ``values`` by linear interpolation (type 7).

    Returns:
        ``None`` for an empty sample.

    Raises:
        ValueError: ``fraction`` outside 0..1.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"percentile fraction must be within 0..1, got {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --------------------------------------------------------------------------- sales aggregation


@dataclass(slots=True)
class _Tally:
    """Mutable counters of one scope while aggregating."""

    met: dict[CycleKind, int]
    breached: dict[CycleKind, int]
    running: int
    first_touch_minutes: list[float]

    @classmethod
    def empty(cls) -> _Tally:
        return cls(
            met=dict.fromkeys(CycleKind, 0),
            breached=dict.fromkeys(CycleKind, 0),
            running=0,
            first_touch_minutes=[],
        )

    def add(self, cycle: LeadCycle) -> None:
        if cycle.state is CycleState.MET:
            self.met[cycle.kind] += 1
        elif cycle.state is CycleState.BREACHED:
            self.breached[cycle.kind] += 1
        else:  # running or paused: the caller leaves cancelled cycles out
            self.running += 1
        if cycle.kind is CycleKind.SPEED and cycle.first_touch_at is not None:
            self.first_touch_minutes.append(cycle.business_seconds / 60.0)

    def ratio(self, kind: CycleKind) -> Ratio:
        return Ratio(met=self.met[kind], decided=self.met[kind] + self.breached[kind])

    def row(self, agreement: str, period: str, scope: ScopeKind, scope_id: str) -> Attainment:
        return Attainment(
            agreement=agreement,
            period=period,
            scope=scope,
            scope_id=scope_id,
            speed=self.ratio(CycleKind.SPEED),
            depth=self.ratio(CycleKind.DEPTH),
            acceptance=self.ratio(CycleKind.ACCEPTANCE),
            running=self.running,
            median_first_touch_minutes=percentile(self.first_touch_minutes, 0.5),
            p90_first_touch_minutes=percentile(self.first_touch_minutes, 0.9),
        )


def team_of(cycle: LeadCycle, owners: Mapping[str, Owner]) -> str:
    """The cycle's team (as it ran), else its owner's current team, else ``"unassigned"``."""
    if cycle.team:
        return cycle.team
    owner = owners.get(cycle.owner_id) if cycle.owner_id else None
    return owner.team if owner is not None and owner.team else UNASSIGNED


def aggregate_sales(
    cycles: Iterable[LeadCycle],
    *,
    agreement: str,
    period: Period,
    owners: Mapping[str, Owner],
) -> list[Attainment]:
    """Sales attainment of ``agreement`` in ``period``: one row per scope with cycles.

    Rows, in order: the agreement (always, even when empty), each team, each owner (sorted by
    id). Cycles of other agreements and cycles whose ``started_at`` is outside ``period`` are
    ignored; cancelled cycles count nowhere. Owner rows key on ``LeadCycle.owner_id`` (no owner:
    ``"unassigned"``); team rows on the cycle's ``team``, falling back to the owner's team in
    ``owners``, else ``"unassigned"``.

    Raises:
        NaiveDatetimeError: a cycle's ``started_at`` has no time zone.
    """
    total = _Tally.empty()
    teams: dict[str, _Tally] = {}
    by_owner: dict[str, _Tally] = {}
    start, end = period.utc_start, period.utc_end  # once, not per cycle
    for cycle in cycles:
        if cycle.agreement != agreement or cycle.state is CycleState.CANCELLED:
            continue
        if not start <= ensure_utc(cycle.started_at, what=f"cycle of {cycle.lead_id}") < end:
            continue
        total.add(cycle)
        teams.setdefault(team_of(cycle, owners), _Tally.empty()).add(cycle)
        by_owner.setdefault(cycle.owner_id or UNASSIGNED, _Tally.empty()).add(cycle)
    label = period.label
    rows = [total.row(agreement, label, ScopeKind.AGREEMENT, agreement)]
    rows += [teams[key].row(agreement, label, ScopeKind.TEAM, key) for key in sorted(teams)]
    rows += [by_owner[key].row(agreement, label, ScopeKind.OWNER, key) for key in sorted(by_owner)]
    return rows


# --------------------------------------------------------------------------- marketing status


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketingStatus:
    """Marketing's position against its goal at ``as_of``.

    ``measure`` is ``"value"`` when the policy sets value weights (attainment and pacing then use
    implied value), else ``"count"``. ``expected_to_date``, ``gap`` and
    ``required_per_remaining_day`` are in the measure's unit; ``expected_leads`` is always a count.
    ``attainment`` is a ratio (0.9 = 90 %), ``None`` without a goal.
    """

    agreement: str
    period: str
    as_of: datetime
    goal_version: int
    measure: str
    delivered: int
    delivered_value: Decimal | None
    leads_goal: int
    value_goal: Decimal
    expected_to_date: Decimal
    expected_leads: Decimal
    pace_index: float | None
    attainment: float | None
    gap: Decimal
    required_per_remaining_day: Decimal | None
    on_pace: bool | None


def marketing_status(
    deliveries: Iterable[MqlDelivery],
    goal: GoalVersion,
    period: Period,
    as_of: datetime,
    policy: VolumePolicy,
) -> MarketingStatus:
    """Delivered MQLs (and value) of ``period`` up to ``as_of`` against ``goal``, with pacing.

    Pacing follows :mod:`sla_sync.sla.volume`: ``policy.pacing`` on ``policy.pacing_calendar``,
    from the goal's ``effective_from`` when the agreement started inside the period. ``on_pace``
    compares the pace index with ``policy.warn_below`` (``None`` while nothing is expected).

    Raises:
        ValueError: ``goal`` is for another period; business-day pacing without a calendar.
        NaiveDatetimeError: ``as_of`` has no time zone.
    """
    if goal.period != period.label:
        raise ValueError(f"goal version {goal.version} is for {goal.period}, not {period.label}")
    got = delivered(deliveries, period, policy.value_weights, policy.default_value, as_of=as_of)
    by_value = bool(policy.value_weights)
    target: Decimal | int = goal.value_goal if by_value else goal.leads_goal
    amount: Decimal | int = (got.value or ZERO) if by_value else got.count
    basis, calendar, start = policy.pacing, policy.pacing_calendar, goal.effective_from
    status = pacing(target, amount, period, as_of, basis, calendar, effective_from=start)
    leads_line = pacing(
        goal.leads_goal, got.count, period, as_of, basis, calendar, effective_from=start
    )
    attained = None if target == 0 else float(Decimal(amount) / Decimal(target))
    return MarketingStatus(
        agreement=goal.agreement,
        period=period.label,
        as_of=as_of,
        goal_version=goal.version,
        measure="value" if by_value else "count",
        delivered=got.count,
        delivered_value=got.value,
        leads_goal=goal.leads_goal,
        value_goal=goal.value_goal,
        expected_to_date=status.expected,
        expected_leads=leads_line.expected,
        pace_index=status.pace_index,
        attainment=attained,
        gap=status.gap,
        required_per_remaining_day=status.required_per_remaining_day,
        on_pace=None if status.pace_index is None else status.pace_index >= policy.warn_below,
    )


def with_marketing(row: Attainment, status: MarketingStatus) -> Attainment:
    """``row`` with the marketing figures of ``status`` filled in.

    ``expected_to_date`` is the expected lead *count* (comparable with ``mqls_delivered``);
    ``pace_index`` is in the status's measure.

    Raises:
        ValueError: ``row`` is for another agreement or period.
    """
    if (row.agreement, row.period) != (status.agreement, status.period):
        raise ValueError(
            f"status of {status.agreement} {status.period} does not fit row "
            f"{row.agreement} {row.period}"
        )
    return replace(
        row,
        mqls_delivered=status.delivered,
        mql_goal=float(status.leads_goal),
        value_delivered=None if status.delivered_value is None else float(status.delivered_value),
        value_goal=float(status.value_goal) if status.measure == "value" else None,
        expected_to_date=float(status.expected_leads),
        pace_index=status.pace_index,
    )


def apply_marketing(rows: Sequence[Attainment], status: MarketingStatus) -> list[Attainment]:
    """Fill ``status`` into the agreement-scope row of ``rows`` (adding one if there is none).

    Raises:
        ValueError: see :func:`with_marketing`.
    """
    out = list(rows)
    for index, row in enumerate(out):
        if row.scope is ScopeKind.AGREEMENT and row.scope_id == status.agreement:
            out[index] = with_marketing(row, status)
            return out
    empty = Ratio(met=0, decided=0)
    blank = Attainment(
        agreement=status.agreement,
        period=status.period,
        scope=ScopeKind.AGREEMENT,
        scope_id=status.agreement,
        speed=empty,
        depth=empty,
        acceptance=empty,
    )
    return [with_marketing(blank, status), *out]


# --------------------------------------------------------------------------- consequences


def attainment_figures(
    row: Attainment, status: MarketingStatus | None = None
) -> dict[Metric, float | None]:
    """The figures consequences watch, as ratios (0.9 = 90 %); ``None`` where nothing was decided.

    ``MARKETING`` comes from ``status`` (its measure) when given, else from the row's counts.
    """

    def ratio(pct: float | None) -> float | None:
        return None if pct is None else pct / 100.0

    marketing = status.attainment if status is not None else ratio(row.marketing_pct)
    return {
        Metric.MARKETING: marketing,
        Metric.SPEED: ratio(row.speed.pct),
        Metric.DEPTH: ratio(row.depth.pct),
        Metric.ACCEPTANCE: ratio(row.acceptance.pct),
    }


def triggered_consequences(
    figures: Mapping[Metric, float | None], rules: Sequence[Consequence]
) -> tuple[Consequence, ...]:
    """The rules that fire: per metric, the most severe one whose ``below`` exceeds the figure.

    "Most severe" is the lowest ``below`` still above the attainment; among equal thresholds the
    first in ``rules`` wins. A metric whose figure is ``None`` or missing (nothing decided) fires
    nothing. The result keeps the order of ``rules``.
    """
    chosen: dict[Metric, Consequence] = {}
    for rule in rules:
        figure = figures.get(rule.metric)
        if figure is None or not figure < rule.below:
            continue
        current = chosen.get(rule.metric)
        if current is None or rule.below < current.below:
            chosen[rule.metric] = rule
    picked = set(map(id, chosen.values()))
    return tuple(rule for rule in rules if id(rule) in picked)


def carried_shortfall(goal: Decimal | int, delivered: Decimal | int, share: float) -> Decimal:
    """``share * max(0, goal - delivered)``: the part of a shortfall carried into the next goal.

    Raises:
        ValueError: ``share`` outside 0..1.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"carry share must be within 0..1, got {share}")
    return Decimal(str(share)) * max(ZERO, Decimal(goal) - Decimal(delivered))


def carry_share(consequences: Iterable[Consequence]) -> float | None:
    """The largest ``carry_shortfall`` share among the actions of ``consequences``, if any.

    An action without a ``share`` carries the whole shortfall (1.0).
    """
    shares = [
        action.share if action.share is not None else 1.0
        for rule in consequences
        for action in rule.actions
        if action.kind is ActionKind.CARRY_SHORTFALL
    ]
    return max(shares) if shares else None


def carry_over_from(
    consequences: Iterable[Consequence],
    goal: GoalVersion,
    delivered_leads: int,
    delivered_value: Decimal | None = None,
) -> tuple[Decimal, Decimal]:
    """Lead and value shortfall to carry into the next version (``(0, 0)`` when nothing carries).

    Only marketing consequences carry (a sales miss is not marketing's debt). Pass the result to
    :func:`~sla_sync.sla.volume.publish_goal_version` as ``carry_over`` and ``carry_over_value``;
    the value part is 0 when ``delivered_value`` is ``None`` (value form not in use).
    """
    share = carry_share(rule for rule in consequences if rule.metric is Metric.MARKETING)
    if share is None:
        return ZERO, ZERO
    leads = carried_shortfall(goal.leads_goal, delivered_leads, share)
    value = (
        ZERO
        if delivered_value is None
        else carried_shortfall(goal.value_goal, delivered_value, share)
    )
    return leads, value
