"""Archived activities (``salesforce-api.md`` §2.3, §9.3): only queryAll returns them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests
from simple_salesforce import Salesforce

if TYPE_CHECKING:
    from tests.sandbox.conftest_salesforce import SalesforceSandbox

pytest_plugins = ["tests.sandbox.conftest_salesforce"]

TASKS = "SELECT Id, Subject, IsArchived FROM Task ORDER BY Subject"


def subjects(result: dict[str, object]) -> list[tuple[str, bool]]:
    return [(r["Subject"], r["IsArchived"]) for r in result["records"]]  # type: ignore[attr-defined]


def test_3_query_tasks_and_events_older_than_365_days_are_archived(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    salesforce.control("POST", "/clock", {"now": "2026-11-20T18:00:00Z", "frozen": True})
    lead = sf.Lead.create({"LastName": "A", "Company": "C"})["id"]
    sf.Task.create({"WhoId": lead, "Subject": "old", "ActivityDate": "2025-11-19"})
    sf.Task.create({"WhoId": lead, "Subject": "edge", "ActivityDate": "2025-11-20"})
    sf.Task.create({"WhoId": lead, "Subject": "new", "ActivityDate": "2026-11-01"})
    sf.Task.create({"WhoId": lead, "Subject": "undated"})
    event = sf.Event.create(
        {
            "WhoId": lead,
            "Subject": "meeting",
            "ActivityDateTime": "2025-01-10T15:00:00.000+0000",
            "DurationInMinutes": 30,
        }
    )["id"]
    assert subjects(sf.query(TASKS)) == [("edge", False), ("new", False), ("undated", False)]
    assert subjects(sf.query_all(TASKS, include_deleted=True)) == [
        ("edge", False),
        ("new", False),
        ("old", True),
        ("undated", False),
    ]
    assert sf.query("SELECT Id FROM Event")["totalSize"] == 0
    archived = sf.query_all("SELECT Id, IsArchived FROM Event", include_deleted=True)["records"]
    assert [(r["Id"], r["IsArchived"]) for r in archived] == [(event, True)]
    # An archived record is still readable by id.
    assert sf.Event.get(event)["IsArchived"] is True

    # A day later the sandbox clock archives the edge task too (cached results are not reused).
    salesforce.control("POST", "/clock", {"advance_seconds": 24 * 3600})
    assert subjects(sf.query(TASKS)) == [("new", False), ("undated", False)]
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 2
    assert sf.query("SELECT COUNT() FROM Task", include_deleted=True)["totalSize"] == 4


def test_3_query_archived_tasks_hidden_from_subqueries_except_query_all(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    salesforce.control("POST", "/clock", {"now": "2026-11-20T18:00:00Z", "frozen": True})
    lead = sf.Lead.create({"LastName": "A", "Company": "C"})["id"]
    sf.Task.create({"WhoId": lead, "Subject": "old", "ActivityDate": "2024-06-01"})
    soql = "SELECT Id, (SELECT Subject FROM Tasks) FROM Lead"
    assert sf.query(soql)["records"][0]["Tasks"] is None
    tasks = sf.query_all(soql, include_deleted=True)["records"][0]["Tasks"]
    assert [r["Subject"] for r in tasks["records"]] == ["old"]


def test_3_query_explicitly_archived_via_control_route(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    lead = sf.Lead.create({"LastName": "A", "Company": "C"})["id"]
    task = sf.Task.create({"WhoId": lead, "Subject": "recent"})["id"]
    assert subjects(sf.query(TASKS)) == [("recent", False)]  # cached before the change
    assert salesforce.control("POST", "/salesforce/archive", {"ids": [task[:15]]}) == {
        "changed": [task]
    }
    assert sf.query(TASKS)["totalSize"] == 0
    assert subjects(sf.query_all(TASKS, include_deleted=True)) == [("recent", True)]
    salesforce.control("POST", "/salesforce/archive", {"ids": [task], "archived": False})
    assert subjects(sf.query(TASKS)) == [("recent", False)]
    with pytest.raises(requests.HTTPError) as info:
        salesforce.control("POST", "/salesforce/archive", {"ids": [lead]})
    assert info.value.response.status_code == 404


def test_3_query_seeded_archived_touch_only_in_query_all(salesforce: SalesforceSandbox) -> None:
    salesforce.control("POST", "/clock", {"now": "2026-11-20T18:00:00Z", "frozen": True})
    owner = {
        "id": "o001",
        "first_name": "Rep",
        "last_name": "Owner",
        "email": "rep@example.com",
        "team": "ny-inbound",
        "timezone": "America/New_York",
        "manager_id": None,
        "active": True,
    }
    lead = {
        "id": "l001",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "company": "Acme",
        "owner_id": "o001",
        "status": "new",
        "created_at": "2026-11-01T10:00:00Z",
    }
    touches = [
        {"lead": "l001", "kind": "call", "at": "2026-11-02T10:00:00Z", "subject": "kept"},
        {
            "lead": "l001",
            "kind": "email",
            "at": "2026-11-03T10:00:00Z",
            "subject": "flagged",
            "archived": True,
        },
    ]
    salesforce.control("POST", "/seed", {"owners": [owner], "leads": [lead], "touches": touches})
    sf = salesforce.login()
    assert subjects(sf.query(TASKS)) == [("kept", False)]
    assert subjects(sf.query_all(TASKS, include_deleted=True)) == [
        ("flagged", True),
        ("kept", False),
    ]
