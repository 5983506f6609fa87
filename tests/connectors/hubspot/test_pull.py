"""HubSpot pull streams end to end: the real ``hubspot-api-client`` over HTTP against the
emulator, whose own state (in-process) is the expected answer. Call counts come from the
emulator's request counters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sla_sync.connectors.base import PullPage, PullRequest
from sla_sync.connectors.hubspot._cursor import Cursor, decode
from sla_sync.connectors.hubspot.markers import SLA_SYNC_TASK_MARKER
from sla_sync.connectors.hubspot.pull import STREAMS, PullSettings, pull_stream
from sla_sync.domain import TouchDirection
from sla_sync.sandbox.server import ServerThread

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
SETTINGS = PullSettings()
SEARCH = "/search"
BATCH_READ = "objects/{objectType}/batch/read"
ASSOC = "/crm/v4/associations"


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def freeze(hs: Any, at: datetime) -> None:
    hs.control("POST", "clock", {"now": iso(at), "frozen": True})


def store_of(server: ServerThread) -> Any:
    return server.app.state.emulator.portal.store


def lead(i: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"id": f"l{i}", "created_at": iso(at), "email": f"u{i}@example.com", **extra}


def pages_of(
    client: Any,
    stream: str,
    started_at: datetime,
    cursor: str | None = None,
    *,
    full: bool = False,
    settings: PullSettings = SETTINGS,
) -> list[PullPage]:
    request = PullRequest(stream=stream, cursor=cursor, started_at=started_at, full=full)
    return list(pull_stream(client, request, settings))


def last_cursor(pages: list[PullPage], previous: str | None) -> str | None:
    return next((p.cursor for p in reversed(pages) if p.cursor is not None), previous)


def cycle(
    client: Any,
    started_at: datetime,
    cursors: dict[str, str | None],
    settings: PullSettings = SETTINGS,
) -> dict[str, list[PullPage]]:
    """One pull of every stream, saving cursors as the pipeline would."""
    out = {}
    for stream in STREAMS:
        pages = pages_of(client, stream, started_at, cursors.get(stream), settings=settings)
        cursors[stream] = last_cursor(pages, cursors.get(stream))
        out[stream] = pages
    return out


def leads_of(pages: list[PullPage]) -> dict[str, Any]:
    return {ld.id: ld for p in pages for ld in p.leads}


def pairs_of(pages: list[PullPage]) -> set[str]:
    return {t.id for p in pages for t in p.touches}


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    # The client's own limiter is off: the emulator's limits are off too, and the tests count
    # calls, not seconds.
    return make_client(rate_limits=False)


@pytest.fixture
def store(hubspot_server: ServerThread, hs: Any) -> Any:
    return store_of(hubspot_server)


# ------------------------------------------------------------------------------- full sync


def test_full_pull_matches_the_portal(hs: Any, client: Any, store: Any) -> None:
    freeze(hs, T0)
    hs.seed({"generator": {"leads": 300, "seed": 7, "start": "2026-08-01T00:00:00Z", "months": 3}})
    hs.reset_counters()
    out = cycle(client, T0, {})

    contacts = {str(r.id): r for r in store.buckets["contacts"].records.values() if not r.archived}
    leads = leads_of(out["contacts"])
    assert leads.keys() == contacts.keys()
    for cid, rec in contacts.items():
        ld = leads[cid]
        assert (ld.stage, ld.status, ld.owner_id) == (
            rec.props.get("lifecyclestage"),
            rec.props.get("hs_lead_status"),
            rec.props.get("hubspot_owner_id"),
        )
        assert iso(ld.created_at) == rec.props["createdate"]
        assert ld.fields.get("lead_score") == rec.props.get("hubspotscore")
    stage_changes = sum(1 for p in out["contacts"] for c in p.lifecycle if c.field == "stage")
    assert stage_changes == sum(len(r.versions("lifecyclestage")) for r in contacts.values())
    owner_changes = sum(len(p.owner_changes) for p in out["contacts"])
    assert owner_changes == sum(len(r.versions("hubspot_owner_id")) for r in contacts.values())

    expected_pairs, expected_ids = set(), set()
    for t in ("calls", "emails", "meetings", "tasks", "notes"):
        for rec in store.buckets[t].records.values():
            if rec.archived:
                continue
            expected_ids.add(str(rec.id))
            expected_pairs |= {f"{rec.id}/{c}" for c, _ in store.associated(t, rec.id, "contacts")}
        got = out[t]
        assert {a for p in got for a in p.activity_ids} == {
            str(r.id) for r in store.buckets[t].records.values() if not r.archived
        }
        for touch in (x for p in got for x in p.touches):
            rec = store.buckets[t].records[int(touch.id.split("/")[0])]
            assert iso(touch.occurred_at) == rec.props["hs_timestamp"]
            assert touch.owner_id == rec.props.get("hubspot_owner_id")
    engagement_pages = [
        p for t in ("calls", "emails", "meetings", "tasks", "notes") for p in out[t]
    ]
    assert pairs_of(engagement_pages) == expected_pairs
    assert {a for p in engagement_pages for a in p.activity_ids} == expected_ids

    # Active owners come every cycle; archived ones with the recycle bin.
    assert all(o.active for p in out["owners"] for o in p.owners)
    owners = {o.id: o for s in ("owners", "archived") for p in out[s] for o in p.owners}
    assert {o["id"]: not o["archived"] for o in store.owners} == {
        k: o.active for k, o in owners.items()
    }
    assert all(o.team for o in owners.values())
    merges = {k: v for p in out["contacts"] for k, v in p.merges.items()}
    assert merges == {str(k): str(v) for k, v in store.merged.items()}
    archived = {str(r.id) for r in store.buckets["contacts"].records.values() if r.archived}
    assert {k for p in out["archived"] for k in p.deleted_leads} == archived
    assert not any(p.quarantined for pages in out.values() for p in pages)

    # Calls: ceil(records / 200) searches per stream (key-set pages stop without paging.next),
    # one batch read per 100 contacts, one associations read per 1,000 engagements.
    n_contacts = len(contacts)
    searches = math.ceil(n_contacts / 200) + sum(
        max(1, math.ceil(len(store.buckets[t].records) / 200))
        for t in ("calls", "emails", "meetings", "tasks", "notes")
    )
    associations_recheck = 5  # every engagement is older than 3 days: one empty search each
    assert hs.calls(SEARCH) == searches + associations_recheck
    assert hs.calls(BATCH_READ) == sum(math.ceil(len(p.leads) / 100) for p in out["contacts"])


# ------------------------------------------------------------------------------- increments


def test_incremental_pull_picks_up_exactly_the_changes(hs: Any, client: Any) -> None:
    freeze(hs, T0)
    hs.seed({"generator": {"leads": 60, "seed": 3, "start": "2026-09-01T00:00:00Z", "months": 2}})
    cursors: dict[str, str | None] = {}
    settings = PullSettings(archived_every=timedelta(hours=1))
    cycle(client, T0, cursors, settings)

    a, b = [str(r["id"]) for r in hs.api("GET", "/crm/v3/objects/contacts?limit=2")["results"]]
    freeze(hs, T0 + timedelta(minutes=10))
    hs.api("PATCH", f"/crm/v3/objects/contacts/{a}", {"properties": {"hs_lead_status": "OPEN"}})

    def engagement(kind: str, type_id: int, **props: str) -> str:
        body = {
            "properties": {"hs_timestamp": iso(T0), **props},
            "associations": [
                {
                    "to": {"id": b},
                    "types": [
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
                    ],
                }
            ],
        }
        return str(hs.api("POST", f"/crm/v3/objects/{kind}", body)["id"])

    call = engagement("calls", 194, hs_call_direction="INBOUND")
    task = engagement("tasks", 204, hs_task_subject=f"{SLA_SYNC_TASK_MARKER} breach: call back")
    t2 = T0 + timedelta(minutes=11)
    freeze(hs, t2)
    out = cycle(client, t2, cursors, settings)
    assert leads_of(out["contacts"]).keys() == {a}
    assert leads_of(out["contacts"])[a].status == "OPEN"
    assert pairs_of(out["calls"]) == {f"{call}/{b}"}
    (call_touch,) = (t for p in out["calls"] for t in p.touches)
    assert call_touch.direction is TouchDirection.INBOUND and not call_touch.by_sla_sync
    (task_touch,) = (t for p in out["tasks"] for t in p.touches)
    assert task_touch.by_sla_sync and task_touch.id == f"{task}/{b}"
    for kind in ("emails", "meetings", "notes"):
        assert not pairs_of(out[kind]) and not any(p.activity_ids for p in out[kind])
    assert out["associations"] == [] and out["archived"] == []  # not due yet

    # The next run re-reads the changes (they are within its lookback); the one after that has
    # nothing new: one call per stream that runs every cycle (a search per search stream, the
    # active owners list), nothing else (associations and archived are not due).
    t3 = t2 + timedelta(minutes=10)
    freeze(hs, t3)
    assert leads_of(cycle(client, t3, cursors, settings)["contacts"]).keys() == {a}
    t4 = t3 + timedelta(minutes=10)
    freeze(hs, t4)
    hs.reset_counters()
    out = cycle(client, t4, cursors, settings)
    counters = hs.counters()["by_endpoint"]
    assert counters == {
        "POST /crm/v3/objects/{objectType}/search": 6,
        "GET /crm/v3/owners/": 1,
    }
    assert not any(p.leads or p.touches for pages in out.values() for p in pages)


def test_search_index_lag_is_covered_by_the_lookback(hs: Any, client: Any) -> None:
    freeze(hs, T0 - timedelta(days=1))
    hs.seed({"leads": [lead(1, T0 - timedelta(days=2)), lead(2, T0 - timedelta(days=2))]})
    freeze(hs, T0)
    cursor = last_cursor(pages_of(client, "contacts", T0), None)
    hs.control("POST", "hubspot/options", {"search_delay_seconds": 120})
    (a, _) = [str(r["id"]) for r in hs.api("GET", "/crm/v3/objects/contacts")["results"]]
    freeze(hs, T0 + timedelta(minutes=5))
    hs.api("PATCH", f"/crm/v3/objects/contacts/{a}", {"properties": {"hs_lead_status": "NEW"}})
    freeze(hs, T0 + timedelta(minutes=6))  # written, not yet searchable
    first = pages_of(client, "contacts", T0 + timedelta(minutes=6), cursor)
    assert leads_of(first) == {}
    cursor = last_cursor(first, cursor)
    freeze(hs, T0 + timedelta(minutes=10))
    second = pages_of(client, "contacts", T0 + timedelta(minutes=10), cursor)
    assert leads_of(second).keys() == {a}


# ------------------------------------------------------------------------------- 10k tie


def test_more_than_10k_contacts_sharing_one_timestamp(
    hs: Any, client: Any, hubspot_server: ServerThread
) -> None:
    n = 10_050
    freeze(hs, T0 - timedelta(days=1))
    emulator = hubspot_server.app.state.emulator
    emulator.seed({"leads": [lead(i, T0 - timedelta(days=2)) for i in range(n)]})  # in-process
    hs.control("POST", "hubspot/bulk-touch", {"at": iso(T0)})
    freeze(hs, T0 + timedelta(minutes=1))
    hs.reset_counters()
    since = Cursor(hwm=T0 - timedelta(hours=1)).encode()
    started = T0 + timedelta(minutes=1)
    pages = pages_of(client, "contacts", started, since)
    ids = [ld.id for p in pages for ld in p.leads]
    assert len(ids) == len(set(ids)) == n
    searches, reads = hs.calls(SEARCH), hs.calls(BATCH_READ)
    assert (searches, reads) == (math.ceil(n / 200), 50 * 2 + 1)
    floor = n / 200 + n / 100  # searches + history batch reads
    assert searches + reads + 1 <= 1.05 * floor  # + 1: the lifecycle stage options
    assert pages[-1].progress == (n, n)

    # Resume from the cursor saved with page 20 (a run killed there): the resumed run continues
    # inside the window, above the last stored id, and the two runs together cover everything.
    # (lookback 0: the second, newer window then holds nothing, so the resumed part is exact.)
    stopped = pages[19].cursor
    decoded = decode(stopped, stream="contacts")
    assert decoded is not None and decoded.in_window
    hs.reset_counters()
    later = started + timedelta(minutes=1)
    freeze(hs, later)
    resumed = pages_of(
        client, "contacts", later, stopped, settings=PullSettings(lookback=timedelta(0))
    )
    rest = [ld.id for p in resumed for ld in p.leads]
    assert len(rest) == n - 20 * 200
    assert set(rest) | {ld.id for p in pages[:20] for ld in p.leads} == set(ids)
    assert min(int(i) for i in rest) > decoded.after
    assert hs.calls(SEARCH) == math.ceil(len(rest) / 200) + 1  # + the (empty) newer window


def test_records_changed_during_a_run_are_not_lost(
    hs: Any, client: Any, hubspot_server: ServerThread
) -> None:
    freeze(hs, T0 - timedelta(days=1))
    hubspot_server.app.state.emulator.seed(
        {"leads": [lead(i, T0 - timedelta(days=2)) for i in range(1000)]}
    )
    freeze(hs, T0)
    ids = sorted(int(r.id) for r in store_of(hubspot_server).buckets["contacts"].records.values())
    seen: list[str] = []
    pages: Iterator[PullPage] = pull_stream(
        client, PullRequest(stream="contacts", cursor=None, started_at=T0), SETTINGS
    )
    first = next(pages)
    seen += [ld.id for ld in first.leads]
    # Between pages: one contact already read and one not yet read change; both leave the
    # run's window (their new stamp is past started_at - safety_lag).
    for rid in (ids[0], ids[-1]):
        hs.api("PATCH", f"/crm/v3/objects/contacts/{rid}", {"properties": {"firstname": "X"}})
    rest = list(pages)
    seen += [ld.id for p in rest for ld in p.leads]
    assert set(seen) == {str(i) for i in ids[:-1]}  # nothing behind the change was skipped
    freeze(hs, T0 + timedelta(minutes=1))
    nxt = pages_of(client, "contacts", T0 + timedelta(minutes=1), last_cursor(rest, None))
    assert leads_of(nxt).keys() == {str(ids[0]), str(ids[-1])}


# ------------------------------------------------------------------------------- links, removals


def test_reassociation_is_picked_up_by_the_associations_stream(
    hs: Any, client: Any, store: Any
) -> None:
    freeze(hs, T0 - timedelta(hours=2))
    at = iso(T0 - timedelta(hours=1))
    hs.seed(
        {
            "leads": [lead(1, T0 - timedelta(days=1)), lead(2, T0 - timedelta(days=1))],
            "touches": [{"id": "t1", "lead": "l1", "kind": "call", "at": at, "created_at": at}],
        }
    )
    freeze(hs, T0)
    cursors: dict[str, str | None] = {}
    out = cycle(client, T0, cursors)
    (call_id,) = [a for p in out["calls"] for a in p.activity_ids]
    a, b = sorted(str(r.id) for r in store.buckets["contacts"].records.values())
    assert pairs_of(out["associations"]) == {f"{call_id}/{a}"}

    # Re-associate the call from a to b (in-process: the emulator has no association write
    # routes). HubSpot does not bump the call's hs_lastmodifieddate for this.
    with store.lock:
        store.assoc[int(call_id)].pop(int(a))
        store.assoc[int(a)].pop(int(call_id))
        store.associate("calls", int(call_id), "contacts", int(b), 194)
        store.version += 1
    t1 = T0 + timedelta(minutes=10)
    freeze(hs, t1)
    hs.reset_counters()
    out = cycle(client, t1, cursors)
    assert not any(p.activity_ids for p in out["calls"])  # the calls stream cannot see it
    assert out["associations"] == [] and hs.calls(ASSOC) == 0  # not due: no call at all

    t2 = T0 + timedelta(hours=1, minutes=1)
    freeze(hs, t2)
    out = cycle(client, t2, cursors)
    page = next(p for p in out["associations"] if p.activity_ids)
    assert page.activity_ids == (call_id,)
    assert pairs_of(out["associations"]) == {f"{call_id}/{b}"}


def test_archived_and_merged_contacts_and_archived_engagements(
    hs: Any, client: Any, store: Any
) -> None:
    freeze(hs, T0 - timedelta(hours=2))
    at = iso(T0 - timedelta(hours=1))
    hs.seed(
        {
            "leads": [lead(i, T0 - timedelta(days=1)) for i in range(4)],
            "touches": [{"id": "t1", "lead": "l2", "kind": "email", "at": at, "created_at": at}],
        }
    )
    freeze(hs, T0)
    cursors: dict[str, str | None] = {}
    out = cycle(client, T0, cursors)
    c0, c1, _c2, c3 = sorted(str(r.id) for r in store.buckets["contacts"].records.values())
    (email,) = [a for p in out["emails"] for a in p.activity_ids]
    assert not any(p.deleted_leads for p in out["archived"])

    archived_at = T0 + timedelta(minutes=1)
    freeze(hs, archived_at)
    hs.archive([c0])
    hs.merge(c1, c3)
    hs.archive([email], "emails")
    t1 = T0 + timedelta(minutes=20)
    freeze(hs, t1)
    out = cycle(client, t1, cursors)
    assert leads_of(out["contacts"]).keys() == {c1}
    assert {k: v for p in out["contacts"] for k, v in p.merges.items()} == {c3: c1}
    assert {k: v for p in out["archived"] for k, v in p.deleted_leads.items()} == {c0: archived_at}
    assert {r for p in out["archived"] for r in p.removed_activity_ids} == {email}


def test_a_bad_record_is_quarantined_and_the_rest_goes_on(hs: Any, client: Any) -> None:
    freeze(hs, T0 - timedelta(hours=1))
    hs.seed({"leads": [lead(i, T0 - timedelta(days=1)) for i in range(3)]})
    ids = [str(r["id"]) for r in hs.api("GET", "/crm/v3/objects/contacts")["results"]]
    hs.api(
        "PATCH",
        f"/crm/v3/objects/contacts/{ids[1]}",
        {"properties": {"hubspot_owner_id": "bob@example.com"}},
    )
    freeze(hs, T0)
    pages = pages_of(client, "contacts", T0)
    assert leads_of(pages).keys() == {ids[0], ids[2]}
    (bad,) = [q for p in pages for q in p.quarantined]
    assert (bad.stream, bad.record_id) == ("contacts", ids[1])
    assert "owner format" in bad.reason and "bob@example.com" in bad.excerpt
