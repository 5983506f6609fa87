"""Operations: cursors saved with their page, the run ledger, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sla_sync.domain import Lead
from sla_sync.store import repositories as repo
from sla_sync.store.records import InvalidTransitionError, NotFoundError, RunOutcome
from sla_sync.store.repositories.ops import ABANDONED_ERROR

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


class PageFailedError(Exception):
    pass


def test_cursor_get_set(session: Session, connection_id: int) -> None:
    assert repo.get_cursor(session, connection_id, "contacts") is None
    repo.set_cursor(session, connection_id, "contacts", "2026-11-02T14:00:00Z", at=T0)
    repo.set_cursor(session, connection_id, "contacts", "2026-11-02T15:00:00Z", at=T0)
    repo.set_cursor(session, connection_id, "owners", "page-token-9", at=T0)
    assert repo.get_cursor(session, connection_id, "contacts") == "2026-11-02T15:00:00Z"
    assert repo.get_cursors(session, connection_id) == {
        "contacts": "2026-11-02T15:00:00Z",
        "owners": "page-token-9",
    }


def test_cursor_and_page_commit_or_roll_back_together(
    session_maker: sessionmaker[Session], connection_id: int
) -> None:
    page = [Lead(id=str(n), created_at=T0) for n in range(3)]

    # A page whose transaction fails after the cursor was set: neither persists.
    with pytest.raises(PageFailedError), session_maker.begin() as session:
        repo.upsert_leads(session, connection_id, page)
        repo.set_cursor(session, connection_id, "contacts", "c1", at=T0)
        raise PageFailedError

    with session_maker() as session:
        assert repo.get_cursor(session, connection_id, "contacts") is None
        assert repo.load_leads(session, connection_id, ["0", "1", "2"]) == {}

    # A page that commits: both persist, seen from another session.
    with session_maker.begin() as session:
        repo.upsert_leads(session, connection_id, page)
        repo.set_cursor(session, connection_id, "contacts", "c1", at=T0)
    with session_maker() as session:
        assert repo.get_cursor(session, connection_id, "contacts") == "c1"
        assert len(repo.load_leads(session, connection_id, ["0", "1", "2"])) == 3


def test_cursor_saved_in_a_savepoint_rolls_back_with_it(
    session: Session, connection_id: int
) -> None:
    repo.set_cursor(session, connection_id, "contacts", "c1", at=T0)
    with pytest.raises(PageFailedError), session.begin_nested():
        repo.upsert_leads(session, connection_id, [Lead(id="x", created_at=T0)])
        repo.set_cursor(session, connection_id, "contacts", "c2", at=T0)
        raise PageFailedError
    assert repo.get_cursor(session, connection_id, "contacts") == "c1"
    assert repo.load_leads(session, connection_id, ["x"]) == {}


def test_run_ledger(session: Session, connection_id: int) -> None:
    first = repo.start_run(session, kind="sync", started_at=T0, connection_id=connection_id)
    repo.finish_run(
        session,
        first,
        outcome=RunOutcome.SUCCESS,
        ended_at=T0 + timedelta(minutes=2),
        counts={"contacts": 120, "touches": 300},
        api_calls={"search": 3, "batch_read": 2},
    )
    second = repo.start_run(
        session,
        kind="sync",
        started_at=T0 + timedelta(minutes=10),
        connection_id=connection_id,
        run_id="run-2",
    )
    report = repo.start_run(session, kind="weekly-report", started_at=T0 + timedelta(minutes=5))
    session.commit()

    runs = repo.recent_runs(session)
    assert [r.id for r in runs] == [second, report, first]
    assert runs[0].outcome is RunOutcome.RUNNING and runs[0].ended_at is None
    assert runs[2].counts == {"contacts": 120, "touches": 300}
    assert runs[2].api_calls == {"search": 3, "batch_read": 2}
    assert [r.id for r in repo.recent_runs(session, connection_id=connection_id, limit=1)] == [
        "run-2"
    ]
    assert [r.id for r in repo.recent_runs(session, kind="weekly-report")] == [report]

    partial = repo.finish_run(
        session,
        second,
        outcome=RunOutcome.PARTIAL,
        ended_at=T0 + timedelta(minutes=11),
        error="daily API budget spent",
    )
    assert partial.outcome is RunOutcome.PARTIAL and partial.error == "daily API budget spent"
    with pytest.raises(InvalidTransitionError):
        repo.finish_run(session, second, outcome=RunOutcome.SUCCESS, ended_at=T0)
    with pytest.raises(InvalidTransitionError):
        repo.finish_run(session, report, outcome=RunOutcome.RUNNING, ended_at=T0)
    with pytest.raises(NotFoundError):
        repo.finish_run(session, "missing", outcome=RunOutcome.FAILED, ended_at=T0)


def test_quarantine(session: Session, connection_id: int) -> None:
    payload = {"id": "7", "properties": {"createdate": "not a date"}}
    repo.quarantine(
        session,
        connection_id=connection_id,
        stream="contacts",
        crm_id="7",
        reason="createdate: 'not a date' is not an ISO-8601 instant",
        payload=payload,
        seen_at=T0,
    )
    repo.quarantine(
        session,
        connection_id=connection_id,
        stream="contacts",
        crm_id="7",
        reason="createdate: 'still bad' is not an ISO-8601 instant",
        payload={"id": "7", "properties": {"createdate": "still bad"}},
        seen_at=T0 + timedelta(hours=1),
    )
    repo.quarantine(
        session,
        connection_id=connection_id,
        stream="calls",
        crm_id="c1",
        reason="no associated contact",
        payload=None,
        seen_at=T0 + timedelta(minutes=1),
    )
    (first, second) = repo.unresolved_quarantine(session, connection_id=connection_id)
    assert (first.stream, first.crm_id, first.seen_count) == ("contacts", "7", 2)
    assert first.first_seen_at == T0 and first.last_seen_at == T0 + timedelta(hours=1)
    assert first.payload == {"id": "7", "properties": {"createdate": "still bad"}}
    assert "still bad" in first.reason
    assert second.payload is None

    resolved = repo.resolve_quarantined(
        session, connection_id=connection_id, stream="contacts", crm_id="7", resolved_at=T0
    )
    assert resolved is True
    assert not repo.resolve_quarantined(
        session, connection_id=connection_id, stream="contacts", crm_id="7", resolved_at=T0
    )
    assert [q.crm_id for q in repo.unresolved_quarantine(session)] == ["c1"]
    # Seen bad again: it re-opens.
    repo.quarantine(
        session,
        connection_id=connection_id,
        stream="contacts",
        crm_id="7",
        reason="again",
        payload=payload,
        seen_at=T0 + timedelta(days=1),
    )
    assert {q.crm_id for q in repo.unresolved_quarantine(session, limit=10)} == {"7", "c1"}


def test_runs_a_dead_process_left_running_are_closed_as_failed(
    session: Session, connection_id: int
) -> None:
    done = repo.start_run(session, kind="sync", started_at=T0, connection_id=connection_id)
    repo.finish_run(session, done, outcome=RunOutcome.SUCCESS, ended_at=T0 + timedelta(minutes=1))
    killed = repo.start_run(
        session, kind="sync", started_at=T0 + timedelta(minutes=5), connection_id=connection_id
    )
    session.commit()

    restart = T0 + timedelta(hours=1)
    assert repo.close_abandoned_runs(session, ended_at=restart) == 1
    session.commit()

    by_id = {r.id: r for r in repo.recent_runs(session)}
    assert by_id[killed].outcome is RunOutcome.FAILED
    assert by_id[killed].ended_at == restart
    assert by_id[killed].error == ABANDONED_ERROR
    assert by_id[done].outcome is RunOutcome.SUCCESS  # finished runs are left alone
    assert repo.close_abandoned_runs(session, ended_at=restart) == 0
