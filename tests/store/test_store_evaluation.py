"""Engine results: cycles, attainment and goal versions round-trip exactly; goals freeze."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sla_sync.domain import (
    Attainment,
    CycleKind,
    CycleState,
    Goal,
    GoalVersion,
    InputSource,
    LeadCycle,
    Ratio,
    ResolvedGoalInputs,
    ResolvedInput,
    ScopeKind,
)
from sla_sync.store import repositories as repo
from sla_sync.store.records import GoalPeriodFrozenError, NotFoundError, StoredGoalVersion

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def speed(lead_id: str, number: int = 1, **changes: object) -> LeadCycle:
    values: dict[str, object] = {
        "lead_id": lead_id,
        "agreement": "na-inbound",
        "kind": CycleKind.SPEED,
        "number": number,
        "state": CycleState.RUNNING,
        "started_at": T0,
    }
    values.update(changes)
    return LeadCycle(**values)  # type: ignore[arg-type]


FULL = speed(
    "1",
    state=CycleState.BREACHED,
    owner_id="o1",
    team="East",
    tier="A",
    target_seconds=1800,
    deadline_at=T0 + timedelta(minutes=30),
    warning_at=T0 + timedelta(minutes=24),
    stopped_at=T0 + timedelta(hours=2),
    first_touch_at=T0 + timedelta(hours=2),
    breached_at=T0 + timedelta(minutes=30),
    business_seconds=7200,
    paused_seconds=60,
    attempts=3,
    attempts_required=5,
    cancel_reason=None,
    escalated_at=T0 + timedelta(hours=1),
    next_check_at=T0 + timedelta(hours=3),
)


def test_cycles_round_trip_exactly(session: Session, connection_id: int) -> None:
    depth = speed("1", kind=CycleKind.DEPTH, state=CycleState.CANCELLED, cancel_reason="deleted")
    repo.save_cycles(
        session, connection_id, {"1": [FULL, depth]}, agreement="na-inbound", evaluated_at=T0
    )
    session.commit()
    session.expunge_all()
    loaded = repo.load_cycles(session, connection_id=connection_id, lead_ids=["1"])
    assert loaded == [depth, FULL]  # ordered by kind then number
    assert all(c.started_at.tzinfo is UTC for c in loaded)


def test_save_cycles_replaces_per_lead(session: Session, connection_id: int) -> None:
    first = {"1": [speed("1", 1), speed("1", 2)], "2": [speed("2", 1)]}
    repo.save_cycles(session, connection_id, first, agreement="na-inbound", evaluated_at=T0)
    updated = replace(speed("1", 1), state=CycleState.MET, first_touch_at=T0)
    repo.save_cycles(
        session, connection_id, {"1": [updated]}, agreement="na-inbound", evaluated_at=T0
    )
    assert repo.load_cycles(session, connection_id=connection_id, agreement="na-inbound") == [
        updated,
        speed("2", 1),
    ]


def test_save_cycles_rejects_misfiled_cycles(session: Session, connection_id: int) -> None:
    with pytest.raises(ValueError, match="filed under lead 2"):
        repo.save_cycles(
            session, connection_id, {"2": [speed("1")]}, agreement="na-inbound", evaluated_at=T0
        )


def test_due_cycles_and_period_filters(session: Session, connection_id: int) -> None:
    # next_check_at is what the engine projected: the next warning, deadline or escalation.
    soon, tomorrow = T0 + timedelta(minutes=30), T0 + timedelta(days=1)
    cycles = {
        "due": [speed("due", deadline_at=soon, next_check_at=soon)],
        "warning-due": [speed("warning-due", deadline_at=tomorrow, next_check_at=soon)],
        "escalation-due": [
            speed("escalation-due", state=CycleState.BREACHED, breached_at=T0, next_check_at=soon)
        ],
        "later": [speed("later", deadline_at=tomorrow, next_check_at=tomorrow)],
        "done": [speed("done", state=CycleState.MET, deadline_at=T0)],
        "old": [
            speed(
                "old",
                started_at=T0 - timedelta(days=40),
                deadline_at=tomorrow,
                next_check_at=tomorrow,
            )
        ],
    }
    repo.save_cycles(session, connection_id, cycles, agreement="na-inbound", evaluated_at=T0)
    as_of = T0 + timedelta(hours=1)
    assert repo.due_cycle_leads(session, connection_id, as_of=as_of) == {
        "due",
        "warning-due",
        "escalation-due",
    }
    november = repo.load_cycles(
        session,
        agreement="na-inbound",
        started_from=datetime(2026, 11, 1, tzinfo=BERLIN),
        started_before=datetime(2026, 12, 1, tzinfo=BERLIN),
    )
    assert {c.lead_id for c in november} == {
        "due",
        "warning-due",
        "escalation-due",
        "later",
        "done",
    }
    with pytest.raises(ValueError, match="connection_id"):
        repo.load_cycles(session, lead_ids=["due"])


def attainment(**changes: object) -> Attainment:
    values: dict[str, object] = {
        "agreement": "na-inbound",
        "period": "2026-11",
        "scope": ScopeKind.AGREEMENT,
        "scope_id": "na-inbound",
        "speed": Ratio(met=41, decided=50),
        "depth": Ratio(met=0, decided=0),
        "acceptance": Ratio(met=12, decided=13),
        "running": 7,
        "median_first_touch_minutes": 17.25,
        "p90_first_touch_minutes": 0.1 + 0.2,  # not representable exactly in decimal
        "mqls_delivered": 88,
        "mql_goal": 100.0,
        "value_delivered": 9123.45,
        "value_goal": None,
        "expected_to_date": 47.61904761904762,
        "pace_index": 1.848,
        "consequences": ("notify-heads", "carry-shortfall"),
    }
    values.update(changes)
    return Attainment(**values)  # type: ignore[arg-type]


def test_attainment_round_trip_and_close(session: Session) -> None:
    live = attainment()
    owner = attainment(
        scope=ScopeKind.OWNER,
        scope_id="o1",
        mqls_delivered=0,
        mql_goal=None,
        value_delivered=None,
        expected_to_date=None,
        pace_index=None,
        median_first_touch_minutes=None,
        p90_first_touch_minutes=None,
        consequences=(),
    )
    repo.save_attainments(session, [live, owner], computed_at=T0)
    session.commit()
    session.expunge_all()
    records = repo.load_attainments(session, "na-inbound", "2026-11")
    assert [r.current for r in records] == [live, owner]
    assert records[0].final is None and records[0].computed_at == T0

    closed_at = datetime(2026, 12, 1, 0, 5, tzinfo=BERLIN)
    assert repo.close_period(session, "na-inbound", "2026-11", closed_at=closed_at) == 2
    assert repo.close_period(session, "na-inbound", "2026-11", closed_at=closed_at) == 0

    # Late data changes the live figures; the closed numbers stay.
    late = attainment(mqls_delivered=91, speed=Ratio(met=42, decided=51))
    repo.save_attainments(session, [late], computed_at=closed_at + timedelta(days=2))
    session.commit()
    session.expunge_all()
    (record,) = repo.load_attainments(session, "na-inbound", "2026-11", scope=ScopeKind.AGREEMENT)
    assert record.current == late
    assert record.final == live
    assert record.closed_at == closed_at


THIRD = Decimal(1) / Decimal(3)  # 0.3333333333333333333333333333: no Numeric scale keeps it

GOAL = GoalVersion(
    agreement="na-inbound",
    period="2026-12",
    version=7,
    computed=Goal(
        customers=Decimal(50000) / Decimal(3), leads=121, value=Decimal("1234567.890123456789")
    ),
    inputs=ResolvedGoalInputs(
        revenue_goal=ResolvedInput(
            value=Decimal(150000) / Decimal(9), source=InputSource.TRAILING, months=3
        ),
        average_deal_size=ResolvedInput(value=Decimal("1000.00"), source=InputSource.FIXED),
        lead_to_customer_rate=ResolvedInput(value=THIRD, source=InputSource.TRAILING, months=6),
        marketing_share=ResolvedInput(value=Decimal("0.70"), source=InputSource.FIXED),
        self_sourced_leads=ResolvedInput(
            value=Decimal(12) * 3 / 52, source=InputSource.TRAILING, months=12
        ),
    ),
    proration=Decimal(10) / Decimal(21),
    effective_from=date(2026, 12, 14),
    carried_over=Decimal("4.5"),
    carried_over_value=Decimal("2.50E+2"),
    reissued_from=6,
    note="goal inputs failed (r unknown); numbers of version 6 kept",
)


def test_goal_version_round_trips_exactly(session: Session) -> None:
    assert repo.current_goal(session, "na-inbound", "2026-12") is None
    published = repo.publish_goal_version(session, GOAL, published_at=T0)
    assert published == StoredGoalVersion(goal=GOAL, published_at=T0, frozen=False)
    session.commit()
    session.expunge_all()

    stored = repo.current_goal(session, "na-inbound", "2026-12")
    assert stored == published
    assert stored is not None
    # Equal and identical: every Decimal keeps its digits and exponent, not just its value.
    assert repr(stored.goal) == repr(GOAL)
    assert stored.goal.inputs.lead_to_customer_rate.value.as_tuple() == THIRD.as_tuple()
    assert stored.goal.leads_goal == GOAL.leads_goal
    assert stored.goal.value_goal == GOAL.value_goal


def test_goal_version_without_optional_fields_round_trips(session: Session) -> None:
    bare = GoalVersion(
        agreement="na-inbound",
        period="2027-01",
        version=1,
        computed=Goal(customers=Decimal(50), leads=100, value=Decimal(5000)),
        inputs=ResolvedGoalInputs(
            revenue_goal=ResolvedInput(value=Decimal(5000), source=InputSource.FIXED),
            average_deal_size=ResolvedInput(value=Decimal(100), source=InputSource.FIXED),
            lead_to_customer_rate=ResolvedInput(value=Decimal("0.5"), source=InputSource.FIXED),
        ),
    )
    repo.publish_goal_version(session, bare, published_at=T0)
    session.commit()
    session.expunge_all()
    (stored,) = repo.goal_history(session, "na-inbound", "2027-01")
    assert repr(stored.goal) == repr(bare)


def test_goal_versions_publish_and_freeze(session: Session) -> None:
    v1 = repo.publish_goal_version(session, replace(GOAL, version=1), published_at=T0)
    v2 = repo.publish_goal_version(
        session,
        replace(GOAL, version=2, carried_over=Decimal(4)),
        published_at=T0 + timedelta(days=1),
    )
    session.commit()
    session.expunge_all()
    assert repo.current_goal(session, "na-inbound", "2026-12") == v2
    assert repo.goal_history(session, "na-inbound", "2026-12") == [v1, v2]

    frozen = repo.freeze_goal_period(session, "na-inbound", "2026-12")
    assert frozen == replace(v2, frozen=True)
    assert repo.freeze_goal_period(session, "na-inbound", "2026-12") == frozen
    assert all(stored.frozen for stored in repo.goal_history(session, "na-inbound", "2026-12"))
    with pytest.raises(GoalPeriodFrozenError, match="frozen at version 2"):
        repo.publish_goal_version(
            session, replace(GOAL, version=3), published_at=T0 + timedelta(days=2)
        )
    # Another period is unaffected.
    january = repo.publish_goal_version(
        session, replace(GOAL, period="2027-01", version=3), published_at=T0
    )
    assert not january.frozen
    with pytest.raises(NotFoundError):
        repo.freeze_goal_period(session, "na-inbound", "1999-01")


def test_goal_version_numbers_are_unique_per_agreement(session: Session) -> None:
    repo.publish_goal_version(session, replace(GOAL, version=1), published_at=T0)
    repo.publish_goal_version(session, replace(GOAL, agreement="emea", version=1), published_at=T0)
    session.commit()
    with pytest.raises(IntegrityError):
        repo.publish_goal_version(
            session, replace(GOAL, period="2027-01", version=1), published_at=T0
        )
