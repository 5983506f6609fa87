"""Write-back: confirmed values, outbox with idempotency keys, alerts that fire once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sla_sync.domain import CycleKind, ScopeKind
from sla_sync.store import repositories as repo
from sla_sync.store.models import OutboxRow
from sla_sync.store.records import (
    AlertKind,
    InvalidTransitionError,
    NotFoundError,
    OutboxStatus,
)

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def test_confirmed_values(session: Session, connection_id: int) -> None:
    assert repo.load_confirmed(session, connection_id, "contact", ["1"]) == {}
    repo.confirm_values(
        session,
        connection_id,
        "contact",
        {
            "1": {"sla_status": "running", "sla_due": "2026-11-02T14:30:00Z"},
            "2": {"sla_tier": None},
        },
        confirmed_at=T0,
    )
    repo.confirm_values(
        session, connection_id, "contact", {"1": {"sla_status": "met"}}, confirmed_at=T0
    )
    assert repo.load_confirmed(session, connection_id, "contact", ["1", "2", "3"]) == {
        "1": {"sla_status": "met", "sla_due": "2026-11-02T14:30:00Z"},
        "2": {"sla_tier": None},
    }
    assert repo.load_confirmed(session, connection_id, "lead", ["1"]) == {}


def test_outbox_life_cycle(session: Session, connection_id: int) -> None:
    key = "task:hubspot-main:1:speed:1:breach"
    entry = repo.record_intent(
        session,
        connection_id=connection_id,
        idempotency_key=key,
        operation="create_task",
        payload={"lead": "1", "subject": "SLA breached"},
        at=T0,
    )
    assert entry.status is OutboxStatus.PENDING and entry.attempts == 0
    # Recording the same intent again (a restarted run) changes nothing.
    again = repo.record_intent(
        session,
        connection_id=connection_id,
        idempotency_key=key,
        operation="create_task",
        payload={"different": True},
        at=T0 + timedelta(minutes=5),
    )
    assert again == entry
    assert [e.idempotency_key for e in repo.unfinished_outbox(session, connection_id)] == [key]

    sent = repo.mark_sent(session, key, at=T0 + timedelta(seconds=1))
    assert sent.status is OutboxStatus.SENT and sent.attempts == 1
    failed = repo.mark_failed(session, key, error="HTTP 503", at=T0 + timedelta(seconds=2))
    assert failed.status is OutboxStatus.FAILED and failed.attempts == 1
    assert failed.last_error == "HTTP 503"
    assert repo.unfinished_outbox(session, connection_id) == []
    assert repo.unfinished_outbox(session, connection_id, statuses=[OutboxStatus.FAILED]) == [
        failed
    ]
    repo.mark_sent(session, key, at=T0 + timedelta(minutes=1))
    done = repo.mark_confirmed(
        session, key, at=T0 + timedelta(minutes=1, seconds=1), created_crm_id="task-77"
    )
    assert done.status is OutboxStatus.CONFIRMED
    assert done.attempts == 2 and done.created_crm_id == "task-77"
    assert done.payload == {"lead": "1", "subject": "SLA breached"}
    assert done.updated_at == T0 + timedelta(minutes=1, seconds=1)
    with pytest.raises(InvalidTransitionError):
        repo.mark_sent(session, key, at=T0 + timedelta(minutes=2))
    with pytest.raises(NotFoundError):
        repo.mark_sent(session, "nope", at=T0)


def test_outbox_failure_before_send_counts_an_attempt(session: Session, connection_id: int) -> None:
    repo.record_intent(
        session,
        connection_id=connection_id,
        idempotency_key="k",
        operation="update",
        payload={},
        at=T0,
    )
    assert repo.mark_failed(session, "k", error="timeout", at=T0).attempts == 1


def test_idempotency_key_is_unique_in_the_database(
    session_maker: sessionmaker[Session], connection_id: int
) -> None:
    row = {
        "idempotency_key": "dup",
        "connection_id": connection_id,
        "operation": "create_task",
        "payload": {},
        "status": "pending",
        "attempts": 0,
        "created_at": T0,
        "updated_at": T0,
    }
    with session_maker() as session:
        session.add(OutboxRow(**row))
        session.commit()
        session.add(OutboxRow(**row))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()


def test_alerts_fire_once(session: Session, connection_id: int) -> None:
    def breach(kind: AlertKind = AlertKind.BREACH, number: int = 1) -> bool:
        return repo.record_cycle_alert(
            session,
            agreement="na-inbound",
            connection_id=connection_id,
            lead_id="1",
            cycle_kind=CycleKind.SPEED,
            cycle_number=number,
            kind=kind,
            raised_at=T0,
            detail={"deadline": "2026-11-02T14:30:00Z"},
        )

    assert breach() is True
    assert breach() is False
    assert breach(AlertKind.WARNING) is True
    assert breach(number=2) is True  # a re-MQL's cycle is a new subject
    session.commit()
    assert breach() is False  # also after commit, from another transaction

    def consequence() -> bool:
        return repo.record_period_alert(
            session,
            agreement="na-inbound",
            period="2026-11",
            scope=ScopeKind.TEAM,
            scope_id="East",
            name="notify-heads",
            raised_at=T0,
        )

    assert consequence() is True
    assert consequence() is False

    alerts = repo.list_alerts(session, agreement="na-inbound")
    assert [(a.kind, a.cycle_number, a.period) for a in alerts] == [
        (AlertKind.BREACH, 1, None),
        (AlertKind.WARNING, 1, None),
        (AlertKind.BREACH, 2, None),
        (AlertKind.CONSEQUENCE, None, "2026-11"),
    ]
    lead_alerts = repo.list_alerts(session, connection_id=connection_id, lead_ids=["1"])
    assert len(lead_alerts) == 3
    assert lead_alerts[0].detail == {"deadline": "2026-11-02T14:30:00Z"}
    assert lead_alerts[0].subject == f"lead:{connection_id}:1:speed:1"
