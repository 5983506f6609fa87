"""Engine results: cycles and attainment round-trip exactly; goal versions freeze."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from sla_sync.domain import Attainment, CycleKind, CycleState, LeadCycle, Ratio, ScopeKind
from sla_sync.store import repositories as repo
from sla_sync.store.records import GoalFigures, GoalPeriodFrozenError, NotFoundError

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
    cycles = {
        "due": [speed("due", deadline_at=T0 + timedelta(minutes=30))],
        "warned": [speed("warned", warning_at=T0, deadline_at=T0 + timedelta(days=1))],
        "later": [speed("later", deadline_at=T0 + timedelta(days=1))],
        "done": [speed("done", state=CycleState.MET, deadline_at=T0)],
        "old": [
            speed("old", started_at=T0 - timedelta(days=40), deadline_at=T0 + timedelta(days=1))
        ],
    }
    repo.save_cycles(session, connection_id, cycles, agreement="na-inbound", evaluated_at=T0)
    as_of = T0 + timedelta(hours=1)
    assert repo.due_cycle_leads(session, connection_id, as_of=as_of) == {"due", "warned"}
    november = repo.load_cycles(
        session,
        agreement="na-inbound",
        started_from=datetime(2026, 11, 1, tzinfo=BERLIN),
        started_before=datetime(2026, 12, 1, tzinfo=BERLIN),
    )
    assert {c.lead_id for c in november} == {"due", "warned", "later", "done"}
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


def figures(**changes: object) -> GoalFigures:
    values: dict[str, object] = {
        "mql_goal": Decimal("100"),
        "value_goal": Decimal("5000.50"),
        "revenue_goal": Decimal("5000"),
        "average_deal_size": Decimal("100"),
        "lead_to_customer_rate": Decimal("0.5"),
        "marketing_share": Decimal("1"),
    }
    values.update(changes)
    return GoalFigures(**values)  # type: ignore[arg-type]


def test_goal_versions_publish_and_freeze(session: Session) -> None:
    assert repo.current_goal(session, "na-inbound", "2026-12") is None
    v1 = repo.publish_goal_version(
        session,
        agreement="na-inbound",
        period="2026-12",
        figures=figures(),
        published_at=T0,
        inputs={"average_deal_size": {"trailing_months": 3}},
    )
    assert v1.version == 1 and not v1.frozen
    v2 = repo.publish_goal_version(
        session,
        agreement="na-inbound",
        period="2026-12",
        figures=figures(mql_goal=Decimal("104"), carried_credit=Decimal("4")),
        published_at=T0 + timedelta(days=1),
    )
    assert v2.version == 2
    session.commit()
    session.expunge_all()
    current = repo.current_goal(session, "na-inbound", "2026-12")
    assert current == v2
    assert current is not None and current.figures.lead_to_customer_rate == Decimal("0.5")
    assert [g.version for g in repo.goal_history(session, "na-inbound", "2026-12")] == [1, 2]
    assert repo.goal_history(session, "na-inbound", "2026-12")[0].inputs == {
        "average_deal_size": {"trailing_months": 3}
    }

    frozen = repo.freeze_goal_period(session, "na-inbound", "2026-12")
    assert frozen.version == 2 and frozen.frozen
    assert repo.freeze_goal_period(session, "na-inbound", "2026-12") == frozen
    with pytest.raises(GoalPeriodFrozenError, match="frozen at version 2"):
        repo.publish_goal_version(
            session,
            agreement="na-inbound",
            period="2026-12",
            figures=figures(),
            published_at=T0 + timedelta(days=2),
        )
    # Another period is unaffected.
    other = repo.publish_goal_version(
        session, agreement="na-inbound", period="2027-01", figures=figures(), published_at=T0
    )
    assert other.version == 1
    with pytest.raises(NotFoundError):
        repo.freeze_goal_period(session, "na-inbound", "1999-01")
