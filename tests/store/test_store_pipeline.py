"""Store additions of the pipeline (0002): touch links by activity, deletions and merges, the
evaluation and push queues, MQL entries, quota accounting, latest goal, open cycles by owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sla_sync.domain import (
    CycleKind,
    CycleState,
    Lead,
    LeadCycle,
    Touch,
    TouchKind,
)
from sla_sync.store import repositories as repo
from sla_sync.store.records import RunOutcome

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def touch(activity: str, lead: str) -> Touch:
    return Touch(id=f"{activity}/{lead}", lead_id=lead, kind=TouchKind.CALL, occurred_at=T0)


def test_activity_links_are_replaced_and_removed(session: Session, connection_id: int) -> None:
    assert repo.activity_of("501/L1", "L1") == "501"
    assert repo.activity_of("odd", "L1") is None
    repo.upsert_touches(
        session, connection_id, [touch("501", "L1"), touch("501", "L2"), touch("502", "L3")]
    )
    # Activity 501 is now linked to L2 and L4 only: L1 loses its touch.
    page = [touch("501", "L2"), touch("501", "L4")]
    changed = repo.upsert_touches(session, connection_id, page)
    lost = repo.replace_activity_links(session, connection_id, ["501"], [t.id for t in page])
    assert changed == {"L4"}
    assert lost == {"L1"}
    assert repo.remove_activities(session, connection_id, ["502", "999"]) == {"L3"}
    assert repo.remove_activities(session, connection_id, ["502"]) == set()
    assert repo.replace_activity_links(session, connection_id, ["501"], ["501/L2", "501/L4"]) == (
        set()
    )


def test_deletions_and_merges_mark_stored_leads(session: Session, connection_id: int) -> None:
    repo.upsert_leads(
        session,
        connection_id,
        [Lead(id=i, created_at=T0, owner_id="o1") for i in ("L1", "L2", "L3")],
    )
    gone = T0 + timedelta(days=1)
    assert repo.mark_leads_deleted(session, connection_id, {"L1": gone, "X": gone}) == {"L1"}
    assert repo.mark_leads_deleted(session, connection_id, {"L1": gone}) == set()
    assert repo.mark_leads_merged(session, connection_id, {"L2": "L3", "Y": "L3"}) == {
        "L2",
        "L3",
    }
    assert repo.mark_leads_merged(session, connection_id, {"L2": "L3"}) == set()
    leads = repo.load_leads(session, connection_id, ["L1", "L2"])
    assert leads["L1"].deleted_at == gone
    assert leads["L2"].merged_into == "L3"
    assert repo.merge_survivors(session, connection_id, ["L1", "L2", "L3"]) == {"L3"}
    assert repo.leads_owned_by(session, connection_id, ["o1", "o2"]) == {"L1", "L2", "L3"}


def test_evaluation_queue(session: Session, connection_id: int) -> None:
    repo.enqueue_evaluation(session, connection_id, ["L3", "L1", "L2"], at=T0)
    repo.enqueue_evaluation(session, connection_id, ["L1"], at=T0)
    assert repo.evaluation_backlog(session, connection_id) == 3
    assert repo.evaluation_batch(session, connection_id, limit=2) == ["L1", "L2"]
    repo.dequeue_evaluation(session, connection_id, ["L1", "L2"])
    assert repo.evaluation_batch(session, connection_id, limit=2) == ["L3"]


def test_push_queue_keeps_failures_until_dequeued(session: Session, connection_id: int) -> None:
    repo.enqueue_push(session, connection_id, ["L2", "L1"], at=T0)
    assert repo.record_push_failure(session, connection_id, "L2", error="429", at=T0) == 1
    assert repo.record_push_failure(session, connection_id, "L2", error="409", at=T0) == 2
    assert repo.record_push_failure(session, connection_id, "nope", error="x", at=T0) == 0
    repo.enqueue_push(session, connection_id, ["L2"], at=T0 + timedelta(hours=1))
    [first, second] = repo.push_batch(session, connection_id, limit=10)
    assert (first.lead_id, first.attempts) == ("L1", 0)
    assert (second.lead_id, second.attempts, second.last_error) == ("L2", 2, "409")
    assert second.last_attempt_at == T0
    assert [q.lead_id for q in repo.push_batch(session, connection_id, limit=10, after="L1")] == [
        "L2"
    ]
    repo.dequeue_push(session, connection_id, ["L1", "L2"])
    assert repo.push_backlog(session, connection_id) == 0


def test_mql_entries_are_replaced_per_lead(session: Session, connection_id: int) -> None:
    repo.save_mqls(
        session,
        connection_id,
        {"L1": [(T0, "demo"), (T0 + timedelta(days=40), "demo")], "L2": [(T0, None)]},
        agreement="na",
    )
    repo.save_mqls(session, connection_id, {"L2": []}, agreement="na")
    found = repo.load_mqls(session, "na", start=T0, end=T0 + timedelta(days=30))
    assert found == [(f"{connection_id}:L1", T0, "demo")]
    assert repo.load_mqls(session, "other", start=T0, end=T0 + timedelta(days=30)) == []


def test_api_calls_since_adds_up_the_days_runs(session: Session, connection_id: int) -> None:
    for offset, total in ((-2, 500), (1, 40), (2, 2)):
        run_id = repo.start_run(
            session,
            kind="sync",
            started_at=T0 + timedelta(hours=offset),
            connection_id=connection_id,
        )
        repo.finish_run(
            session,
            run_id,
            outcome=RunOutcome.SUCCESS,
            ended_at=T0 + timedelta(hours=offset),
            api_calls={"total": total, "calls": {"search": total}},
        )
    repo.start_run(session, kind="sync", started_at=T0, connection_id=connection_id)  # running
    assert repo.api_calls_since(session, connection_id, T0) == 42
    assert repo.api_calls_since(session, connection_id, T0 + timedelta(days=1)) == 0


def test_open_cycle_leads_by_owner(session: Session, connection_id: int) -> None:
    def cycle(lead: str, owner: str, state: CycleState) -> LeadCycle:
        return LeadCycle(
            lead_id=lead,
            agreement="na",
            kind=CycleKind.SPEED,
            number=1,
            state=state,
            started_at=T0,
            owner_id=owner,
        )

    repo.save_cycles(
        session,
        connection_id,
        {
            "L1": [cycle("L1", "ana", CycleState.RUNNING)],
            "L2": [cycle("L2", "ana", CycleState.MET)],
            "L3": [cycle("L3", "bo", CycleState.PAUSED)],
        },
        agreement="na",
        evaluated_at=T0,
    )
    found = repo.open_cycle_leads(
        session, connection_id, agreement="na", kind=CycleKind.SPEED, owner_ids=["ana", "bo"]
    )
    assert found == {"L1", "L3"}
    assert repo.latest_goal(session, "na") is None
