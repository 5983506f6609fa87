"""Marketing goal, goal versions, proration, pacing and delivery (reference §1.2, §6.1, §8.7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sla_sync.domain import (
    GoalVersion,
    InputSource,
    NaiveDatetimeError,
    ResolvedInput,
    ceil_guarded,
)
from sla_sync.sla.calendar import BusinessCalendar
from sla_sync.sla.pacing import (
    count_days,
    elapsed_days,
    expected_to_date,
    gap_to_goal,
    pace_index,
    pacing,
    prorate,
    proration_factor,
    required_per_remaining_day,
    total_days,
    weekly_goal,
    weekly_goals,
)
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import (
    Fixed,
    GoalInputs,
    PacingBasis,
    PeriodKind,
    Trailing,
    VolumePolicy,
)
from sla_sync.sla.volume import (
    Delivered,
    GoalError,
    GoalOutcome,
    MqlDelivery,
    SegmentActuals,
    TrailingActuals,
    compute_goal,
    count_goal_for_mix,
    delivered,
    lead_value,
    publish_goal_version,
    resolve_inputs,
)

NY = "America/New_York"
NYZ = ZoneInfo(NY)
BD = PacingBasis.BUSINESS_DAYS
CD = PacingBasis.CALENDAR_DAYS
D = Decimal


@pytest.fixture(scope="module")
def ny() -> BusinessCalendar:
    """NY9-17: America/New_York, Mon-Fri 09:00-17:00, no holidays."""
    return BusinessCalendar.from_config({"timezone": NY, "hours": {"mon-fri": ["09:00-17:00"]}})


@pytest.fixture(scope="module")
def ny_us() -> BusinessCalendar:
    """NY9-17+US: the same with US federal holidays."""
    return BusinessCalendar.from_config(
        {"timezone": NY, "hours": {"mon-fri": ["09:00-17:00"]}, "holidays": {"country": "US"}}
    )


class ClosedCalendar:
    """A calendar without any business day (degenerate case: a week of holidays)."""

    timezone = NY

    def is_business_day(self, local_date: date) -> bool:
        return False

    def count_business_days(self, start: date, end: date) -> int:
        return 0


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=NYZ)


def fixed_inputs(
    r: str = "200000", m: str | None = "0.6", asp: str = "4000", rate: str = "0.05"
) -> GoalInputs:
    return GoalInputs(
        revenue_goal=Fixed(D(r)),
        average_deal_size=Fixed(D(asp)),
        lead_to_customer_rate=Fixed(D(rate)),
        marketing_share=None if m is None else Fixed(D(m)),
    )


MARCH = Period.parse("2025-03", NY)


# --------------------------------------------------------------------------- the goal formula


def test_m1_basic_example(ny: BusinessCalendar) -> None:
    goal = compute_goal(
        revenue_goal=D(5000), average_deal_size=D(100), lead_to_customer_rate=D("0.5")
    )
    assert goal.customers == 50
    assert goal.leads == 100
    assert goal.value == 5000
    # "weekly 25": a month of exactly four full ISO weeks (Feb 2027: Mon 1 .. Sun 28) splits evenly.
    february = Period.parse("2027-02", NY)
    assert [share for _, share in weekly_goals(goal.leads, february, calendar=ny)] == [25] * 4


def test_m2_full_chain(ny: BusinessCalendar) -> None:
    goal = compute_goal(
        revenue_goal=D(200000),
        average_deal_size=D(4000),
        lead_to_customer_rate=D("0.05"),
        marketing_share=D("0.6"),
    )
    assert goal.value == 120000  # R_m
    assert goal.customers == 30
    assert goal.leads == 600
    assert total_days(MARCH, basis=BD, calendar=ny) == 21
    start = MARCH.utc_start
    per_day = required_per_remaining_day(600, 0, MARCH, start, BD, ny)
    assert per_day is not None and round(per_day, 2) == D("28.57")


def test_m5_self_sourced_leads() -> None:
    goal = compute_goal(
        revenue_goal=D(100000),
        average_deal_size=D(25000),
        lead_to_customer_rate=D("0.25"),
        self_sourced_leads=D(2),
    )
    assert goal.customers == 4
    assert goal.leads == 14
    assert goal.value == 100000 - 2 * 25000 * D("0.25")  # what marketing's 14 leads are worth


def test_self_sourced_leads_never_make_the_goal_negative() -> None:
    goal = compute_goal(
        revenue_goal=D(100000),
        average_deal_size=D(25000),
        lead_to_customer_rate=D("0.25"),
        self_sourced_leads=D(40),
    )
    assert (goal.leads, goal.value) == (0, D(0))


def test_fractional_self_sourced_leads_are_subtracted_before_the_ceiling() -> None:
    goal = compute_goal(
        revenue_goal=D(100000),
        average_deal_size=D(25000),
        lead_to_customer_rate=D("0.25"),
        self_sourced_leads=D("1.5"),
    )
    assert goal.leads == 15  # 16 - 1.5 = 14.5 -> 15


@pytest.mark.parametrize(
    ("asp", "rate", "share", "revenue", "own", "fragment"),
    [
        (D(100), D(0), None, D(5000), None, "rate must be positive, got 0"),  # M8: r = 0
        (D(100), None, None, D(5000), None, "rate must be positive, got None"),
        (D(0), D("0.5"), None, D(5000), None, "deal size must be positive, got 0"),
        (None, D("0.5"), None, D(5000), None, "deal size must be positive, got None"),
        (D(100), D("1.5"), None, D(5000), None, "at most 1"),
        (D(100), D("0.5"), D("1.2"), D(5000), None, "within 0..1"),
        (D(100), D("0.5"), None, D(-1), None, "cannot be negative"),
        (D(100), D("0.5"), None, D(5000), D(-1), "cannot be negative"),
    ],
)
def test_m8_bad_inputs_raise_goal_error_never_zero_division(
    asp: Decimal | None,
    rate: Decimal | None,
    share: Decimal | None,
    revenue: Decimal,
    own: Decimal | None,
    fragment: str,
) -> None:
    with pytest.raises(GoalError, match=fragment):
        compute_goal(
            revenue_goal=revenue,
            average_deal_size=asp,
            lead_to_customer_rate=rate,
            marketing_share=share,
            self_sourced_leads=own,
        )


def test_inexact_trailing_ratios_do_not_add_a_phantom_lead() -> None:
    # r = 1/3 is not exact in Decimal; 3000 / (100 * 1/3) must be 90, not 91.
    actuals = TrailingActuals(
        months=3,
        closed_won_revenue=D(300),
        closed_won_deals=3,
        qualified_leads=3,
        customers_from_leads=1,
    )
    inputs = GoalInputs(
        revenue_goal=Fixed(D(3000)),
        average_deal_size=Trailing(3),
        lead_to_customer_rate=Trailing(3),
    )
    resolved = resolve_inputs(inputs, kind=PeriodKind.MONTH, actuals=actuals)
    assert resolved.lead_to_customer_rate.value < D(1) / 3 + D("1e-20")
    goal = compute_goal(
        revenue_goal=resolved.revenue_goal.value,
        average_deal_size=resolved.average_deal_size.value,
        lead_to_customer_rate=resolved.lead_to_customer_rate.value,
    )
    assert goal.leads == 90
    assert ceil_guarded(D("90.0000001")) == 91  # a real excess still rounds up
    assert ceil_guarded(D("1e30") + D("0.5")) == 10**30  # too large for the guard: plain ceiling


# --------------------------------------------------------------------------- value form


def m4_actuals() -> TrailingActuals:
    segments = {
        "demo": SegmentActuals(
            revenue=D(100000), deals=20, leads=100, customers=20
        ),  # 20% x $5,000
        "trial": SegmentActuals(revenue=D(36000), deals=8, leads=100, customers=8),  # 8% x $4,500
        "ebook": SegmentActuals(revenue=D(4000), deals=1, leads=100, customers=1),  # 1% x $4,000
        "webinar": SegmentActuals(revenue=D(0), deals=0, leads=50, customers=0),  # worth 0
        "new": SegmentActuals(revenue=D(0), deals=0, leads=0, customers=0),  # no rate
        "odd": SegmentActuals(revenue=D(0), deals=0, leads=10, customers=2),  # no price
    }
    return TrailingActuals(
        months=6,
        closed_won_revenue=D(140000),
        closed_won_deals=29,
        qualified_leads=360,
        customers_from_leads=31,
        segments=MappingProxyType(segments),
    )


def test_m4_value_form() -> None:
    values = m4_actuals().segment_values()
    assert values == {"demo": 1000, "trial": 360, "ebook": 40, "webinar": 0}
    deliveries = [
        *(
            MqlDelivery(lead_id=f"d{i}", at=local(2025, 3, 3, 10), segment="demo")
            for i in range(60)
        ),
        *(
            MqlDelivery(lead_id=f"t{i}", at=local(2025, 3, 4, 10), segment="trial")
            for i in range(100)
        ),
        *(
            MqlDelivery(lead_id=f"e{i}", at=local(2025, 3, 5, 10), segment="ebook")
            for i in range(1000)
        ),
    ]
    got = delivered(deliveries, MARCH, values, None)
    assert got.count == 1160
    assert got.value == 136000
    goal_value = compute_goal(
        revenue_goal=D(200000),
        average_deal_size=D(4000),
        lead_to_customer_rate=D("0.05"),
        marketing_share=D("0.6"),
    ).value
    assert goal_value == 120000
    assert round(got.value / goal_value * 100, 1) == D("113.3")
    # Planned mix 10 % / 20 % / 70 % -> blended $200 per lead -> 600 leads.
    mix = {"demo": D("0.1"), "trial": D("0.2"), "ebook": D("0.7")}
    assert count_goal_for_mix(goal_value, mix, values) == 600


def test_count_goal_for_mix_errors() -> None:
    values = {"demo": D(1000), "junk": D(0)}
    with pytest.raises(ValueError, match="sum to 1"):
        count_goal_for_mix(D(1000), {"demo": D("0.5")}, values)
    with pytest.raises(GoalError, match="trial"):
        count_goal_for_mix(D(1000), {"demo": D("0.5"), "trial": D("0.5")}, values)
    with pytest.raises(GoalError, match="zero"):
        count_goal_for_mix(D(1000), {"junk": D(1)}, values)


def test_delivered_counts_a_lead_once_per_period_t32() -> None:
    deliveries = [
        MqlDelivery(lead_id="a", at=local(2025, 3, 5, 10), segment="trial"),
        MqlDelivery(lead_id="a", at=local(2025, 3, 20, 10), segment="demo"),  # re-MQL: same March
        MqlDelivery(lead_id="b", at=local(2025, 2, 28, 10), segment="demo"),  # February
        MqlDelivery(
            lead_id="b", at=local(2025, 3, 2, 10), segment="demo"
        ),  # re-MQL in March: counts
        MqlDelivery(lead_id="c", at=local(2025, 3, 10, 10), segment=None),
        MqlDelivery(lead_id="d", at=local(2025, 3, 11, 10), segment="unknown"),
    ]
    weights = {"demo": D(1000), "trial": D(360)}
    got = delivered(deliveries, MARCH, weights, D(10))
    assert got.count == 4
    assert got.value == 360 + 1000 + 10 + 10  # a's first March delivery decides its segment
    assert dict(got.by_segment) == {"trial": 1, "demo": 1, None: 1, "unknown": 1}
    assert got.unvalued == 0
    # Without a default value, unweighted leads add nothing and are counted apart.
    strict = delivered(deliveries, MARCH, weights, None)
    assert (strict.value, strict.unvalued) == (D(1360), 2)
    # Without weights and default, the value form is off.
    assert delivered(deliveries, MARCH, {}, None).value is None
    # as_of cuts off later deliveries (inclusive).
    early = delivered(deliveries, MARCH, {}, None, as_of=local(2025, 3, 10, 10))
    assert early.count == 3
    assert delivered([], MARCH, {}, None) == Delivered(count=0, value=None)


def test_delivery_rejects_naive_instants() -> None:
    with pytest.raises(NaiveDatetimeError, match="lead x"):
        MqlDelivery(lead_id="x", at=datetime(2025, 3, 5, 10))  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError):
        delivered([], MARCH, {}, None, as_of=datetime(2025, 3, 5))  # noqa: DTZ001


def test_lead_value_prefers_the_weight() -> None:
    assert lead_value("demo", {"demo": D(5)}, D(1)) == 5
    assert lead_value(None, {"demo": D(5)}, D(1)) == 1
    assert lead_value("other", {}, None) is None


def test_lead_value_matches_the_segment_ignoring_case_like_conditions_do() -> None:
    # HubSpot's hs_analytics_source says DEMO_REQUEST; the config's weights say demo_request.
    weights = {"demo_request": D(500), "Trade Show": D(200)}
    assert lead_value("DEMO_REQUEST", weights, D(1)) == 500
    assert lead_value(" trade show ", weights, D(1)) == 200
    assert lead_value("DEMO_REQUESTED", weights, D(1)) == 1


# --------------------------------------------------------------------------- resolving inputs


def test_trailing_inputs_come_from_the_matching_window() -> None:
    three = TrailingActuals(
        months=3,
        closed_won_revenue=D(600000),
        closed_won_deals=150,
        qualified_leads=2000,
        customers_from_leads=100,
        marketing_sourced_revenue=D(360000),
        self_sourced_leads=30,
    )
    six = replace(three, months=6, closed_won_deals=300)
    inputs = GoalInputs(
        revenue_goal=Trailing(3),
        average_deal_size=Trailing(6),
        lead_to_customer_rate=Trailing(3),
        marketing_share=Trailing(3),
        self_sourced_leads=Trailing(3),
    )
    month = resolve_inputs(inputs, kind=PeriodKind.MONTH, actuals=[three, six])
    assert month.revenue_goal == ResolvedInput(
        value=D(200000), source=InputSource.TRAILING, months=3
    )
    assert month.average_deal_size.value == 2000  # from the 6-month window
    assert month.average_deal_size.months == 6
    assert month.lead_to_customer_rate.value == D("0.05")
    assert month.marketing_share is not None and month.marketing_share.value == D("0.6")
    assert month.self_sourced_leads is not None and month.self_sourced_leads.value == 10
    quarter = resolve_inputs(inputs, kind=PeriodKind.QUARTER, actuals=(three, six))
    assert quarter.revenue_goal.value == 600000
    assert quarter.self_sourced_leads is not None and quarter.self_sourced_leads.value == 30
    week = resolve_inputs(inputs, kind=PeriodKind.WEEK, actuals=[three, six])
    assert round(week.revenue_goal.value) == 46154  # 200,000 x 12/52


def test_fixed_inputs_resolve_without_actuals() -> None:
    resolved = resolve_inputs(fixed_inputs(m=None), kind=PeriodKind.MONTH, actuals=None)
    assert resolved.revenue_goal == ResolvedInput(value=D(200000), source=InputSource.FIXED)
    assert resolved.marketing_share is None and resolved.self_sourced_leads is None


@pytest.mark.parametrize(
    ("actuals", "fragment"),
    [
        (
            None,
            r"trailing\(3 months\) needs actuals over 3 closed months \(windows available: none\)",
        ),
        (
            TrailingActuals(
                months=6,
                closed_won_revenue=D(1),
                closed_won_deals=1,
                qualified_leads=1,
                customers_from_leads=1,
            ),
            r"windows available: 6",
        ),
        (
            TrailingActuals(
                months=3,
                closed_won_revenue=D(0),
                closed_won_deals=0,
                qualified_leads=10,
                customers_from_leads=0,
            ),
            "no closed-won deals in the trailing 3 months",
        ),
        (
            TrailingActuals(
                months=3,
                closed_won_revenue=D(10),
                closed_won_deals=1,
                qualified_leads=0,
                customers_from_leads=0,
            ),
            "no SLA-qualified leads in the trailing 3 months",
        ),
    ],
)
def test_trailing_inputs_without_usable_actuals_raise(
    actuals: TrailingActuals | None, fragment: str
) -> None:
    inputs = GoalInputs(
        revenue_goal=Fixed(D(1000)),
        average_deal_size=Trailing(3),
        lead_to_customer_rate=Trailing(3),
    )
    with pytest.raises(GoalError, match=fragment):
        resolve_inputs(inputs, kind=PeriodKind.MONTH, actuals=actuals)


def test_trailing_share_and_self_sourced_need_their_figures() -> None:
    bare = TrailingActuals(
        months=3,
        closed_won_revenue=D(1000),
        closed_won_deals=1,
        qualified_leads=10,
        customers_from_leads=1,
    )
    base = fixed_inputs(m=None)
    with pytest.raises(GoalError, match="marketing_share: no marketing-sourced revenue"):
        resolve_inputs(
            replace(base, marketing_share=Trailing(3)), kind=PeriodKind.MONTH, actuals=bare
        )
    with pytest.raises(GoalError, match="self_sourced_leads: no self-sourced lead count"):
        resolve_inputs(
            replace(base, self_sourced_leads=Trailing(3)), kind=PeriodKind.MONTH, actuals=bare
        )


def test_actuals_validate_their_figures() -> None:
    with pytest.raises(ValueError, match="at least one month"):
        TrailingActuals(
            months=0,
            closed_won_revenue=D(1),
            closed_won_deals=1,
            qualified_leads=1,
            customers_from_leads=1,
        )
    with pytest.raises(ValueError, match="cannot be negative"):
        TrailingActuals(
            months=1,
            closed_won_revenue=D(1),
            closed_won_deals=-1,
            qualified_leads=1,
            customers_from_leads=1,
        )
    with pytest.raises(ValueError, match="cannot be negative"):
        SegmentActuals(revenue=D(-1), deals=1, leads=1, customers=1)


# --------------------------------------------------------------------------- goal versions


def policy(calendar: BusinessCalendar | None, inputs: GoalInputs | None = None) -> VolumePolicy:
    return VolumePolicy(
        goal=inputs or fixed_inputs(),
        period=PeriodKind.MONTH,
        timezone=NY,
        pacing=BD,
        pacing_calendar=calendar,
    )


TRAILING_INPUTS = GoalInputs(
    revenue_goal=Fixed(D(200000)),
    average_deal_size=Trailing(3),
    lead_to_customer_rate=Trailing(3),
    marketing_share=Fixed(D("0.6")),
)


def actuals(customers: int = 100, leads: int = 2000) -> TrailingActuals:
    return TrailingActuals(
        months=3,
        closed_won_revenue=D(400000),
        closed_won_deals=100,
        qualified_leads=leads,
        customers_from_leads=customers,
    )


def test_publish_first_version(ny: BusinessCalendar) -> None:
    decision = publish_goal_version(
        policy(ny, TRAILING_INPUTS), agreement="a", period=MARCH, actuals=actuals(), previous=None
    )
    assert decision.outcome is GoalOutcome.PUBLISHED and decision.error is None
    version = decision.version
    assert version is not None
    assert (version.agreement, version.period, version.version) == ("a", "2025-03", 1)
    assert version.leads_goal == 600 and version.value_goal == 120000
    assert version.inputs.average_deal_size.source is InputSource.TRAILING
    assert version.inputs.revenue_goal.source is InputSource.FIXED
    assert version.reissued_from is None and version.note is None


def test_a_closed_period_keeps_its_goal(ny: BusinessCalendar) -> None:
    pol = policy(ny, TRAILING_INPUTS)
    march = publish_goal_version(pol, agreement="a", period=MARCH, actuals=actuals(), previous=None)
    assert march.version is not None
    # New actuals (r doubled) at the close of March: March keeps 600 ...
    again = publish_goal_version(
        pol, agreement="a", period=MARCH, actuals=actuals(customers=200), previous=march.version
    )
    assert again.outcome is GoalOutcome.KEPT
    assert again.version is march.version
    # ... and the re-evaluation becomes April's version.
    april = publish_goal_version(
        pol,
        agreement="a",
        period=MARCH.next(),
        actuals=actuals(customers=200),
        previous=march.version,
    )
    assert april.outcome is GoalOutcome.PUBLISHED
    assert april.version is not None
    assert (april.version.period, april.version.version, april.version.leads_goal) == (
        "2025-04",
        2,
        300,
    )
    with pytest.raises(ValueError, match="already covers the later period 2025-04"):
        publish_goal_version(pol, agreement="a", period=MARCH, actuals=None, previous=april.version)


def test_m8_error_keeps_the_previous_version(ny: BusinessCalendar) -> None:
    pol = policy(ny, TRAILING_INPUTS)
    march = publish_goal_version(pol, agreement="a", period=MARCH, actuals=actuals(), previous=None)
    assert march.version is not None
    # No closed-won customer in the window: r = 0.
    april = publish_goal_version(
        pol,
        agreement="a",
        period=MARCH.next(),
        actuals=actuals(customers=0),
        previous=march.version,
    )
    assert april.outcome is GoalOutcome.REISSUED
    assert april.error is not None and "rate must be positive, got 0" in april.error
    kept = april.version
    assert kept is not None
    assert (kept.period, kept.version, kept.reissued_from) == ("2025-04", 2, 1)
    assert kept.leads_goal == 600 and kept.computed == march.version.computed
    assert kept.inputs == march.version.inputs
    assert kept.note is not None and "numbers of version 1 kept" in kept.note
    # Trailing inputs without any actuals are an input error too.
    may = publish_goal_version(
        pol, agreement="a", period=MARCH.next().next(), actuals=None, previous=kept
    )
    assert may.outcome is GoalOutcome.REISSUED and may.version is not None
    assert (may.version.version, may.version.reissued_from, may.version.leads_goal) == (3, 2, 600)


def test_m8_error_without_previous_fails(ny: BusinessCalendar) -> None:
    decision = publish_goal_version(
        policy(ny, TRAILING_INPUTS),
        agreement="a",
        period=MARCH,
        actuals=actuals(customers=0),
        previous=None,
    )
    assert decision.outcome is GoalOutcome.FAILED
    assert decision.version is None
    assert decision.error is not None and "rate" in decision.error


def test_publish_rejects_caller_errors(ny: BusinessCalendar) -> None:
    pol = policy(ny)
    first = publish_goal_version(pol, agreement="a", period=MARCH, actuals=None, previous=None)
    assert first.version is not None
    with pytest.raises(ValueError, match="belongs to 'a', not 'b'"):
        publish_goal_version(
            pol, agreement="b", period=MARCH.next(), actuals=None, previous=first.version
        )
    with pytest.raises(ValueError, match="period is month, not week"):
        publish_goal_version(
            pol, agreement="a", period=Period.parse("2025-W20", NY), actuals=None, previous=None
        )


def test_carry_over_is_added_to_the_new_version(ny: BusinessCalendar) -> None:
    decision = publish_goal_version(
        policy(ny),
        agreement="a",
        period=MARCH,
        actuals=None,
        previous=None,
        carry_over=D("12.5"),
        carry_over_value=D(2500),
    )
    version = decision.version
    assert version is not None
    assert version.leads_goal == 613  # ceil(600 + 12.5)
    assert version.value_goal == 122500
    assert version.carried_over == D("12.5")


# --------------------------------------------------------------------------- proration


def test_proration_by_business_days(ny: BusinessCalendar) -> None:
    # Agreement starts Mon 17 Mar 2025: 11 of March's 21 business days remain.
    assert proration_factor(MARCH, date(2025, 3, 17), basis=BD, calendar=ny) == D(11) / 21
    assert round(prorate(600, MARCH, date(2025, 3, 17), basis=BD, calendar=ny), 2) == D("314.29")
    assert prorate(600, MARCH, date(2025, 2, 1), basis=BD, calendar=ny) == 600
    assert prorate(600, MARCH, date(2025, 3, 1), basis=BD, calendar=ny) == 600
    # Sat 1 .. Sun 2 March hold no business day: a Monday start misses nothing.
    assert proration_factor(MARCH, date(2025, 3, 3), basis=BD, calendar=ny) == 1
    with pytest.raises(ValueError, match="after period 2025-03"):
        prorate(600, MARCH, date(2025, 4, 1), basis=BD, calendar=ny)


def test_proration_by_calendar_days() -> None:
    assert prorate(600, MARCH, date(2025, 3, 17), basis=CD, calendar=None) == D(600) * 15 / 31


def test_proration_of_a_period_without_business_days() -> None:
    week = Period.parse("2025-W27", NY)
    closed = ClosedCalendar()
    # A late start misses no business day of a period that has none: nothing to prorate.
    assert proration_factor(week, date(2025, 7, 2), basis=BD, calendar=closed) == 1  # type: ignore[arg-type]


def test_published_version_is_prorated_and_paced_from_its_start(ny: BusinessCalendar) -> None:
    decision = publish_goal_version(
        policy(ny),
        agreement="a",
        period=MARCH,
        actuals=None,
        previous=None,
        effective_from=date(2025, 3, 17),
    )
    version = decision.version
    assert version is not None
    assert version.leads_goal == 315  # ceil(314.29)
    assert version.effective_from == date(2025, 3, 17)
    assert version.value_goal == D(120000) * 11 / 21
    # The ideal line runs over the agreement's 11 days: end of Fri 21 Mar = 5 of 11.
    expected = expected_to_date(
        version.leads_goal, MARCH, local(2025, 3, 22), BD, ny, effective_from=date(2025, 3, 17)
    )
    assert expected == D(315) * 5 / 11
    # A start on or before the period's first day is not a proration.
    whole = publish_goal_version(
        policy(ny),
        agreement="a",
        period=MARCH,
        actuals=None,
        previous=None,
        effective_from=date(2025, 3, 1),
    )
    assert whole.version is not None
    assert (whole.version.effective_from, whole.version.proration) == (None, D(1))


# --------------------------------------------------------------------------- pacing


def test_m3_pacing_mid_month(ny: BusinessCalendar) -> None:
    end_of_friday = local(2025, 3, 15)  # Fri 14 Mar 2025 is over
    assert elapsed_days(MARCH, end_of_friday, basis=BD, calendar=ny) == 10
    expected = expected_to_date(600, MARCH, end_of_friday, BD, ny)
    assert round(expected, 1) == D("285.7")
    index = pace_index(260, expected)
    assert index is not None and round(index, 2) == 0.91
    calendar_days = expected_to_date(600, MARCH, end_of_friday, CD)
    assert round(calendar_days, 1) == D("271.0")  # 600 x 14 / 31


def test_the_current_day_counts_once_it_is_over(ny: BusinessCalendar) -> None:
    # During Fri 14 Mar (even after business hours) nine business days are complete.
    for hour in (0, 9, 12, 17, 23):
        assert elapsed_days(MARCH, local(2025, 3, 14, hour), basis=BD, calendar=ny) == 9
    # The weekend adds nothing.
    assert elapsed_days(MARCH, local(2025, 3, 16, 12), basis=BD, calendar=ny) == 10
    assert elapsed_days(MARCH, local(2025, 3, 17, 0), basis=BD, calendar=ny) == 10
    # Local date of the period's time zone, not UTC: 15 Mar 03:00Z is still 14 Mar in New York.
    assert elapsed_days(MARCH, datetime(2025, 3, 15, 3, tzinfo=UTC), basis=BD, calendar=ny) == 9


def test_pacing_before_and_after_the_period(ny: BusinessCalendar) -> None:
    before = local(2025, 2, 20)
    after = local(2025, 4, 20)
    assert expected_to_date(600, MARCH, before, BD, ny) == 0
    assert expected_to_date(600, MARCH, after, BD, ny) == 600
    assert expected_to_date(600, MARCH, MARCH.utc_end, BD, ny) == 600
    assert pace_index(10, expected_to_date(600, MARCH, before, BD, ny)) is None
    assert required_per_remaining_day(600, 500, MARCH, after, BD, ny) is None


def test_pacing_on_a_calendar_with_a_holiday(ny: BusinessCalendar, ny_us: BusinessCalendar) -> None:
    july = Period.parse("2025-07", NY)  # Fri 4 July is a US federal holiday
    assert total_days(july, basis=BD, calendar=ny) == 23
    assert total_days(july, basis=BD, calendar=ny_us) == 22
    after_the_fourth = local(2025, 7, 5)
    assert elapsed_days(july, after_the_fourth, basis=BD, calendar=ny_us) == 3
    assert expected_to_date(220, july, after_the_fourth, BD, ny_us) == 30
    assert expected_to_date(230, july, after_the_fourth, BD, ny) == 40
    # The holiday itself adds nothing to the ideal line.
    assert expected_to_date(220, july, local(2025, 7, 4, 12), BD, ny_us) == 30
    # Weekly goals: week 27 (Mon 30 Jun .. Sun 6 Jul) has 3 July business days with the holiday.
    week = Period.parse("2025-W27", NY)
    assert weekly_goal(220, july, week, calendar=ny_us) == 30
    per_day = required_per_remaining_day(220, 20, july, after_the_fourth, BD, ny_us)
    assert per_day == D(200) / 19


def test_pacing_bundle(ny: BusinessCalendar) -> None:
    figures = pacing(600, 260, MARCH, local(2025, 3, 15), BD, ny)
    assert (figures.elapsed_days, figures.total_days) == (10, 21)
    assert figures.gap == 340 == gap_to_goal(600, 260)
    assert figures.required_per_remaining_day == D(340) / 11
    assert figures.pace_index is not None and round(figures.pace_index, 3) == 0.910
    over = pacing(600, 700, MARCH, local(2025, 3, 15), BD, ny)
    assert over.gap == -100
    assert over.required_per_remaining_day == 0


def test_business_days_need_a_calendar() -> None:
    with pytest.raises(ValueError, match="needs a pacing calendar"):
        count_days(date(2025, 3, 1), date(2025, 4, 1), BD, None)
    assert count_days(date(2025, 3, 1), date(2025, 4, 1), CD, None) == 31
    assert count_days(date(2025, 4, 1), date(2025, 3, 1), CD, None) == 0


def test_pacing_rejects_naive_as_of(ny: BusinessCalendar) -> None:
    with pytest.raises(NaiveDatetimeError):
        expected_to_date(600, MARCH, datetime(2025, 3, 15), BD, ny)  # noqa: DTZ001


def test_period_without_business_days_expects_everything_at_its_end() -> None:
    week = Period.parse("2025-W27", NY)
    closed = ClosedCalendar()
    assert expected_to_date(10, week, local(2025, 7, 3), BD, closed) == 0  # type: ignore[arg-type]
    assert expected_to_date(10, week, local(2025, 7, 7), BD, closed) == 10  # type: ignore[arg-type]
    assert weekly_goal(10, week, week, calendar=closed) == 10  # type: ignore[arg-type]
    month = Period.parse("2025-07", NY)
    shares = weekly_goals(10, month, calendar=closed)  # type: ignore[arg-type]
    assert [share for _, share in shares] == [0, 0, 0, 0, 10]


def test_weekly_goals_follow_business_days(ny: BusinessCalendar) -> None:
    shares = weekly_goals(600, MARCH, calendar=ny)
    labels = [week.label for week, _ in shares]
    assert labels == ["2025-W09", "2025-W10", "2025-W11", "2025-W12", "2025-W13", "2025-W14"]
    # W09 holds only Sat 1 / Sun 2 March; W14 only Mon 31 March.
    assert [round(share, 2) for _, share in shares] == [
        D(0),
        D("142.86"),
        D("142.86"),
        D("142.86"),
        D("142.86"),
        D("28.57"),
    ]
    assert sum(share for _, share in shares) == 600
    assert weekly_goal(600, MARCH, Period.parse("2025-W20", NY), calendar=ny) == 0
    assert weekly_goal(600, MARCH, Period.parse("2025-W10", NY), basis=CD) == D(600) * 7 / 31


# --------------------------------------------------------------------------- properties

MONTHS = st.builds(
    lambda year, month: Period.of(PeriodKind.MONTH, date(year, month, 1), NY),
    st.integers(2020, 2030),
    st.integers(1, 12),
)
GOALS = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False)


@given(period=MONTHS, goal=GOALS, basis=st.sampled_from(list(PacingBasis)))
def test_weekly_goals_sum_to_the_period_goal(
    ny_us: BusinessCalendar, period: Period, goal: Decimal, basis: PacingBasis
) -> None:
    shares = weekly_goals(goal, period, basis=basis, calendar=ny_us)
    assert sum(share for _, share in shares) == goal
    for week, share in shares:
        assert share >= 0
        assert abs(share - weekly_goal(goal, period, week, basis=basis, calendar=ny_us)) < D(
            "1e-20"
        )


@given(
    period=MONTHS,
    first=st.integers(-3 * 86400, 34 * 86400),
    second=st.integers(-3 * 86400, 34 * 86400),
    basis=st.sampled_from(list(PacingBasis)),
)
def test_expected_to_date_is_monotonic(
    ny_us: BusinessCalendar, period: Period, first: int, second: int, basis: PacingBasis
) -> None:
    early, late = sorted((first, second))
    at_early = expected_to_date(
        600, period, period.utc_start + timedelta(seconds=early), basis, ny_us
    )
    at_late = expected_to_date(
        600, period, period.utc_start + timedelta(seconds=late), basis, ny_us
    )
    assert 0 <= at_early <= at_late <= 600


def test_goal_version_properties_round_up_once() -> None:
    version = GoalVersion(
        agreement="a",
        period="2025-03",
        version=1,
        computed=compute_goal(
            revenue_goal=D(5000), average_deal_size=D(100), lead_to_customer_rate=D("0.5")
        ),
        inputs=resolve_inputs(fixed_inputs(), kind=PeriodKind.MONTH),
        proration=D(1) / 3,
        carried_over=D("0.4"),
    )
    assert version.leads_goal == 34  # ceil(33.33 + 0.4), not ceil(33.33) + ceil(0.4)
