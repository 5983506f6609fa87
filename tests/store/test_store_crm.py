"""CRM inputs: idempotent upserts, newer-wins, change reporting, histories with merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sla_sync.domain import (
    FieldChange,
    Lead,
    LifecycleChange,
    LifecycleField,
    NaiveDatetimeError,
    Owner,
    OwnerChange,
    Touch,
    TouchDirection,
    TouchKind,
)
from sla_sync.store import repositories as repo
from sla_sync.store.models import LeadRow, LifecycleChangeRow, TouchRow
from sla_sync.store.records import LeadVersion

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def lead(lead_id: str, **changes: object) -> Lead:
    values: dict[str, object] = {
        "id": lead_id,
        "created_at": T0,
        "owner_id": "o1",
        "stage": "marketingqualifiedlead",
        "status": "NEW",
        "fields": MappingProxyType({"score": "80", "country": "US"}),
    }
    values.update(changes)
    return Lead(**values)  # type: ignore[arg-type]


def test_ensure_connection_is_idempotent(session: Session) -> None:
    first = repo.ensure_connection(session, "sf", "salesforce")
    assert repo.ensure_connection(session, "sf", "salesforce") == first
    assert repo.connection_ids(session) == {"sf": first}


def test_owners_upsert(session: Session, connection_id: int) -> None:
    owners = [
        Owner(id="o1", name="Ana", email="ana@example.com", team="East", manager_id="m1"),
        Owner(id="m1", name="Mo", timezone="America/New_York", active=False),
    ]
    assert repo.upsert_owners(session, connection_id, owners) == {"o1", "m1"}
    assert repo.upsert_owners(session, connection_id, owners) == set()
    moved = Owner(id="o1", name="Ana", email="ana@example.com", team="West", manager_id="m1")
    assert repo.upsert_owners(session, connection_id, [moved]) == {"o1"}
    loaded = repo.load_owners(session, connection_id)
    assert loaded == {"o1": moved, "m1": owners[1]}


def test_same_page_twice_changes_nothing(session: Session, connection_id: int) -> None:
    page = [
        LeadVersion(lead=lead("1"), modified_at=T0),
        LeadVersion(lead=lead("2", owner_id=None, fields=MappingProxyType({})), modified_at=T0),
    ]
    assert repo.upsert_leads(session, connection_id, page) == {"1", "2"}
    session.commit()
    before = session.execute(select(LeadRow.__table__)).all()

    assert repo.upsert_leads(session, connection_id, page) == set()
    session.commit()
    assert session.execute(select(LeadRow.__table__)).all() == before
    assert repo.load_leads(session, connection_id, ["1", "2", "unknown"]) == {
        "1": page[0].lead,
        "2": page[1].lead,
    }


def test_newer_version_updates_and_older_one_is_ignored(
    session: Session, connection_id: int
) -> None:
    repo.upsert_leads(session, connection_id, [LeadVersion(lead=lead("1"), modified_at=T0)])
    newer = lead("1", status="WORKING")
    later = T0 + timedelta(hours=1)
    assert repo.upsert_leads(
        session, connection_id, [LeadVersion(lead=newer, modified_at=later)]
    ) == {"1"}
    stale = lead("1", status="NEW")
    assert (
        repo.upsert_leads(session, connection_id, [LeadVersion(lead=stale, modified_at=T0)])
        == set()
    )
    assert repo.load_leads(session, connection_id, ["1"])["1"].status == "WORKING"


def test_bumped_modification_date_alone_is_not_a_change(
    session: Session, connection_id: int
) -> None:
    """The worker's own write-back comes back with a newer date and the same inputs."""
    repo.upsert_leads(session, connection_id, [LeadVersion(lead=lead("1"), modified_at=T0)])
    later = T0 + timedelta(minutes=5)
    page = [LeadVersion(lead=lead("1"), modified_at=later)]
    assert repo.upsert_leads(session, connection_id, page) == set()
    stored = session.scalars(select(LeadRow.modified_at)).one()
    assert stored == later  # the newer version is still recorded for newer-wins


def test_duplicates_within_a_page_keep_the_last(session: Session, connection_id: int) -> None:
    page = [lead("1", status="NEW"), lead("1", status="WORKING")]
    assert repo.upsert_leads(session, connection_id, page) == {"1"}
    assert repo.load_leads(session, connection_id, ["1"])["1"].status == "WORKING"


def test_deleted_and_merged_leads(session: Session, connection_id: int) -> None:
    repo.upsert_leads(session, connection_id, [lead("1"), lead("2")])
    gone = lead("2", merged_into="1", deleted_at=T0 + timedelta(days=1))
    assert repo.upsert_leads(session, connection_id, [gone]) == {"2"}
    assert repo.load_leads(session, connection_id, ["2"])["2"] == gone


def test_naive_lead_dates_are_refused(session: Session, connection_id: int) -> None:
    bad = lead("9", created_at=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError, match="created_at of record 9"):
        repo.upsert_leads(session, connection_id, [bad])


def test_history_is_idempotent(session: Session, connection_id: int) -> None:
    changes = [
        LifecycleChange(lead_id="1", field=LifecycleField.STAGE, value="lead", at=T0),
        LifecycleChange(
            lead_id="1",
            field=LifecycleField.STAGE,
            value="marketingqualifiedlead",
            at=T0 + timedelta(minutes=1),
            source="FORM",
        ),
        LifecycleChange(lead_id="1", field=LifecycleField.STATUS, value=None, at=T0),
    ]
    owners = [
        OwnerChange(lead_id="1", owner_id="o1", at=T0),
        OwnerChange(lead_id="1", owner_id=None, at=T0 + timedelta(hours=1)),
    ]
    fields = [FieldChange(lead_id="1", name="score", value="80", at=T0)]
    assert repo.add_lifecycle_changes(session, connection_id, changes) == {"1"}
    assert repo.add_owner_changes(session, connection_id, owners) == {"1"}
    assert repo.add_field_changes(session, connection_id, fields) == {"1"}
    # Re-reading the same history (cleared values included) inserts nothing.
    assert repo.add_lifecycle_changes(session, connection_id, changes + changes) == set()
    assert repo.add_owner_changes(session, connection_id, owners) == set()
    assert repo.add_field_changes(session, connection_id, fields) == set()
    count = session.scalar(select(func.count()).select_from(LifecycleChangeRow))
    assert count == 3


def test_touches_upsert_and_reassociation(session: Session, connection_id: int) -> None:
    call = Touch(
        id="t1",
        lead_id="1",
        kind=TouchKind.CALL,
        occurred_at=T0,
        owner_id="o1",
        direction=TouchDirection.OUTBOUND,
        created_at=T0 + timedelta(seconds=30),
    )
    task = Touch(id="t2", lead_id="2", kind=TouchKind.TASK, occurred_at=T0, by_sla_sync=True)
    assert repo.upsert_touches(session, connection_id, [call, task]) == {"1", "2"}
    assert repo.upsert_touches(session, connection_id, [call, task]) == set()
    moved = Touch(
        id="t1",
        lead_id="3",
        kind=TouchKind.CALL,
        occurred_at=T0,
        owner_id="o1",
        direction=TouchDirection.OUTBOUND,
        created_at=T0 + timedelta(seconds=30),
    )
    # Both the old and the new lead need re-evaluation.
    assert repo.upsert_touches(session, connection_id, [moved]) == {"1", "3"}
    assert session.scalar(select(func.count()).select_from(TouchRow)) == 2


def test_load_histories_with_merged_records(session: Session, connection_id: int) -> None:
    survivor = lead("1")
    merged = lead("2", merged_into="1", created_at=T0 - timedelta(days=2))
    merged_earlier = lead("3", merged_into="2", created_at=T0 - timedelta(days=5))
    other = lead("4")
    repo.upsert_leads(session, connection_id, [survivor, merged, merged_earlier, other])
    mql = [
        LifecycleChange(lead_id=lid, field=LifecycleField.STAGE, value="mql", at=T0)
        for lid in ("1", "2", "3")
    ]
    repo.add_lifecycle_changes(session, connection_id, mql)
    touches = [
        Touch(id="t-late", lead_id="1", kind=TouchKind.EMAIL, occurred_at=T0 + timedelta(hours=2)),
        Touch(id="t-early", lead_id="1", kind=TouchKind.CALL, occurred_at=T0 + timedelta(hours=1)),
        Touch(id="t2", lead_id="2", kind=TouchKind.CALL, occurred_at=T0),
    ]
    repo.upsert_touches(session, connection_id, touches)
    repo.add_owner_changes(session, connection_id, [OwnerChange(lead_id="1", owner_id="o1", at=T0)])
    repo.add_field_changes(
        session, connection_id, [FieldChange(lead_id="1", name="score", value=None, at=T0)]
    )
    session.commit()

    histories = repo.load_histories(session, connection_id, ["1", "4", "missing"])
    assert set(histories) == {"1", "4"}
    h1 = histories["1"]
    assert h1.lead == survivor
    assert [t.id for t in h1.touches] == ["t-early", "t-late"]
    assert h1.owners == (OwnerChange(lead_id="1", owner_id="o1", at=T0),)
    assert h1.field_changes == (FieldChange(lead_id="1", name="score", value=None, at=T0),)
    assert h1.lifecycle == (mql[0],)
    (h2,) = h1.merged_from
    assert h2.lead == merged
    assert [t.id for t in h2.touches] == ["t2"]
    (h3,) = h2.merged_from
    assert h3.lead == merged_earlier
    assert h3.merged_from == ()
    assert histories["4"].merged_from == ()
    assert histories["4"].touches == ()
