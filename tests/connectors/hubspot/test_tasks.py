"""Alert tasks through the real connector against the emulator: created once with the marker,
assignee, due date, priority and contact association; found again by marker; a create that
committed and then failed is never sent twice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Sandbox

from sla_sync.connectors.base import (
    RetriableConnectorError,
    SkippableRecordError,
    TaskPriority,
    TaskRequest,
)
from sla_sync.connectors.hubspot.markers import has_sla_sync_marker
from sla_sync.connectors.hubspot.tasks import reference_token

TASKS = "/crm/v3/objects/tasks"
DUE = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def _portal(hs: Sandbox) -> tuple[str, str]:
    """A seeded portal's first contact and an owner id."""
    hs.seed({"generator": {"leads": 5, "seed": 3, "start": "2026-10-01T00:00:00Z", "months": 1}})
    contact = str(hs.api("GET", "/crm/v3/objects/contacts?limit=1")["results"][0]["id"])
    owner = str(hs.api("GET", "/crm/v3/owners?limit=1")["results"][0]["id"])
    return contact, owner


def _request(
    contact: str, owner: str | None, key: str = "smarketing-na:1:speed:1:breach"
) -> TaskRequest:
    marker = f"[sla-sync:{key}]"
    return TaskRequest(
        marker=marker,
        lead_id=contact,
        subject=f"SLA breached: Jane Doe {marker}",
        body="Lead: Jane Doe\nTo do: call now.",
        due_at=DUE,
        owner_id=owner,
        priority=TaskPriority.HIGH,
    )


def _tasks(hs: Sandbox) -> list[dict[str, Any]]:
    props = (
        "hs_task_subject,hs_task_body,hs_timestamp,hs_task_priority,hs_task_status,hubspot_owner_id"
    )
    page = hs.api("GET", f"{TASKS}?limit=100&properties={props}&associations=contacts")
    return list(page["results"])


def test_create_task_as_a_rep_sees_it_and_find_it_by_marker(hs: Sandbox, connector: Any) -> None:
    contact, owner = _portal(hs)
    request = _request(contact, owner)

    result = connector.create_task(request)

    [task] = [t for t in _tasks(hs) if t["id"] == result.task_id]
    props = task["properties"]
    assert props["hs_task_subject"] == request.subject
    assert has_sla_sync_marker(props["hs_task_subject"])  # the pull's test: never a touch
    assert props["hubspot_owner_id"] == owner
    assert props["hs_task_priority"] == "HIGH"
    assert props["hs_task_status"] == "NOT_STARTED"
    assert datetime.fromisoformat(props["hs_timestamp"].replace("Z", "+00:00")) == DUE
    assert "call now" in props["hs_task_body"]
    linked = [a["id"] for a in task["associations"]["contacts"]["results"]]
    assert linked == [contact]

    other = _request(contact, owner, key="smarketing-na:1:speed:1:at_risk")
    found = connector.find_tasks([request.marker, other.marker])
    assert found == {request.marker: result.task_id}


def test_find_tasks_needs_the_exact_marker(hs: Sandbox, connector: Any) -> None:
    contact, _ = _portal(hs)
    request = _request(contact, None)
    # A rep copies the reference line into a task of their own: not sla-sync's task.
    hs.api(
        "POST",
        TASKS,
        {
            "properties": {
                "hs_timestamp": "2026-11-24T15:00:00.000Z",
                "hs_task_subject": "my own reminder",
                "hs_task_body": f"see sla-sync reference: {reference_token(request.marker)}",
            }
        },
    )
    assert connector.find_tasks([request.marker]) == {}
    created = connector.create_task(request)
    assert connector.find_tasks([request.marker]) == {request.marker: created.task_id}


def test_a_create_that_committed_then_failed_is_not_sent_again(hs: Sandbox, connector: Any) -> None:
    contact, owner = _portal(hs)
    request = _request(contact, owner)
    hs.fault(kind="commit_then_fail", method="POST", path=TASKS, status=502, times=1)

    with pytest.raises(RetriableConnectorError):
        connector.create_task(request)

    # One attempt, one task: a 5xx on a create is never retried blindly ...
    assert (
        len([t for t in _tasks(hs) if t["properties"]["hs_task_subject"] == request.subject]) == 1
    )
    # ... and the marker finds it.
    assert list(connector.find_tasks([request.marker])) == [request.marker]


def test_a_refused_task_is_skippable(hs: Sandbox, connector: Any) -> None:
    _portal(hs)
    with pytest.raises(SkippableRecordError):
        connector.create_task(_request("999999999", None))  # no such contact: 400
    assert [t for t in _tasks(hs) if has_sla_sync_marker(t["properties"]["hs_task_subject"])] == []


def test_due_date_is_sent_in_utc_milliseconds(hs: Sandbox, connector: Any) -> None:
    contact, owner = _portal(hs)
    local = DUE.astimezone(ZoneInfo("America/New_York"))  # 10:00 in New York
    request = dataclasses.replace(_request(contact, owner), due_at=local)
    created = connector.create_task(request)
    [task] = [t for t in _tasks(hs) if t["id"] == created.task_id]
    assert task["properties"]["hs_timestamp"].startswith("2026-11-24T15:00:00")
