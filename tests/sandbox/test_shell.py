"""The control API and fault injection every emulator gets from the sandbox shell.

Driven over real HTTP against the HubSpot emulator (the shell is the same for Salesforce); the
vendor-facing behaviour is in the fidelity suites.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sla_sync.sandbox.hubspot import create_app
from sla_sync.sandbox.server import ServerThread

AUTH = {"Authorization": "Bearer pat-sandbox-demo"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with ServerThread(create_app()) as thread:
        yield thread.url


@pytest.fixture
def url(server: str) -> str:
    requests.post(f"{server}/__sandbox/reset", timeout=10).raise_for_status()
    return server


def control(url: str, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, f"{url}/__sandbox{path}", json=body, timeout=10)


def create_contact(url: str, email: str) -> requests.Response:
    return requests.post(
        f"{url}/crm/v3/objects/contacts",
        json={"properties": {"email": email}},
        headers=AUTH,
        timeout=10,
    )


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_clock_can_be_frozen_set_and_advanced(url: str) -> None:
    assert control(url, "GET", "/clock").json()["frozen"] is False
    frozen = control(url, "POST", "/clock", {"now": "2026-11-20T18:00:00Z", "frozen": True}).json()
    assert frozen == {"now": "2026-11-20T18:00:00.000Z", "frozen": True}
    advanced = control(url, "POST", "/clock", {"advance_seconds": 3600}).json()
    assert advanced["now"] == "2026-11-20T19:00:00.000Z"
    # Records are stamped with the sandbox's time, not the machine's.
    created = create_contact(url, "clock@example.com").json()
    assert created["createdAt"] == "2026-11-20T19:00:00.000Z"
    # Reset goes back to real time.
    control(url, "POST", "/reset")
    now = parse(control(url, "GET", "/clock").json()["now"])
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)


def test_bad_clock_value_is_a_400(url: str) -> None:
    response = control(url, "POST", "/clock", {"now": "yesterday"})
    assert response.status_code == 400
    assert "error" in response.json()


def test_status_fault_fires_the_given_number_of_times_with_the_vendor_body(url: str) -> None:
    rule = {"kind": "status", "status": 503, "path": "/crm/v3/objects/contacts", "times": 2}
    assert control(url, "POST", "/faults", rule).json()["faults"][0]["times"] == 2
    statuses = []
    for _ in range(3):
        response = requests.get(f"{url}/crm/v3/objects/contacts", headers=AUTH, timeout=10)
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.json()["status"] == "error"  # HubSpot's error shape
    assert statuses == [503, 503, 200]
    assert control(url, "GET", "/faults").json()["faults"] == []


def test_429_fault_carries_retry_after_only_when_asked(url: str) -> None:
    control(url, "POST", "/faults", [{"kind": "status", "status": 429, "retry_after": 2}])
    control(url, "POST", "/faults", [{"kind": "status", "status": 429}])
    first = requests.get(f"{url}/crm/v3/objects/contacts", headers=AUTH, timeout=10)
    second = requests.get(f"{url}/crm/v3/objects/contacts", headers=AUTH, timeout=10)
    assert (first.status_code, first.headers.get("Retry-After")) == (429, "2")
    assert (second.status_code, second.headers.get("Retry-After")) == (429, None)


def test_latency_fault_delays_the_answer(url: str) -> None:
    control(url, "POST", "/faults", {"kind": "latency", "latency_ms": 300})
    started = time.monotonic()
    response = requests.get(f"{url}/crm/v3/objects/contacts", headers=AUTH, timeout=10)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_commit_then_fail_commits_the_write_and_reports_an_error(url: str) -> None:
    control(
        url,
        "POST",
        "/faults",
        {"kind": "commit_then_fail", "method": "POST", "path": "/crm/v3/objects/contacts"},
    )
    assert create_contact(url, "committed@example.com").status_code == 502
    listed = requests.get(
        f"{url}/crm/v3/objects/contacts", params={"properties": "email"}, headers=AUTH, timeout=10
    ).json()
    assert [r["properties"]["email"] for r in listed["results"]] == ["committed@example.com"]


def test_rewrite_status_keeps_the_body_with_another_code(url: str) -> None:
    control(url, "POST", "/faults", {"kind": "rewrite_status", "status": 200, "method": "POST"})
    response = create_contact(url, "drift@example.com")
    assert response.status_code == 200  # HubSpot normally answers 201 here
    assert response.json()["properties"]["email"] == "drift@example.com"


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"kind": "explode"}, "kind must be one of"),
        ({"kind": "status", "status": 200}, "error status"),
        ({"kind": "status", "status": 503, "times": 0}, "times"),
        ({"kind": "latency", "latency_ms": -1}, "latency_ms"),
        ({"kind": "status", "status": 429, "retry_after": "soon"}, "retry_after"),
        ({"kind": "rewrite_status", "status": 99}, "rewrite_status"),
    ],
)
def test_malformed_fault_rules_are_refused(url: str, rule: dict[str, object], says: str) -> None:
    response = control(url, "POST", "/faults", rule)
    assert response.status_code == 400
    assert says in response.json()["error"]
    assert control(url, "GET", "/faults").json()["faults"] == []


def test_counters_key_requests_by_route_template_and_skip_the_control_api(url: str) -> None:
    created = create_contact(url, "count@example.com").json()
    for _ in range(2):
        requests.get(f"{url}/crm/v3/objects/contacts/{created['id']}", headers=AUTH, timeout=10)
    requests.get(f"{url}/crm/v3/objects/contacts/999999", headers=AUTH, timeout=10)
    counters = control(url, "GET", "/counters").json()
    by_endpoint = counters["by_endpoint"]
    # One key for every contact id, none for /__sandbox/ calls.
    assert [count for key, count in by_endpoint.items() if key.startswith("GET")] == [3]
    assert not any("__sandbox" in key for key in by_endpoint)
    assert counters["total"] == 4
    assert counters["by_status"] == {"200": 2, "201": 1, "404": 1}
    recent = control(url, "GET", "/requests?limit=2").json()["requests"]
    assert [r["status"] for r in recent] == [200, 404]
    assert all("pat-sandbox-demo" not in str(r) for r in recent)
    control(url, "DELETE", "/counters")
    assert control(url, "GET", "/counters").json()["total"] == 0


def test_seed_rejects_a_malformed_body(url: str) -> None:
    response = requests.post(
        f"{url}/__sandbox/seed", data=b"{not json", timeout=10, headers={"Content-Type": "x"}
    )
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]
