"""The query and rendering caches of the Salesforce emulator stay invisible: pages are
byte-identical to rendering from scratch, and writes show up in the next page or query."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import JSONResponse

from sla_sync.sandbox.salesforce import query as q
from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator

BASE = "/services/data/v59.0"
QUERIES = [
    (
        "SELECT Id, FirstName, LastName, Email, Company, Status, Rating, OwnerId, Owner.Name, "
        "CreatedDate, SystemModstamp, IsDeleted, NumberOfEmployees FROM Lead "
        "ORDER BY SystemModstamp"
    ),
    "SELECT Owner.Name, Id, Owner.Email, MasterRecordId FROM Lead",
    (
        "SELECT Id, Who.Name, Who.Type, Subject, ActivityDate, Owner.Alias, CompletedDateTime "
        "FROM Task"
    ),
    "SELECT Id, Manager.Name, Name, IsActive FROM User",
    "SELECT Id, Field, OldValue, NewValue, CreatedDate FROM LeadHistory",
]


@pytest.fixture(scope="module")
def emulator() -> SalesforceEmulator:
    emu = SalesforceEmulator()
    emu.seed({"generator": {"leads": 300, "seed": 3}})
    return emu


def _page(emu: SalesforceEmulator, text: str, *, include_deleted: bool = False) -> bytes:
    prepared = q.prepare_cached(emu.org, text, include_deleted=include_deleted, now=emu.clock.now())
    rows = prepared.rows[:2000]
    records = q.render_json(rows, prepared.schema.name, prepared.columns, BASE, emu.org)
    return q.page_body(len(prepared.rows), False, f"{BASE}/query/01g-2000", records)


def _reference(emu: SalesforceEmulator, text: str, *, include_deleted: bool = False) -> bytes:
    prepared = q.prepare(emu.org, text, include_deleted=include_deleted, now=emu.clock.now())
    rows = prepared.rows[:2000]
    body: dict[str, Any] = {
        "totalSize": len(prepared.rows),
        "done": False,
        "nextRecordsUrl": f"{BASE}/query/01g-2000",
        "records": q.render(rows, prepared.schema.name, prepared.columns, BASE, emu.org),
    }
    return bytes(JSONResponse(body).body)


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("include_deleted", [False, True])
def test_pages_are_byte_identical_to_json_response(
    emulator: SalesforceEmulator, text: str, include_deleted: bool
) -> None:
    expected = _reference(emulator, text, include_deleted=include_deleted)
    assert _page(emulator, text, include_deleted=include_deleted) == expected
    assert _page(emulator, text, include_deleted=include_deleted) == expected  # from the caches


def test_writes_show_up_in_cached_queries_and_relationships() -> None:
    emu = SalesforceEmulator()
    emu.seed({"generator": {"leads": 50, "seed": 5}})
    org, now, user = emu.org, emu.clock.now(), emu.demo_user_id
    text = "SELECT Id, Rating, Owner.Name FROM Lead WHERE Rating = 'Hot' ORDER BY Id"
    before = _page(emu, text)
    lead = next(r for r in org.records["Lead"].values() if not r["IsDeleted"])
    org.update("Lead", lead["Id"], {"Rating": "Hot"}, user_id=user, now=now, auto_assign=False)
    after = _page(emu, text)
    assert after == _reference(emu, text) and lead["Id"].encode() in after
    org.update("Lead", lead["Id"], {"Rating": "Cold"}, user_id=user, now=now, auto_assign=False)
    assert lead["Id"].encode() not in _page(emu, text) and _page(emu, text) == before
    # An owner's new name reaches the leads' pre-rendered Owner.Name.
    owner = org.records["User"][lead["OwnerId"]]
    org.update(
        "User", owner["Id"], {"LastName": "Renamed"}, user_id=user, now=now, auto_assign=False
    )
    text = "SELECT Id, Owner.Name FROM Lead"
    assert b"Renamed" in _page(emu, text) and _page(emu, text) == _reference(emu, text)
    # A delete leaves /query and stays in /queryAll.
    org.delete("Lead", lead["Id"], user_id=user, now=now)
    assert lead["Id"].encode() not in _page(emu, text)
    assert lead["Id"].encode() in _page(emu, text, include_deleted=True)


def test_relative_dates_are_not_cached_across_days() -> None:
    emu = SalesforceEmulator()
    emu.seed({"generator": {"leads": 20, "seed": 5}})
    text = "SELECT COUNT() FROM Lead WHERE CreatedDate = LAST_N_DAYS:1"
    now = emu.clock.now()
    first = q.prepare_cached(emu.org, text, include_deleted=False, now=now)
    assert q.prepare_cached(emu.org, text, include_deleted=False, now=now) is first
    later = now.replace(year=now.year + 5)
    assert q.prepare_cached(emu.org, text, include_deleted=False, now=later) is not first
