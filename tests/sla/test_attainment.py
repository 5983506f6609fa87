"""Attainment per scope, marketing status and consequences (reference §6.2, §6.3, T34)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sla_sync.domain import (
    Attainment,
    CycleKind,
    CycleState,
    GoalVersion,
    LeadCycle,
    NaiveDatetimeError,
    Owner,
    Ratio,
    ScopeKind,
)
from sla_sync.sla.attainment import (
    UNASSIGNED,
    MarketingStatus,
    aggregate_sales,
    apply_marketing,
    attainment_figures,
    carried_shortfall,
    carry_over_from,
    carry_share,
    marketing_status,
    percentile,
    team_of,
    triggered_consequences,
    with_marketing,
)
from sla_sync.sla.calendar import BusinessCalendar
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import (
    Action,
    ActionKind,
    Consequence,
    Fixed,
    GoalInputs,
    Metric,
    PacingBasis,
    PeriodKind,
    VolumePolicy,
)
from sla_sync.sla.volume import MqlDelivery, publish_goal_version

NY = "America/New_York"
NYZ = ZoneInfo(NY)
D = Decimal
MARCH = Period.parse("2025-03", NY)
SPEED, DEPTH, ACCEPTANCE = CycleKind.SPEED, CycleKind.DEPTH, CycleKind.ACCEPTANCE
MET, BREACHED, RUNNING, PAUSED, CANCELLED = (
    CycleState.MET,
    CycleState.BREACHED,
    CycleState.RUNNING,
    CycleState.PAUSED,
    CycleState.CANCELLED,
)


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=NYZ)


@pytest.fixture(scope="module")
def ny() -> BusinessCalendar:
    return BusinessCalendar.from_config({"timezone": NY, "hours": {"mon-fri": ["09:00-17:00"]}})


def cycle(
    lead: str,
    kind: CycleKind,
    state: CycleState,
    *,
    started: datetime | None = None,
    owner: str | None = "o1",
    team: str | None = "east",
    minutes: float | None = None,
    agreement: str = "smarketing",
) -> LeadCycle:
    start = started or local(2025, 3, 10, 10)
    return LeadCycle(
        lead_id=lead,
        agreement=agreement,
        kind=kind,
        number=1,
        state=state,
        started_at=start.astimezone(UTC),
        owner_id=owner,
        team=team,
        first_touch_at=None if minutes is None else start + timedelta(minutes=minutes),
        business_seconds=0 if minutes is None else round(minutes * 60),
    )


OWNERS = MappingProxyType(
    {
        "o1": Owner(id="o1", name="Ann", team="east"),
        "o2": Owner(id="o2", name="Bob", team="west"),
        "o3": Owner(id="o3", name="Cy"),
    }
)


# --------------------------------------------------------------------------- percentiles


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([], None, None),
        ([7.0], 7.0, 7.0),
        ([1.0, 2.0], 1.5, 1.9),
        ([4.0, 1.0, 3.0, 2.0], 2.5, 3.7),
        ([10.0, 20.0, 30.0], 20.0, 28.0),
        ([float(v) for v in range(1, 11)], 5.5, 9.1),
    ],
)
def test_percentiles_on_small_samples(
    values: list[float], median: float | None, p90: float | None
) -> None:
    assert percentile(values, 0.5) == pytest.approx(median)
    assert percentile(values, 0.9) == pytest.approx(p90)


def test_percentile_extremes_and_errors() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 1.0) == 3.0
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        percentile([1.0], 1.5)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=30), st.floats(0, 1))
def test_percentile_stays_within_the_sample(values: list[float], fraction: float) -> None:
    result = percentile(values, fraction)
    assert result is not None
    assert min(values) <= result <= max(values) or result == pytest.approx(min(values))


# --------------------------------------------------------------------------- sales aggregation


def rows_by_scope(rows: list[Attainment]) -> dict[tuple[ScopeKind, str], Attainment]:
    return {(row.scope, row.scope_id): row for row in rows}


def test_aggregation_per_scope_with_cancelled_and_running() -> None:
    cycles = [
        cycle("l1", SPEED, MET, minutes=10),
        cycle("l2", SPEED, MET, minutes=30),
        cycle("l3", SPEED, BREACHED, minutes=90, owner="o2", team="west"),
        cycle("l4", SPEED, RUNNING, owner="o2", team="west"),
        cycle("l5", SPEED, PAUSED),
        cycle("l6", SPEED, CANCELLED, minutes=1),  # T34: no denominator, no percentile
        cycle("l7", SPEED, BREACHED, owner=None, team=None),  # breached without a touch
        cycle("l1", DEPTH, MET),
        cycle("l2", DEPTH, BREACHED),
        cycle("l1", ACCEPTANCE, MET),
        cycle("l3", ACCEPTANCE, CANCELLED, owner="o2", team="west"),
        cycle("l8", SPEED, MET, minutes=5, owner="o3", team=None),  # team from the owner: none
        cycle("x1", SPEED, MET, minutes=1, agreement="other"),  # another agreement
        cycle("x2", SPEED, MET, minutes=1, started=local(2025, 2, 28, 23)),  # February
    ]
    rows = aggregate_sales(cycles, agreement="smarketing", period=MARCH, owners=OWNERS)
    assert [(row.scope, row.scope_id) for row in rows] == [
        (ScopeKind.AGREEMENT, "smarketing"),
        (ScopeKind.TEAM, "east"),
        (ScopeKind.TEAM, UNASSIGNED),
        (ScopeKind.TEAM, "west"),
        (ScopeKind.OWNER, "o1"),
        (ScopeKind.OWNER, "o2"),
        (ScopeKind.OWNER, "o3"),
        (ScopeKind.OWNER, UNASSIGNED),
    ]
    assert all(row.period == "2025-03" and row.agreement == "smarketing" for row in rows)
    by = rows_by_scope(rows)
    total = by[ScopeKind.AGREEMENT, "smarketing"]
    assert total.speed == Ratio(met=3, decided=5)  # l1, l2, l8 met; l3, l7 breached
    assert total.depth == Ratio(met=1, decided=2)
    assert total.acceptance == Ratio(met=1, decided=1)
    assert total.running == 2  # l4 running, l5 paused
    assert total.median_first_touch_minutes == 20.0  # over 5, 10, 30, 90
    assert total.p90_first_touch_minutes == pytest.approx(72.0)
    east = by[ScopeKind.TEAM, "east"]
    assert (east.speed, east.running) == (Ratio(met=2, decided=2), 1)
    west = by[ScopeKind.TEAM, "west"]
    assert (west.speed, west.acceptance, west.running) == (
        Ratio(met=0, decided=1),
        Ratio(met=0, decided=0),
        1,
    )
    assert west.acceptance.pct is None  # cancelled only: nothing decided
    assert by[ScopeKind.TEAM, UNASSIGNED].speed == Ratio(met=1, decided=2)  # l7 and l8
    assert by[ScopeKind.OWNER, UNASSIGNED].speed == Ratio(met=0, decided=1)
    assert by[ScopeKind.OWNER, UNASSIGNED].median_first_touch_minutes is None
    assert by[ScopeKind.OWNER, "o2"].median_first_touch_minutes == 90.0


def test_cycle_belongs_to_the_period_of_its_start_in_the_reporting_tz() -> None:
    # 2025-04-01 02:00Z is still 31 March in New York (T25 for cycles).
    late = cycle("l1", SPEED, MET, minutes=5, started=datetime(2025, 4, 1, 2, tzinfo=UTC))
    march = aggregate_sales([late], agreement="smarketing", period=MARCH, owners=OWNERS)
    april = aggregate_sales([late], agreement="smarketing", period=MARCH.next(), owners=OWNERS)
    assert march[0].speed.decided == 1
    assert april[0].speed.decided == 0


def test_naive_cycle_start_is_rejected() -> None:
    naive = replace(cycle("l1", SPEED, MET), started_at=datetime(2025, 3, 10, 10))  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError, match="cycle of l1"):
        aggregate_sales([naive], agreement="smarketing", period=MARCH, owners=OWNERS)


def test_empty_period_still_has_an_agreement_row() -> None:
    rows = aggregate_sales([], agreement="smarketing", period=MARCH, owners={})
    assert len(rows) == 1
    row = rows[0]
    assert (row.scope, row.speed.pct, row.median_first_touch_minutes) == (
        ScopeKind.AGREEMENT,
        None,
        None,
    )


def test_team_falls_back_to_the_owner() -> None:
    assert team_of(cycle("l", SPEED, MET, owner="o2", team=None), OWNERS) == "west"
    assert team_of(cycle("l", SPEED, MET, owner="o2", team="east"), OWNERS) == "east"
    assert team_of(cycle("l", SPEED, MET, owner="zz", team=None), OWNERS) == UNASSIGNED
    assert team_of(cycle("l", SPEED, MET, owner=None, team=None), OWNERS) == UNASSIGNED


# --------------------------------------------------------------------------- marketing status


def volume_policy(
    calendar: BusinessCalendar, weights: dict[str, Decimal] | None = None
) -> VolumePolicy:
    return VolumePolicy(
        goal=GoalInputs(
            revenue_goal=Fixed(D(200000)),
            average_deal_size=Fixed(D(4000)),
            lead_to_customer_rate=Fixed(D("0.05")),
            marketing_share=Fixed(D("0.6")),
        ),
        period=PeriodKind.MONTH,
        timezone=NY,
        pacing=PacingBasis.BUSINESS_DAYS,
        pacing_calendar=calendar,
        value_weights=MappingProxyType(weights or {}),
    )


def march_goal(pol: VolumePolicy) -> GoalVersion:
    decision = publish_goal_version(
        pol, agreement="smarketing", period=MARCH, actuals=None, previous=None
    )
    assert decision.version is not None
    return decision.version


def deliveries(count: int, segment: str | None = None, prefix: str = "l") -> list[MqlDelivery]:
    # Spread over the first ten business days of March 2025 (Mon 3 .. Fri 14).
    days = [3, 4, 5, 6, 7, 10, 11, 12, 13, 14]
    return [
        MqlDelivery(lead_id=f"{prefix}{i}", at=local(2025, 3, days[i % 10], 11), segment=segment)
        for i in range(count)
    ]


def test_marketing_status_m3_count_form(ny: BusinessCalendar) -> None:
    pol = volume_policy(ny)
    goal = march_goal(pol)
    later = [MqlDelivery(lead_id="late", at=local(2025, 3, 20, 11))]  # after as_of
    status = marketing_status(deliveries(260) + later, goal, MARCH, local(2025, 3, 15), pol)
    assert status.measure == "count"
    assert (status.delivered, status.leads_goal, status.goal_version) == (260, 600, 1)
    assert status.delivered_value is None
    assert round(status.expected_to_date, 1) == D("285.7")
    assert status.expected_leads == status.expected_to_date
    assert status.pace_index is not None and round(status.pace_index, 2) == 0.91
    assert status.attainment == pytest.approx(260 / 600)
    assert status.gap == 340
    assert status.required_per_remaining_day == D(340) / 11
    assert status.on_pace is True  # 0.91 is not below warn_below (0.9)


def test_marketing_status_value_form(ny: BusinessCalendar) -> None:
    pol = volume_policy(ny, {"demo": D(1000), "trial": D(360), "ebook": D(40)})
    goal = march_goal(pol)
    mix = (
        deliveries(60, "demo", "d") + deliveries(100, "trial", "t") + deliveries(1000, "ebook", "e")
    )
    status = marketing_status(mix, goal, MARCH, local(2025, 4, 2), pol)
    assert status.measure == "value"
    assert status.delivered == 1160
    assert status.delivered_value == 136000
    assert status.value_goal == 120000
    assert status.attainment is not None and round(status.attainment * 100, 1) == 113.3  # M4
    assert status.expected_to_date == 120000
    assert status.expected_leads == 600
    assert status.required_per_remaining_day is None
    assert status.on_pace is True


def test_marketing_status_before_the_period_and_mismatch(ny: BusinessCalendar) -> None:
    pol = volume_policy(ny)
    goal = march_goal(pol)
    early = marketing_status([], goal, MARCH, local(2025, 2, 20), pol)
    assert (early.pace_index, early.on_pace) == (None, None)
    with pytest.raises(ValueError, match="is for 2025-03, not 2025-04"):
        marketing_status([], goal, MARCH.next(), local(2025, 4, 2), pol)


def test_zero_goal_has_no_attainment(ny: BusinessCalendar) -> None:
    pol = volume_policy(ny)
    goal = march_goal(pol)
    nothing = GoalVersion(
        agreement=goal.agreement,
        period=goal.period,
        version=2,
        computed=type(goal.computed)(customers=D(0), leads=0, value=D(0)),
        inputs=goal.inputs,
    )
    status = marketing_status(deliveries(3), nothing, MARCH, local(2025, 3, 15), pol)
    assert status.attainment is None


def test_marketing_figures_fill_the_agreement_row(ny: BusinessCalendar) -> None:
    pol = volume_policy(ny)
    status = marketing_status(deliveries(260), march_goal(pol), MARCH, local(2025, 3, 15), pol)
    rows = aggregate_sales(
        [cycle("l1", SPEED, MET, minutes=3), cycle("l2", SPEED, MET, owner="o2", team="west")],
        agreement="smarketing",
        period=MARCH,
        owners=OWNERS,
    )
    filled = apply_marketing(rows, status)
    top = filled[0]
    assert (top.mqls_delivered, top.mql_goal, top.value_goal, top.value_delivered) == (
        260,
        600.0,
        None,
        None,
    )
    assert top.expected_to_date == pytest.approx(285.714, abs=1e-3)
    assert top.pace_index == status.pace_index
    assert top.marketing_pct == pytest.approx(100 * 260 / 600)
    assert top.speed == rows[0].speed
    assert filled[1:] == rows[1:]  # team and owner rows untouched
    # Rows without the agreement row: one is put in front.
    refilled = apply_marketing(rows[1:], status)
    assert refilled[0].mqls_delivered == 260 and refilled[1:] == rows[1:]
    # No sales rows yet: an agreement row is created.
    only = apply_marketing([], status)
    assert len(only) == 1 and only[0].scope is ScopeKind.AGREEMENT and only[0].mqls_delivered == 260
    other = Attainment(
        agreement="other",
        period="2025-03",
        scope=ScopeKind.AGREEMENT,
        scope_id="other",
        speed=Ratio(met=0, decided=0),
        depth=Ratio(met=0, decided=0),
        acceptance=Ratio(met=0, decided=0),
    )
    with pytest.raises(ValueError, match="does not fit row other 2025-03"):
        with_marketing(other, status)


def test_value_form_fills_value_figures(ny: BusinessCalendar) -> None:
    pol = volume_policy(ny, {"demo": D(1000)})
    status = marketing_status(
        deliveries(6, "demo"), march_goal(pol), MARCH, local(2025, 3, 15), pol
    )
    row = apply_marketing([], status)[0]
    assert (row.value_delivered, row.value_goal) == (6000.0, 120000.0)


# --------------------------------------------------------------------------- consequences

NOTIFY = Consequence(
    metric=Metric.MARKETING,
    below=0.90,
    actions=(Action(kind=ActionKind.NOTIFY, targets=("marketing_head", "sales_head")),),
)
ESCALATE = Consequence(
    metric=Metric.MARKETING,
    below=0.75,
    actions=(
        Action(kind=ActionKind.ESCALATE, targets=("exec",)),
        Action(kind=ActionKind.CARRY_SHORTFALL, share=0.5),
    ),
)
SPEED_NOTIFY = Consequence(
    metric=Metric.SPEED,
    below=0.95,
    actions=(Action(kind=ActionKind.NOTIFY, targets=("sales_head",)),),
)
RULES = (NOTIFY, ESCALATE, SPEED_NOTIFY)


@pytest.mark.parametrize(
    ("marketing", "speed", "expected"),
    [
        (0.70, 1.0, (ESCALATE,)),  # the most severe tier, not the first listed
        (0.80, 1.0, (NOTIFY,)),
        (0.75, 1.0, (NOTIFY,)),  # strictly below
        (0.90, 1.0, ()),
        (0.95, 0.5, (SPEED_NOTIFY,)),
        (0.50, 0.5, (ESCALATE, SPEED_NOTIFY)),  # one per metric, in rule order
        (None, None, ()),  # nothing decided triggers nothing
    ],
)
def test_consequence_severity_choice(
    marketing: float | None, speed: float | None, expected: tuple[Consequence, ...]
) -> None:
    figures = {Metric.MARKETING: marketing, Metric.SPEED: speed}
    assert triggered_consequences(figures, RULES) == expected
    # Independent of how the list is ordered.
    assert set(triggered_consequences(figures, tuple(reversed(RULES)))) == set(expected)


def test_consequence_ties_and_missing_metrics() -> None:
    twin = Consequence(metric=Metric.MARKETING, below=0.75, actions=())
    assert triggered_consequences({Metric.MARKETING: 0.5}, (ESCALATE, twin)) == (ESCALATE,)
    assert triggered_consequences({}, RULES) == ()
    assert triggered_consequences({Metric.DEPTH: 0.1}, RULES) == ()


def test_attainment_figures_are_ratios(ny: BusinessCalendar) -> None:
    row = Attainment(
        agreement="a",
        period="2025-03",
        scope=ScopeKind.AGREEMENT,
        scope_id="a",
        speed=Ratio(met=3, decided=4),
        depth=Ratio(met=0, decided=0),
        acceptance=Ratio(met=1, decided=1),
        mqls_delivered=70,
        mql_goal=100.0,
    )
    assert attainment_figures(row) == {
        Metric.MARKETING: pytest.approx(0.70),
        Metric.SPEED: 0.75,
        Metric.DEPTH: None,
        Metric.ACCEPTANCE: 1.0,
    }
    pol = volume_policy(ny)
    status = marketing_status(deliveries(300), march_goal(pol), MARCH, local(2025, 4, 1), pol)
    assert attainment_figures(row, status)[Metric.MARKETING] == pytest.approx(0.5)


def test_carried_shortfall() -> None:
    assert carried_shortfall(100, 70, 0.5) == 15
    assert carried_shortfall(D(100), D(120), 0.5) == 0  # over-delivery carries nothing
    assert carried_shortfall(100, 70, 0.0) == 0
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        carried_shortfall(100, 70, 1.5)


def test_carry_share() -> None:
    full = Consequence(
        metric=Metric.MARKETING, below=0.5, actions=(Action(kind=ActionKind.CARRY_SHORTFALL),)
    )
    assert carry_share([NOTIFY]) is None
    assert carry_share([NOTIFY, ESCALATE]) == 0.5
    assert carry_share([ESCALATE, full]) == 1.0


def test_carry_over_into_the_next_version(ny: BusinessCalendar) -> None:
    pol = VolumePolicy(
        goal=GoalInputs(
            revenue_goal=Fixed(D(5000)),
            average_deal_size=Fixed(D(100)),
            lead_to_customer_rate=Fixed(D("0.5")),
        ),
        timezone=NY,
        pacing_calendar=ny,
    )
    march = publish_goal_version(
        pol, agreement="smarketing", period=MARCH, actuals=None, previous=None
    )
    assert march.version is not None and march.version.leads_goal == 100  # M1
    status = marketing_status(deliveries(70), march.version, MARCH, MARCH.utc_end, pol)
    fired = triggered_consequences({Metric.MARKETING: status.attainment}, (NOTIFY, ESCALATE))
    assert fired == (ESCALATE,)
    carry, carry_value = carry_over_from(fired, march.version, status.delivered)
    assert (carry, carry_value) == (D(15), D(0))  # 50 % of (100 - 70)
    april = publish_goal_version(
        pol,
        agreement="smarketing",
        period=MARCH.next(),
        actuals=None,
        previous=march.version,
        carry_over=carry,
        carry_over_value=carry_value,
    )
    assert april.version is not None
    assert (april.version.version, april.version.leads_goal) == (2, 115)
    assert april.version.carried_over == 15
    # March's own version is untouched.
    assert march.version.leads_goal == 100


def test_carry_over_value_and_sales_consequences() -> None:
    pol = VolumePolicy(
        goal=GoalInputs(
            revenue_goal=Fixed(D(5000)),
            average_deal_size=Fixed(D(100)),
            lead_to_customer_rate=Fixed(D("0.5")),
        ),
        pacing=PacingBasis.CALENDAR_DAYS,
    )
    version = publish_goal_version(
        pol, agreement="a", period=Period.parse("2025-03", "UTC"), actuals=None, previous=None
    ).version
    assert version is not None
    assert carry_over_from([ESCALATE], version, 70, D(3000)) == (D(15), D(1000))
    sales_carry = Consequence(
        metric=Metric.SPEED,
        below=0.9,
        actions=(Action(kind=ActionKind.CARRY_SHORTFALL, share=1.0),),
    )
    assert carry_over_from([sales_carry], version, 70) == (D(0), D(0))  # not marketing's debt


def test_marketing_status_type_is_frozen(ny: BusinessCalendar) -> None:
    pol = volume_policy(ny)
    status = marketing_status([], march_goal(pol), MARCH, local(2025, 3, 15), pol)
    assert isinstance(status, MarketingStatus)
    with pytest.raises(AttributeError):
        status.delivered = 3  # type: ignore[misc]
