"""Marketing's side of the SLA: the lead goal from its inputs, goal versions, and delivery.

Formulas (reference §1.2 and §6.1)::

    L     = ceil(R * m / (ASP * r) - W)        leads marketing owes in a period (never below 0)
    G_val = R * m - W * ASP * r                 the same goal in implied-value dollars
    v_s   = r_s * ASP_s                         implied value of one lead of segment s

with ``m = 1`` when no marketing share is set and ``W = 0`` when no self-sourced leads are set, so
both published forms (``ceil(R*m/(ASP*r))`` and ``ceil(R/(ASP*r)) - W``) are special cases.

Days, proration and pacing are in :mod:`sla_sync.sla.pacing`.

Money and goals are :class:`~decimal.Decimal`; ratios (pace index) are floats. Pure: no I/O, no
clock; time enters as ``as_of``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from sla_sync.domain import (
    Goal,
    GoalVersion,
    InputSource,
    ResolvedGoalInputs,
    ResolvedInput,
    ceil_guarded,
    ensure_utc,
)
from sla_sync.sla.pacing import ONE, ZERO, proration_factor
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import (
    Fixed,
    GoalInput,
    GoalInputs,
    PeriodKind,
    VolumePolicy,
)

if TYPE_CHECKING:
    pass

# A trailing revenue or self-sourced figure is a monthly run rate scaled to the period length,
# kept as a fraction (numerator, denominator) so that whole results stay exact.
_MONTHS_PER_PERIOD: Mapping[PeriodKind, tuple[int, int]] = MappingProxyType(
    {PeriodKind.MONTH: (1, 1), PeriodKind.QUARTER: (3, 1), PeriodKind.WEEK: (12, 52)}
)


class GoalError(ValueError):
    """The goal cannot be computed from these inputs (zero or missing rate or price, no actuals)."""


# --------------------------------------------------------------------------- actuals and inputs


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentActuals:
    """Closed-loop figures of one lead segment (e.g. one lead source) over a trailing window.

    Raises:
        ValueError: a count or the revenue is negative.
    """

    revenue: Decimal
    deals: int
    leads: int
    customers: int

    def __post_init__(self) -> None:
        if self.revenue < 0 or min(self.deals, self.leads, self.customers) < 0:
            raise ValueError(f"actuals cannot be negative: {self!r}")

    @property
    def lead_value(self) -> Decimal | None:
        """``v_s = r_s * ASP_s``; ``0`` with no customers; ``None`` when not measurable.

        Not measurable: no leads (no rate), or customers without closed-won deals (no price).
        """
        if self.leads == 0:
            return None
        if self.customers == 0:
            return ZERO
        if self.deals == 0:
            return None
        return Decimal(self.customers) / Decimal(self.leads) * (self.revenue / self.deals)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailingActuals:
    """The CRM's closed-loop numbers over the ``months`` closed months before a period.

    ``qualified_leads`` are SLA-qualified leads by lead date (cohort) and ``customers_from_leads``
    the customers they became. ``marketing_sourced_revenue`` and ``self_sourced_leads`` are only
    needed when the policy takes ``m`` or ``W`` from actuals. ``segments`` holds per-segment figures
    for the value form.

    Raises:
        ValueError: ``months`` < 1 or a figure is negative.
    """

    months: int
    closed_won_revenue: Decimal
    closed_won_deals: int
    qualified_leads: int
    customers_from_leads: int
    marketing_sourced_revenue: Decimal | None = None
    self_sourced_leads: int | None = None
    segments: Mapping[str, SegmentActuals] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ValueError(f"a trailing window has at least one month, not {self.months}")
        figures: tuple[Decimal | int, ...] = (
            self.closed_won_revenue,
            self.closed_won_deals,
            self.qualified_leads,
            self.customers_from_leads,
            self.marketing_sourced_revenue or ZERO,
            self.self_sourced_leads or 0,
        )
        if any(figure < 0 for figure in figures):
            raise ValueError(f"actuals cannot be negative: {self!r}")

    @property
    def average_deal_size(self) -> Decimal:
        """ASP = closed-won revenue / closed-won deals.

        Raises:
            GoalError: no closed-won deals in the window.
        """
        if self.closed_won_deals == 0:
            raise GoalError(
                f"no closed-won deals in the trailing {self.months} months: ASP unknown"
            )
        return self.closed_won_revenue / self.closed_won_deals

    @property
    def lead_to_customer_rate(self) -> Decimal:
        """r = customers from SLA-qualified leads / SLA-qualified leads (may be 0).

        Raises:
            GoalError: no SLA-qualified leads in the window.
        """
        if self.qualified_leads == 0:
            raise GoalError(
                f"no SLA-qualified leads in the trailing {self.months} months: r unknown"
            )
        return Decimal(self.customers_from_leads) / Decimal(self.qualified_leads)

    def segment_values(self) -> dict[str, Decimal]:
        """Implied lead value ``v_s = r_s * ASP_s`` of every measurable segment (reference M4)."""
        values: dict[str, Decimal] = {}
        for name, segment in self.segments.items():
            value = segment.lead_value
            if value is not None:
                values[name] = value
        return values


def _windows(
    actuals: Sequence[TrailingActuals] | TrailingActuals | None,
) -> dict[int, TrailingActuals]:
    if actuals is None:
        return {}
    if isinstance(actuals, TrailingActuals):
        return {actuals.months: actuals}
    return {window.months: window for window in actuals}


def _trailing_value(name: str, window: TrailingActuals, kind: PeriodKind) -> Decimal:
    """The value of goal input ``name`` read from ``window`` (see :func:`resolve_inputs`)."""
    months, per = _MONTHS_PER_PERIOD[kind]
    if name == "revenue_goal":
        return window.closed_won_revenue * months / (per * window.months)
    if name == "average_deal_size":
        return window.average_deal_size
    if name == "lead_to_customer_rate":
        return window.lead_to_customer_rate
    if name == "marketing_share":
        if window.marketing_sourced_revenue is None or window.closed_won_revenue == 0:
            raise GoalError(
                "marketing_share: no marketing-sourced revenue in the trailing "
                f"{window.months} months"
            )
        return window.marketing_sourced_revenue / window.closed_won_revenue
    if window.self_sourced_leads is None:
        raise GoalError(
            f"self_sourced_leads: no self-sourced lead count in the trailing {window.months} months"
        )
    return Decimal(window.self_sourced_leads * months) / (per * window.months)


def _resolve_one(
    name: str, spec: GoalInput, kind: PeriodKind, windows: Mapping[int, TrailingActuals]
) -> ResolvedInput:
    if isinstance(spec, Fixed):
        return ResolvedInput(value=spec.value, source=InputSource.FIXED)
    window = windows.get(spec.months)
    if window is None:
        have = ", ".join(str(months) for months in sorted(windows)) or "none"
        raise GoalError(
            f"{name}: trailing({spec.months} months) needs actuals over {spec.months} closed "
            f"months (windows available: {have})"
        )
    value = _trailing_value(name, window, kind)
    return ResolvedInput(value=value, source=InputSource.TRAILING, months=spec.months)


def resolve_inputs(
    inputs: GoalInputs,
    *,
    kind: PeriodKind,
    actuals: Sequence[TrailingActuals] | TrailingActuals | None = None,
) -> ResolvedGoalInputs:
    """Turn fixed and trailing goal inputs into numbers for a ``kind`` period.

    A trailing input is read from the actuals whose ``months`` equals its window: ASP and ``r`` as
    ratios, ``m`` as marketing-sourced / all closed-won revenue, and ``R`` and ``W`` as monthly
    run rates scaled to the period (quarter = 3 months, week = 12/52 of a month).

    Raises:
        GoalError: a trailing input has no actuals for its window, or the actuals cannot give it.
    """
    windows = _windows(actuals)

    def optional(name: str, spec: GoalInput | None) -> ResolvedInput | None:
        return None if spec is None else _resolve_one(name, spec, kind, windows)

    return ResolvedGoalInputs(
        revenue_goal=_resolve_one("revenue_goal", inputs.revenue_goal, kind, windows),
        average_deal_size=_resolve_one(
            "average_deal_size", inputs.average_deal_size, kind, windows
        ),
        lead_to_customer_rate=_resolve_one(
            "lead_to_customer_rate", inputs.lead_to_customer_rate, kind, windows
        ),
        marketing_share=optional("marketing_share", inputs.marketing_share),
        self_sourced_leads=optional("self_sourced_leads", inputs.self_sourced_leads),
    )


# --------------------------------------------------------------------------- the goal


def compute_goal(
    *,
    revenue_goal: Decimal,
    average_deal_size: Decimal | None,
    lead_to_customer_rate: Decimal | None,
    marketing_share: Decimal | None = None,
    self_sourced_leads: Decimal | None = None,
) -> Goal:
    """``L = ceil(R*m/(ASP*r) - W)`` (never below 0), ``C = R*m/ASP``, ``G_val = R*m - W*ASP*r``.

    ``m`` defaults to 1 and ``W`` to 0. With an integer ``W`` the count equals the published
    ``ceil(R/(ASP*r)) - W`` (reference M5); a fractional trailing ``W`` is subtracted before the
    ceiling (the least whole number of leads that, with ``W``, covers the need).

    Raises:
        GoalError: ASP or ``r`` missing or not positive, ``r`` or ``m`` outside 0..1, ``R`` or
            ``W`` negative. Never divides by zero (reference M8).
    """
    share = ONE if marketing_share is None else marketing_share
    own = ZERO if self_sourced_leads is None else self_sourced_leads
    if average_deal_size is None or average_deal_size <= 0:
        raise GoalError(f"average deal size must be positive, got {average_deal_size}")
    if lead_to_customer_rate is None or lead_to_customer_rate <= 0:
        raise GoalError(f"lead-to-customer rate must be positive, got {lead_to_customer_rate}")
    if lead_to_customer_rate > 1:
        raise GoalError(f"lead-to-customer rate must be at most 1, got {lead_to_customer_rate}")
    if not ZERO <= share <= ONE:
        raise GoalError(f"marketing share must be within 0..1, got {share}")
    if revenue_goal < 0 or own < 0:
        raise GoalError(
            f"revenue goal and self-sourced leads cannot be negative: {revenue_goal}, {own}"
        )
    marketing_revenue = revenue_goal * share
    needed = marketing_revenue / (average_deal_size * lead_to_customer_rate)
    return Goal(
        customers=marketing_revenue / average_deal_size,
        leads=max(0, ceil_guarded(needed - own)),
        value=max(ZERO, marketing_revenue - own * average_deal_size * lead_to_customer_rate),
    )


def goal_from_inputs(inputs: ResolvedGoalInputs) -> Goal:
    """:func:`compute_goal` over resolved inputs.

    Raises:
        GoalError: see :func:`compute_goal`.
    """
    return compute_goal(
        revenue_goal=inputs.revenue_goal.value,
        average_deal_size=inputs.average_deal_size.value,
        lead_to_customer_rate=inputs.lead_to_customer_rate.value,
        marketing_share=None if inputs.marketing_share is None else inputs.marketing_share.value,
        self_sourced_leads=(
            None if inputs.self_sourced_leads is None else inputs.self_sourced_leads.value
        ),
    )


def count_goal_for_mix(
    value_goal: Decimal, mix: Mapping[str, Decimal], values: Mapping[str, Decimal]
) -> int:
    """Equivalent lead count for a planned segment mix: ``ceil(G_val / sum(p_s * v_s))``.

    Raises:
        ValueError: the mix shares do not sum to 1.
        GoalError: a segment of the mix has no value, or the blended value is not positive.
    """
    if sum(mix.values(), ZERO) != ONE:
        raise ValueError(f"mix shares must sum to 1, got {sum(mix.values(), ZERO)}")
    missing = sorted(name for name in mix if name not in values)
    if missing:
        raise GoalError(f"no implied lead value for segment(s) {', '.join(missing)}")
    blended = sum((share * values[name] for name, share in mix.items()), ZERO)
    if blended <= 0:
        raise GoalError("the blended lead value of the mix is zero")
    return ceil_guarded(value_goal / blended)


# --------------------------------------------------------------------------- goal versions


class GoalOutcome(StrEnum):
    """What :func:`publish_goal_version` did."""

    PUBLISHED = "published"  # new numbers from the inputs
    REISSUED = "reissued"  # inputs failed: the previous version's numbers for the new period
    KEPT = "kept"  # the period already has a version: it stays as it is
    FAILED = "failed"  # inputs failed and there is no previous version


@dataclass(frozen=True, slots=True, kw_only=True)
class GoalDecision:
    """Result of :func:`publish_goal_version`; ``error`` is set for ``REISSUED`` and ``FAILED``."""

    outcome: GoalOutcome
    version: GoalVersion | None
    error: str | None = None


def _check_order(agreement: str, period: Period, previous: GoalVersion) -> None:
    if previous.agreement != agreement:
        raise ValueError(
            f"previous goal version belongs to {previous.agreement!r}, not {agreement!r}"
        )
    earlier = Period.parse(previous.period, period.timezone)
    if earlier.start > period.start:
        raise ValueError(
            f"{agreement}: cannot publish a goal for {period.label}: version {previous.version} "
            f"already covers the later period {previous.period}"
        )


def publish_goal_version(
    policy: VolumePolicy,
    *,
    agreement: str,
    period: Period,
    actuals: Sequence[TrailingActuals] | TrailingActuals | None,
    previous: GoalVersion | None,
    carry_over: Decimal = ZERO,
    carry_over_value: Decimal = ZERO,
    effective_from: date | None = None,
) -> GoalDecision:
    """The goal version of ``agreement`` for ``period``.

    ``previous`` is the agreement's latest version. Versions are immutable: when ``previous``
    already is ``period``'s version it is returned unchanged (``KEPT``), so a closed period keeps
    its goal and re-evaluation only ever produces the next period's version. When the inputs fail
    (zero or missing ``r`` or ASP, trailing input without actuals) the previous version's numbers
    are re-issued for ``period`` with the error in ``note`` (``REISSUED``, reference M8), or no
    goal exists (``FAILED``). ``carry_over``/``carry_over_value`` (see
    :func:`~sla_sync.sla.attainment.carried_shortfall`) are added in either case;
    ``effective_from`` prorates the goal of an agreement that starts inside ``period``.

    Raises:
        ValueError: ``period`` is not of the policy's kind, ``previous`` belongs to another
            agreement or to a later period, ``effective_from`` is after the period, or business-
            day proration without a pacing calendar. These are caller errors, not input errors.
    """
    if period.kind is not policy.period:
        raise ValueError(
            f"{agreement}: the policy's period is {policy.period.value}, not {period.kind.value}"
        )
    if previous is not None:
        _check_order(agreement, period, previous)
        if previous.period == period.label:
            return GoalDecision(outcome=GoalOutcome.KEPT, version=previous)
    proration = ONE
    if effective_from is not None and effective_from <= period.start:
        effective_from = None  # the agreement runs the whole period
    if effective_from is not None:
        proration = proration_factor(
            period, effective_from, basis=policy.pacing, calendar=policy.pacing_calendar
        )
    error: GoalError | None = None
    try:
        inputs = resolve_inputs(policy.goal, kind=period.kind, actuals=actuals)
        goal = goal_from_inputs(inputs)
    except GoalError as exc:
        if previous is None:
            return GoalDecision(outcome=GoalOutcome.FAILED, version=None, error=str(exc))
        goal, inputs, error = previous.computed, previous.inputs, exc
    version = GoalVersion(
        agreement=agreement,
        period=period.label,
        version=1 if previous is None else previous.version + 1,
        computed=goal,
        inputs=inputs,
        proration=proration,
        effective_from=effective_from,
        carried_over=carry_over,
        carried_over_value=carry_over_value,
    )
    if error is not None and previous is not None:
        kept = replace(
            version,
            reissued_from=previous.version,
            note=f"goal inputs failed ({error}); numbers of version {previous.version} kept",
        )
        return GoalDecision(outcome=GoalOutcome.REISSUED, version=kept, error=str(error))
    return GoalDecision(outcome=GoalOutcome.PUBLISHED, version=version)


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True, kw_only=True)
class MqlDelivery:
    """A lead became an MQL at ``at`` (aware UTC); ``segment`` is its value-weight key.

    Raises:
        NaiveDatetimeError: ``at`` has no time zone.
    """

    lead_id: str
    at: datetime
    segment: str | None = None

    def __post_init__(self) -> None:
        ensure_utc(self.at, what=f"MQL delivery of lead {self.lead_id}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """MQLs delivered in a period.

    ``value`` is ``None`` when the value form is not in use (no weights and no default value);
    ``unvalued`` counts leads whose segment has no weight and no default (they add 0).
    """

    count: int
    value: Decimal | None
    unvalued: int = 0
    by_segment: Mapping[str | None, int] = field(default_factory=lambda: MappingProxyType({}))


def lead_value(
    segment: str | None, weights: Mapping[str, Decimal], default_value: Decimal | None
) -> Decimal | None:
    """Implied value of one lead of ``segment``: its weight, else ``default_value``.

    Segments match weights like ``when:`` conditions match values: ignoring case and surrounding
    blanks (HubSpot returns ``DEMO_REQUEST`` for what a config calls ``demo_request``).
    """
    if segment is None:
        return default_value
    if segment in weights:
        return weights[segment]
    wanted = segment.strip().casefold()
    for key, weight in weights.items():
        if key.strip().casefold() == wanted:
            return weight
    return default_value


def delivered(
    deliveries: Iterable[MqlDelivery],
    period: Period,
    weights: Mapping[str, Decimal],
    default_value: Decimal | None,
    *,
    as_of: datetime | None = None,
) -> Delivered:
    """Count (and value) the MQLs delivered in ``period`` (up to ``as_of`` inclusive, if given).

    A lead counts at most once per period (a re-MQL inside one period counts once, reference
    T32); its earliest delivery in the period gives the segment. Merged records are expected to
    be resolved upstream (T33).

    Raises:
        NaiveDatetimeError: ``as_of`` has no time zone.
    """
    cutoff = None if as_of is None else ensure_utc(as_of, what="as_of")
    start, end = period.utc_start, period.utc_end  # once, not per delivery
    first: dict[str, MqlDelivery] = {}
    for item in sorted(deliveries, key=lambda d: (d.at, d.lead_id)):
        if cutoff is not None and item.at > cutoff:
            break
        if item.lead_id not in first and start <= item.at < end:
            first[item.lead_id] = item
    by_segment: dict[str | None, int] = {}
    for item in first.values():
        by_segment[item.segment] = by_segment.get(item.segment, 0) + 1
    value: Decimal | None = None
    unvalued = 0
    if weights or default_value is not None:
        value = ZERO
        for segment, count in by_segment.items():
            each = lead_value(segment, weights, default_value)
            if each is None:
                unvalued += count
            else:
                value += each * count
    return Delivered(
        count=len(first),
        value=value,
        unvalued=unvalued,
        by_segment=MappingProxyType(by_segment),
    )
