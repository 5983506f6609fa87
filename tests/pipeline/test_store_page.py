"""Storing one pulled page: records, link replacement, removals, deletions, merges, quarantine,
the evaluation queue and the cursor, all in the caller's transaction (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sla_sync.connectors.base import PullPage, Quarantined, touch_id
from sla_sync.domain import Lead, LifecycleChange, LifecycleField, Owner, Touch, TouchKind
from sla_sync.pipeline.pull import page_records, store_page
from sla_sync.store import repositories as repo
from sla_sync.store.models import EvaluationQueueRow

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def touch(activity: str, lead: str) -> Touch:
    return Touch(id=touch_id(activity, lead), lead_id=lead, kind=TouchKind.CALL, occurred_at=T0)


def queued(session: Session) -> set[str]:
    return set(session.scalars(select(EvaluationQueueRow.lead_crm_id)))


def test_a_page_and_its_cursor_are_stored_together_and_repeats_change_nothing(
    session: Session,
) -> None:
    cid = repo.ensure_connection(session, "hs", "hubspot")
    page = PullPage(
        stream="contacts",
        cursor="c1",
        owners=(Owner(id="o1", name="Ana", team="east"),),
        leads=(Lead(id="L1", created_at=T0, owner_id="o1"), Lead(id="L2", created_at=T0)),
        lifecycle=(
            LifecycleChange(
                lead_id="L1", field=LifecycleField.STAGE, value="marketingqualifiedlead", at=T0
            ),
        ),
        quarantined=(Quarantined(stream="contacts", record_id="L9", reason="bad date"),),
    )
    assert store_page(session, cid, page, at=T0) == {"L1", "L2"}
    assert page_records(page) == 4
    assert repo.get_cursor(session, cid, "contacts") == "c1"
    assert queued(session) == {"L1", "L2"}
    [bad] = repo.unresolved_quarantine(session, connection_id=cid)
    assert (bad.crm_id, bad.reason, bad.payload) == ("L9", "bad date", None)
    assert store_page(session, cid, page, at=T0 + timedelta(minutes=1)) == set()
    session.rollback()  # nothing was committed: the caller owns the transaction
    assert repo.get_cursor(session, cid, "contacts") is None


def test_link_replacement_removal_deletion_and_merge_queue_the_leads_they_touch(
    session: Session,
) -> None:
    cid = repo.ensure_connection(session, "hs", "hubspot")
    leads = tuple(Lead(id=f"L{i}", created_at=T0) for i in range(1, 5))
    store_page(session, cid, PullPage(stream="contacts", leads=leads), at=T0)
    store_page(
        session,
        cid,
        PullPage(stream="calls", touches=(touch("a1", "L1"), touch("a1", "L2"), touch("a2", "L3"))),
        at=T0,
    )
    session.execute(EvaluationQueueRow.__table__.delete())

    # a1 is re-associated to L2 only; a2 was deleted; L4 archived; L2 merged into L1.
    relinked = PullPage(stream="associations", touches=(touch("a1", "L2"),), activity_ids=("a1",))
    assert store_page(session, cid, relinked, at=T0) == {"L1"}
    removed = PullPage(stream="archived", removed_activity_ids=("a2",), deleted_leads={"L4": T0})
    assert store_page(session, cid, removed, at=T0) == {"L3", "L4"}
    merged = PullPage(stream="contacts", merges={"L2": "L1"})
    assert store_page(session, cid, merged, at=T0) == {"L1", "L2"}
    assert queued(session) == {"L1", "L2", "L3", "L4"}
    histories = repo.load_histories(session, cid, ["L1", "L3", "L4"])
    assert [t.id for t in histories["L1"].touches] == []
    assert [t.id for h in histories["L1"].merged_from for t in h.touches] == ["a1/L2"]
    assert histories["L3"].touches == ()
    assert histories["L4"].lead.deleted_at == T0
    assert session.scalar(select(func.count()).select_from(EvaluationQueueRow)) == 4


def test_an_owner_moving_team_queues_their_leads(session: Session) -> None:
    cid = repo.ensure_connection(session, "hs", "hubspot")
    owner = Owner(id="o1", name="Ana", team="east")
    store_page(session, cid, PullPage(stream="owners", owners=(owner,)), at=T0)
    leads = (Lead(id="L1", created_at=T0, owner_id="o1"), Lead(id="L2", created_at=T0))
    store_page(session, cid, PullPage(stream="contacts", leads=leads), at=T0)
    session.execute(EvaluationQueueRow.__table__.delete())
    moved = Owner(id="o1", name="Ana", team="west")
    assert store_page(session, cid, PullPage(stream="owners", owners=(moved,)), at=T0) == {"L1"}
