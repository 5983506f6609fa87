"""``evaluate_agreement``: the one composition of the engine (scope, cycles, goal, consequences).

Policies are built by hand (no YAML) so that each test shows the few settings it depends on.
Reference: §6.1 (goal, value form), §6.3 (consequences), T25 (reporting time zone), T32 (re-MQL),
T33 (merged duplicates), M1 (goal 100), M8 (failed inputs keep the previous goal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest

from sla_sync.domain import (
    CycleKind,
    CycleState,
    GoalVersion,
    Lead,
    LeadHistory,
    LifecycleChange,
    LifecycleField,
    NaiveDatetimeError,
    Owner,
    ScopeKind,
    Touch,
    TouchDirection,
    TouchKind,
)
from sla_sync.sla.calendar import BusinessCalendar
from sla_sync.sla.evaluate import evaluate_agreement, leads_in_scope, mql_deliveries
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import (
    Action,
    ActionKind,
    AgreementPolicy,
    Condition,
    Consequence,
    Duration,
    DurationUnit,
    Fixed,
    GoalInputs,
    LeadDefinition,
    LeadScope,
    Metric,
    Operator,
    PacingBasis,
    PeriodKind,
    SalesPolicy,
    SpeedCommitment,
    TierRule,
    Trailing,
    VolumePolicy,
)
from sla_sync.sla.volume import GoalOutcome, TrailingActuals, publish_goal_version

D = Decimal
NY = "America/New_York"
LA = "America/Los_Angeles"
MQL = "marketingqualifiedlead"

NY_9_17 = BusinessCalendar.from_config(
    {"timezone": NY, "hours": {"mon-fri": ["09:00-17:00"]}}, name="ny-9-17"
)

OWNERS: Mapping[str, Owner] = MappingProxyType(
    {
        "ana": Owner(id="ana", name="Ana", team="ny-inbound"),
        "ben": Owner(id="ben", name="Ben", team="sf-inbound"),
        "zoe": Owner(id="zoe", name="Zoe"),  # no team
    }
)

# M1: R $5,000, m 1, ASP $100, r 0.5 -> C = 5000 * 1 / 100 = 50 customers, L = 50 / 0.5 = 100.
M1 = GoalInputs(
    revenue_goal=Fixed(D(5000)),
    average_deal_size=Fixed(D(100)),
    lead_to_customer_rate=Fixed(D("0.5")),
    marketing_share=Fixed(D(1)),
)


def utc(text: str) -> datetime:
    """``"2025-03-04 15:00"`` -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def lead(
    lead_id: str,
    *,
    mql: Sequence[str] = (),
    recycle: Sequence[str] = (),
    owner: str | None = "ana",
    fields: Mapping[str, str] | None = None,
    touches: Sequence[str] = (),
    merged_into: str | None = None,
    merged_from: Sequence[LeadHistory] = (),
) -> LeadHistory:
    """A lead that became an MQL at each of ``mql`` and went back to ``lead`` at ``recycle``."""
    changes = [
        LifecycleChange(lead_id=lead_id, field=LifecycleField.STAGE, value=MQL, at=utc(at))
        for at in mql
    ] + [
        LifecycleChange(lead_id=lead_id, field=LifecycleField.STAGE, value="lead", at=utc(at))
        for at in recycle
    ]
    first = min((change.at for change in changes), default=utc("2025-01-01 00:00"))
    return LeadHistory(
        lead=Lead(
            id=lead_id,
            created_at=first,
            owner_id=owner,
            stage=MQL if mql else None,
            fields=MappingProxyType(dict(fields or {})),
            merged_into=merged_into,
        ),
        lifecycle=tuple(changes),
        touches=tuple(
            Touch(
                id=f"{lead_id}-t{index}",
                lead_id=lead_id,
                kind=TouchKind.CALL,
                occurred_at=utc(at),
                owner_id=owner,
                direction=TouchDirection.OUTBOUND,
            )
            for index, at in enumerate(touches)
        ),
        merged_from=tuple(merged_from),
    )


def sales(agreement: str = "a1") -> SalesPolicy:
    """Every lead is tier ``A``: first touch within 1 business hour on NY 09:00-17:00."""
    return SalesPolicy(
        agreement=agreement,
        calendar=NY_9_17,
        speed=SpeedCommitment(
            tiers=(TierRule(tier="A", target=Duration(1, DurationUnit.BUSINESS_HOURS)),)
        ),
    )


def volume(
    goal: GoalInputs = M1,
    *,
    value_field: str | None = None,
    weights: Mapping[str, Decimal] | None = None,
) -> VolumePolicy:
    return VolumePolicy(
        goal=goal,
        period=PeriodKind.MONTH,
        pacing=PacingBasis.CALENDAR_DAYS,
        value_field=value_field,
        value_weights=MappingProxyType(dict(weights or {})),
    )


def agreement(
    *,
    agreement_id: str = "a1",
    timezone: str = NY,
    scope: LeadScope | None = None,
    sales_policy: SalesPolicy | None = None,
    volume_policy: VolumePolicy | None = None,
    consequences: tuple[Consequence, ...] = (),
) -> AgreementPolicy:
    return AgreementPolicy(
        id=agreement_id,
        provider="marketing",
        recipient="sales",
        period=PeriodKind.MONTH,
        timezone=timezone,
        connections=("crm",),
        scope=scope or LeadScope(),
        sales=sales_policy,
        volume=volume_policy,
        consequences=consequences,
    )


# --------------------------------------------------------------------------- scope


SCOPE_LEADS = (
    lead("L-ana-us", owner="ana", fields={"country": "US"}),
    lead("L-ben-gb", owner="ben", fields={"country": "GB"}),
    lead("L-zoe", owner="zoe", fields={"country": "us"}),  # owner without a team
    lead("L-nobody", owner=None, fields={"country": "DE"}),  # no owner at all
    lead("L-ghost", owner="ghost", fields={}),  # owner id not among the known owners
)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param(
            LeadScope(),
            ["L-ana-us", "L-ben-gb", "L-zoe", "L-nobody", "L-ghost"],
            id="empty-scope-takes-every-lead-even-without-team",
        ),
        pytest.param(LeadScope(teams=frozenset({"ny-inbound"})), ["L-ana-us"], id="one-team"),
        pytest.param(
            LeadScope(teams=frozenset({"ny-inbound", "sf-inbound"})),
            ["L-ana-us", "L-ben-gb"],
            id="two-teams-leave-out-teamless-ownerless-and-unknown-owners",
        ),
        pytest.param(
            LeadScope(when=(Condition("country", Operator.NOT_IN, ("GB", "IE")),)),
            ["L-ana-us", "L-zoe", "L-nobody", "L-ghost"],
            id="when-not-in-keeps-leads-without-the-field",
        ),
        pytest.param(
            LeadScope(when=(Condition("country", Operator.EQ, "US"),)),
            ["L-ana-us", "L-zoe"],
            id="when-eq-is-case-insensitive",
        ),
        pytest.param(
            LeadScope(
                teams=frozenset({"ny-inbound", "sf-inbound"}),
                when=(Condition("country", Operator.EQ, "GB"),),
            ),
            ["L-ben-gb"],
            id="team-and-when-both-apply",
        ),
    ],
)
def test_leads_in_scope_filters_by_team_and_when_conditions(
    scope: LeadScope, expected: list[str]
) -> None:
    policy = agreement(scope=scope)
    selected = leads_in_scope(policy, SCOPE_LEADS, OWNERS)
    assert [history.lead.id for history in selected] == expected


def test_only_leads_in_scope_get_cycles_and_are_listed() -> None:
    policy = agreement(scope=LeadScope(teams=frozenset({"ny-inbound"})), sales_policy=sales())
    histories = [
        lead("L-in", owner="ana", mql=["2025-03-04 15:00"]),
        lead("L-out", owner="ben", mql=["2025-03-04 15:00"]),
    ]
    result = evaluate_agreement(policy, histories, owners=OWNERS, as_of=utc("2025-03-04 15:30"))
    assert result.lead_ids == ("L-in",)
    assert {cycle.lead_id for cycle in result.cycles} == {"L-in"}


# --------------------------------------------------------------------------- periods (T25)


@pytest.mark.parametrize(
    ("timezone", "expected_label"),
    [
        # 2025-04-01 06:45Z is Mon 2025-03-31 23:45 PDT (UTC-7): still March in Los Angeles.
        pytest.param(LA, "2025-03", id="los-angeles-reporting-march"),
        pytest.param("UTC", "2025-04", id="utc-reporting-april"),
    ],
)
def test_period_defaults_to_the_one_containing_as_of_in_the_reporting_zone(
    timezone: str, expected_label: str
) -> None:
    # T25: an MQL at 2025-03-31 23:30 America/Los_Angeles (= 2025-04-01 06:30Z) counts in the
    # month of the reporting zone: March under Los Angeles, April under UTC.
    policy = agreement(timezone=timezone, volume_policy=volume())
    mql_lead = lead("L-edge", mql=["2025-04-01 06:30"])
    result = evaluate_agreement(policy, [mql_lead], owners=OWNERS, as_of=utc("2025-04-01 06:45"))
    assert result.period.label == expected_label
    assert result.period.timezone == timezone
    assert result.marketing is not None
    assert result.marketing.period == expected_label
    assert result.marketing.delivered == 1
    assert result.agreement_row.period == expected_label
    assert result.agreement_row.mqls_delivered == 1


@pytest.mark.parametrize(
    ("timezone", "label", "delivered"),
    [
        pytest.param(LA, "2025-03", 1, id="la-march-counts-it"),
        pytest.param(LA, "2025-04", 0, id="la-april-does-not"),
        pytest.param("UTC", "2025-03", 0, id="utc-march-does-not"),
        pytest.param("UTC", "2025-04", 1, id="utc-april-counts-it"),
    ],
)
def test_explicit_period_counts_the_month_edge_mql_by_reporting_zone(
    timezone: str, label: str, delivered: int
) -> None:
    policy = agreement(timezone=timezone, volume_policy=volume())
    result = evaluate_agreement(
        policy,
        [lead("L-edge", mql=["2025-04-01 06:30"])],
        owners=OWNERS,
        as_of=utc("2025-04-30 12:00"),
        period=Period.parse(label, timezone),
    )
    assert result.period.label == label
    assert result.agreement_row.mqls_delivered == delivered


# --------------------------------------------------------------------------- marketing goal


def test_marketing_goal_and_delivered_count_are_filled_into_the_agreement_row() -> None:
    policy = agreement(sales_policy=sales(), volume_policy=volume())
    histories = [
        # Tue 2025-03-04 15:00Z = 10:00 EST; touched 15:30Z (met).
        lead("L-1", owner="ana", mql=["2025-03-04 15:00"], touches=["2025-03-04 15:30"]),
        lead("L-2", owner="ben", mql=["2025-03-04 16:00"]),
        lead("L-feb", owner="ana", mql=["2025-02-27 15:00"]),  # February: not delivered in March
    ]
    as_of = utc("2025-03-04 18:00")  # Tue 13:00 EST
    result = evaluate_agreement(policy, histories, owners=OWNERS, as_of=as_of)

    assert result.goal is not None
    assert result.goal.outcome is GoalOutcome.PUBLISHED
    assert result.goal.version is not None
    assert result.goal.version.leads_goal == 100  # M1
    assert result.goal.version.period == "2025-03"
    row = result.agreement_row
    assert row.scope is ScopeKind.AGREEMENT
    assert row.scope_id == "a1"
    assert row.mql_goal == 100.0
    assert row.mqls_delivered == 2
    assert row.marketing_pct == pytest.approx(2.0)
    # Calendar-day pacing: 3 of March's 31 days are over at Tue 4 Mar 13:00 EST (1st-3rd),
    # so 100 * 3 / 31 = 9.677 leads are expected; pace 2 / 9.677 = 0.2067.
    assert row.expected_to_date == pytest.approx(300 / 31)
    assert row.pace_index == pytest.approx(2 / (300 / 31))
    assert row.value_goal is None  # no value weights: count form
    # Marketing figures live on the agreement row only; team and owner rows keep sales figures.
    others = [r for r in result.attainment if r.scope is not ScopeKind.AGREEMENT]
    assert {(r.scope, r.scope_id) for r in others} == {
        (ScopeKind.TEAM, "ny-inbound"),
        (ScopeKind.TEAM, "sf-inbound"),
        (ScopeKind.OWNER, "ana"),
        (ScopeKind.OWNER, "ben"),
    }
    assert all(r.mql_goal is None and r.mqls_delivered == 0 for r in others)
    assert result.marketing is not None
    assert result.marketing.measure == "count"
    assert result.marketing.attainment == pytest.approx(0.02)


def test_re_mql_in_the_same_period_counts_once_but_opens_a_second_cycle() -> None:
    # T32 within one month: MQL Mon 3 Mar, recycled Wed 5 Mar, MQL again Mon 10 Mar.
    policy = agreement(sales_policy=sales(), volume_policy=volume())
    remql = lead(
        "L-re",
        mql=["2025-03-03 15:00", "2025-03-10 14:00"],
        recycle=["2025-03-05 15:00"],
        touches=["2025-03-03 15:10", "2025-03-10 14:10"],
    )
    result = evaluate_agreement(policy, [remql], owners=OWNERS, as_of=utc("2025-03-12 12:00"))
    speed = [cycle for cycle in result.cycles if cycle.kind is CycleKind.SPEED]
    assert [(cycle.number, cycle.state) for cycle in speed] == [
        (1, CycleState.MET),
        (2, CycleState.MET),
    ]
    assert result.agreement_row.speed.decided == 2
    assert result.agreement_row.mqls_delivered == 1


def test_merged_duplicates_count_once() -> None:
    # T33: two records of one person, MQL 09:00 and 09:20 EST; the duplicate is merged into the
    # survivor. Whether the caller passes the duplicate only inside merged_from, or also on its
    # own (as a store listing would), the person is one delivered MQL.
    duplicate = lead("L-dup", mql=["2025-03-04 14:20"], merged_into="L-main")
    survivor = lead("L-main", mql=["2025-03-04 14:00"], merged_from=[duplicate])
    policy = agreement(sales_policy=sales(), volume_policy=volume())
    for histories in ([survivor], [survivor, duplicate]):
        result = evaluate_agreement(policy, histories, owners=OWNERS, as_of=utc("2025-03-04 18:00"))
        assert result.agreement_row.mqls_delivered == 1
        starts = [cycle.started_at for cycle in result.cycles if cycle.lead_id == "L-main"]
        assert starts == [utc("2025-03-04 14:00")]  # the earliest MQL starts the clock


def test_value_form_measures_delivered_value_against_the_value_goal() -> None:
    # G_val = R * m = 5000 * 1 = $5,000. Delivered: demo $1,000 + two e-books at $40 + one lead
    # of a source without weight (no default: worth $0) = $1,080; attainment 1080 / 5000 = 0.216.
    policy = agreement(
        volume_policy=volume(value_field="source", weights={"demo": D(1000), "ebook": D(40)})
    )
    histories = [
        lead("L-demo", mql=["2025-03-04 15:00"], fields={"source": "demo"}),
        lead("L-eb1", mql=["2025-03-04 15:00"], fields={"source": "ebook"}),
        lead("L-eb2", mql=["2025-03-05 15:00"], fields={"source": "ebook"}),
        lead("L-web", mql=["2025-03-05 15:00"], fields={"source": "webinar"}),
    ]
    result = evaluate_agreement(policy, histories, owners=OWNERS, as_of=utc("2025-03-06 12:00"))
    assert result.marketing is not None
    assert result.marketing.measure == "value"
    assert result.marketing.delivered == 4
    assert result.marketing.delivered_value == D(1080)
    assert result.marketing.value_goal == D(5000)
    assert result.marketing.attainment == pytest.approx(0.216)
    row = result.agreement_row
    assert row.mqls_delivered == 4
    assert row.mql_goal == 100.0
    assert row.value_delivered == pytest.approx(1080.0)
    assert row.value_goal == pytest.approx(5000.0)


# --------------------------------------------------------------------------- consequences

SPEED_NOTIFY = Consequence(Metric.SPEED, 0.9, (Action(ActionKind.NOTIFY, ("sales-head",)),))
SPEED_ESCALATE = Consequence(Metric.SPEED, 0.75, (Action(ActionKind.ESCALATE, ("cro",)),))
SPEED_DISASTER = Consequence(Metric.SPEED, 0.4, (Action(ActionKind.ESCALATE, ("ceo",)),))
MARKETING_NOTIFY = Consequence(
    Metric.MARKETING, 0.9, (Action(ActionKind.NOTIFY, ("marketing-head",)),)
)
ACCEPTANCE_NOTIFY = Consequence(
    Metric.ACCEPTANCE, 0.9, (Action(ActionKind.NOTIFY, ("sales-head",)),)
)


def test_consequences_fire_for_the_agreement_row_most_severe_rule_per_metric() -> None:
    # Speed: L-met touched after 30 min (met), L-late untouched past its 16:00Z deadline
    # (Tue 10:00 EST + 1 bh = 11:00 EST): 1/2 = 0.5. Per metric the most severe matching rule
    # fires: 0.5 < 0.9 and < 0.75 but not < 0.4 -> the 0.75 escalation only.
    # Marketing: 2 of 100 = 0.02 < 0.9 -> notify. Acceptance: nothing decided -> nothing fires.
    rules = (SPEED_NOTIFY, MARKETING_NOTIFY, SPEED_ESCALATE, SPEED_DISASTER, ACCEPTANCE_NOTIFY)
    policy = agreement(sales_policy=sales(), volume_policy=volume(), consequences=rules)
    histories = [
        lead("L-met", mql=["2025-03-04 15:00"], touches=["2025-03-04 15:30"]),
        lead("L-late", mql=["2025-03-04 15:00"]),
    ]
    result = evaluate_agreement(policy, histories, owners=OWNERS, as_of=utc("2025-03-04 18:00"))
    assert result.agreement_row.speed.met == 1
    assert result.agreement_row.speed.decided == 2
    assert result.consequences == (MARKETING_NOTIFY, SPEED_ESCALATE)


def test_no_consequence_fires_when_every_figure_is_above_its_threshold() -> None:
    policy = agreement(sales_policy=sales(), consequences=(SPEED_NOTIFY, MARKETING_NOTIFY))
    histories = [lead("L-met", mql=["2025-03-04 15:00"], touches=["2025-03-04 15:30"])]
    result = evaluate_agreement(policy, histories, owners=OWNERS, as_of=utc("2025-03-04 18:00"))
    # Speed 1/1 = 100 %; no volume commitment, so the marketing rule has no figure to watch.
    assert result.consequences == ()


# --------------------------------------------------------------------------- goal decisions


def test_no_volume_commitment_means_no_goal_and_no_marketing_status() -> None:
    policy = agreement(sales_policy=sales())
    result = evaluate_agreement(
        policy,
        [lead("L-1", mql=["2025-03-04 15:00"])],
        owners=OWNERS,
        as_of=utc("2025-03-04 18:00"),
    )
    assert result.goal is None
    assert result.marketing is None
    assert result.agreement_row.mql_goal is None
    assert result.agreement_row.mqls_delivered == 0
    assert len(result.cycles) == 1


def test_volume_only_agreement_counts_mqls_with_the_default_lead_definition() -> None:
    # No sales side: no cycles, but the MQL stage of the default (HubSpot) definition still
    # counts as a delivery, and the agreement row exists with empty sales ratios.
    policy = agreement(volume_policy=volume())
    histories = [
        lead("L-1", mql=["2025-03-04 15:00"]),
        lead("L-2", mql=["2025-03-05 15:00"]),
    ]
    result = evaluate_agreement(policy, histories, owners=OWNERS, as_of=utc("2025-03-06 12:00"))
    assert result.cycles == ()
    assert [(row.scope, row.scope_id) for row in result.attainment] == [(ScopeKind.AGREEMENT, "a1")]
    assert result.agreement_row.speed.pct is None
    assert result.agreement_row.mqls_delivered == 2
    assert result.agreement_row.mql_goal == 100.0


TRAILING_ASP = GoalInputs(
    revenue_goal=Fixed(D(5000)),
    average_deal_size=Trailing(3),
    lead_to_customer_rate=Fixed(D("0.5")),
)


def test_trailing_input_without_actuals_fails_the_goal_and_leaves_marketing_empty() -> None:
    policy = agreement(sales_policy=sales(), volume_policy=volume(TRAILING_ASP))
    result = evaluate_agreement(
        policy,
        [lead("L-1", mql=["2025-03-04 15:00"])],
        owners=OWNERS,
        as_of=utc("2025-03-04 18:00"),
    )
    assert result.goal is not None
    assert result.goal.outcome is GoalOutcome.FAILED
    assert result.goal.version is None
    assert result.goal.error is not None
    assert "average_deal_size" in result.goal.error
    assert "trailing(3 months)" in result.goal.error
    assert result.marketing is None
    assert result.agreement_row.mql_goal is None
    assert result.agreement_row.mqls_delivered == 0
    # The sales side is evaluated regardless: 10:00 EST + 1 bh = 11:00 EST (16:00Z) has passed
    # untouched at 18:00Z.
    assert (result.agreement_row.speed.met, result.agreement_row.speed.decided) == (0, 1)


def test_trailing_input_with_actuals_publishes_the_goal() -> None:
    # ASP from the 3-month window: $30,000 / 300 deals = $100 -> M1 again: 100 leads.
    actuals = TrailingActuals(
        months=3,
        closed_won_revenue=D(30000),
        closed_won_deals=300,
        qualified_leads=1000,
        customers_from_leads=100,
    )
    policy = agreement(volume_policy=volume(TRAILING_ASP))
    result = evaluate_agreement(
        policy,
        [lead("L-1", mql=["2025-03-04 15:00"])],
        owners=OWNERS,
        as_of=utc("2025-03-04 18:00"),
        actuals=[actuals],
    )
    assert result.goal is not None
    assert result.goal.outcome is GoalOutcome.PUBLISHED
    assert result.goal.version is not None
    assert result.goal.version.inputs.average_deal_size.value == D(100)
    assert result.agreement_row.mql_goal == 100.0
    assert result.agreement_row.mqls_delivered == 1


def previous_version(label: str, revenue: int) -> GoalVersion:
    """Version 1 of ``a1`` for month ``label`` with R = ``revenue`` (ASP $100, r 0.5)."""
    fixed = volume(
        GoalInputs(
            revenue_goal=Fixed(D(revenue)),
            average_deal_size=Fixed(D(100)),
            lead_to_customer_rate=Fixed(D("0.5")),
        )
    )
    decision = publish_goal_version(
        fixed, agreement="a1", period=Period.parse(label, NY), actuals=None, previous=None
    )
    assert decision.version is not None
    return decision.version


def test_trailing_input_without_actuals_reissues_the_previous_goal_when_given() -> None:
    # M8: February's goal was R $8,000 / ($100 * 0.5) = 160 leads. March's inputs fail (no
    # actuals for the trailing ASP), so February's numbers are re-issued as March's version 2.
    february = previous_version("2025-02", 8000)
    assert february.leads_goal == 160
    policy = agreement(volume_policy=volume(TRAILING_ASP))
    result = evaluate_agreement(
        policy,
        [lead("L-1", mql=["2025-03-04 15:00"])],
        owners=OWNERS,
        as_of=utc("2025-03-04 18:00"),
        previous_goal=february,
    )
    assert result.goal is not None
    assert result.goal.outcome is GoalOutcome.REISSUED
    assert result.goal.error is not None
    version = result.goal.version
    assert version is not None
    assert (version.period, version.version, version.reissued_from) == ("2025-03", 2, 1)
    assert version.leads_goal == 160
    assert result.marketing is not None
    assert result.marketing.leads_goal == 160
    assert result.agreement_row.mql_goal == 160.0
    assert result.agreement_row.mqls_delivered == 1


def test_previous_goal_of_the_same_period_is_kept_unchanged() -> None:
    # A period keeps its goal: re-evaluating March with March's version 1 (R $8,000 -> 160)
    # does not recompute it from the M1 inputs (which would give 100).
    march = previous_version("2025-03", 8000)
    policy = agreement(volume_policy=volume())
    result = evaluate_agreement(
        policy,
        [lead("L-1", mql=["2025-03-04 15:00"])],
        owners=OWNERS,
        as_of=utc("2025-03-04 18:00"),
        previous_goal=march,
    )
    assert result.goal is not None
    assert result.goal.outcome is GoalOutcome.KEPT
    assert result.goal.version is march
    assert result.agreement_row.mql_goal == 160.0


# --------------------------------------------------------------------------- inputs


def test_naive_as_of_is_rejected() -> None:
    policy = agreement(sales_policy=sales(), volume_policy=volume())
    with pytest.raises(NaiveDatetimeError, match="as_of"):
        evaluate_agreement(
            policy,
            [lead("L-1", mql=["2025-03-04 15:00"])],
            owners=OWNERS,
            as_of=datetime(2025, 3, 4, 18, 0),  # noqa: DTZ001 - naive on purpose
        )


def test_as_of_in_another_zone_is_normalised_to_utc() -> None:
    policy = agreement(volume_policy=volume())
    local = datetime.fromisoformat("2025-03-04T13:00:00-05:00")
    result = evaluate_agreement(
        policy, [lead("L-1", mql=["2025-03-04 15:00"])], owners=OWNERS, as_of=local
    )
    assert result.as_of == utc("2025-03-04 18:00")
    assert result.as_of.tzinfo is UTC


# --------------------------------------------------------------------------- mql_deliveries


def test_mql_deliveries_tag_segments_and_stop_at_as_of() -> None:
    histories = [
        lead(
            "L-1",
            mql=["2025-03-03 15:00", "2025-03-10 14:00"],
            recycle=["2025-03-05 15:00"],
            fields={"source": "demo"},
        ),
        lead("L-2", mql=["2025-03-04 15:00"]),  # no source field
        lead("L-3", mql=["2025-03-20 15:00"], fields={"source": "ebook"}),  # after as_of
    ]
    got = mql_deliveries(
        histories, LeadDefinition(), segment_field="source", as_of=utc("2025-03-12 00:00")
    )
    assert [(d.lead_id, d.at, d.segment) for d in got] == [
        ("L-1", utc("2025-03-03 15:00"), "demo"),
        ("L-1", utc("2025-03-10 14:00"), "demo"),
        ("L-2", utc("2025-03-04 15:00"), None),
    ]


def test_mql_deliveries_without_segment_field_and_for_merged_records() -> None:
    duplicate = lead(
        "L-dup", mql=["2025-03-04 14:20"], merged_into="L-main", fields={"source": "x"}
    )
    survivor = lead(
        "L-main", mql=["2025-03-04 14:00"], merged_from=[duplicate], fields={"source": "x"}
    )
    got = mql_deliveries(
        [survivor, duplicate],
        LeadDefinition(),
        segment_field=None,
        as_of=utc("2025-03-05 00:00"),
    )
    # One entry for the person, at the earliest MQL, under the survivor's id; no segment.
    assert [(d.lead_id, d.at, d.segment) for d in got] == [
        ("L-main", utc("2025-03-04 14:00"), None)
    ]
