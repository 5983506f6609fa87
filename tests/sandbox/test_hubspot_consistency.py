"""HubSpot emulator SHOULD items: duplicate e-mail conflicts (single and batch), the search body
size limit, and the eventual-consistency knob (search lags writes by a configurable delay on the
sandbox clock), driven through the real ``hubspot-api-client`` or raw requests for wire checks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicUpsertObject,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException

T0 = "2026-11-20T12:00:00Z"


def _make(env: Any, **props: str) -> str:
    api = env.client().crm.contacts.basic_api
    made = api.create(SimplePublicObjectInputForCreate(properties=props))
    assert made is not None
    return str(made.id)


def _raw(env: Any, method: str, path: str, body: Any = None, data: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {env.token}", "Content-Type": "application/json"}
    return requests.request(
        method, env.url + path, json=body, data=data, headers=headers, timeout=30
    )


def _search_ids(env: Any, prop: str, value: str) -> list[str]:
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": prop, "operator": "EQ", "value": value}]}]
    )
    return [r.id for r in env.client().crm.contacts.search_api.do_search(request).results]


# ------------------------------------------------------------------------ duplicate e-mail


def test_duplicate_email_single_create_409_documented_body(hubspot_env: Any) -> None:
    first = _make(hubspot_env, email="dup@example.com")
    resp = _raw(
        hubspot_env,
        "POST",
        "/crm/v3/objects/contacts",
        {"properties": {"email": "DUP@example.com"}},
    )
    assert resp.status_code == 409
    body = resp.json()
    assert body["status"] == "error" and body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first}"
    assert body["correlationId"]
    with pytest.raises(ApiException) as caught:  # the real client raises with that body
        _make(hubspot_env, email="dup@example.com")
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["category"] == "CONFLICT"
    assert len(hubspot_env.client().crm.contacts.basic_api.get_page().results) == 1


def test_duplicate_email_freed_by_archive_can_be_reused(hubspot_env: Any) -> None:
    first = _make(hubspot_env, email="gone@example.com")
    hubspot_env.client().crm.contacts.basic_api.archive(first)
    assert _make(hubspot_env, email="gone@example.com") != first


def test_duplicate_email_update_single_409(hubspot_env: Any) -> None:
    a = _make(hubspot_env, email="a@example.com")
    b = _make(hubspot_env, email="b@example.com")
    api = hubspot_env.client().crm.contacts.basic_api
    with pytest.raises(ApiException) as caught:
        api.update(b, SimplePublicObjectInput(properties={"email": "A@example.com"}))
    body = json.loads(caught.value.body)
    assert caught.value.status == 409 and body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {a}"
    assert api.get_by_id(b).properties["email"] == "b@example.com"
    # re-sending a contact's own address is not a conflict
    api.update(a, SimplePublicObjectInput(properties={"email": "a@example.com"}))


def test_duplicate_email_batch_create_207_per_record_error(hubspot_env: Any) -> None:
    existing = _make(hubspot_env, email="taken@example.com")
    batch = hubspot_env.client().crm.contacts.batch_api
    out = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"email": "new1@example.com"}},
                {"properties": {"email": "taken@example.com"}, "objectWriteTraceId": "t-2"},
                {"properties": {"email": "new2@example.com"}},
                {"properties": {"email": "NEW1@example.com"}, "objectWriteTraceId": "t-4"},
            ]
        )
    )
    assert out is not None and out.num_errors == 2
    made = {r.properties["email"]: r.id for r in out.results}
    assert set(made) == {"new1@example.com", "new2@example.com"}
    taken, twin = out.errors
    assert taken.category == twin.category == "CONFLICT"
    assert taken.message == f"Contact already exists. Existing ID: {existing}"
    assert taken.context == {"objectWriteTraceId": ["t-2"]}
    assert twin.message == f"Contact already exists. Existing ID: {made['new1@example.com']}"
    assert twin.context == {"objectWriteTraceId": ["t-4"]}
    assert len(hubspot_env.client().crm.contacts.basic_api.get_page().results) == 3


def test_duplicate_email_batch_create_wire_status_207(hubspot_env: Any) -> None:
    _make(hubspot_env, email="taken@example.com")
    resp = _raw(
        hubspot_env,
        "POST",
        "/crm/v3/objects/contacts/batch/create",
        {"inputs": [{"properties": {"email": "taken@example.com"}}]},
    )
    assert resp.status_code == 207
    body = resp.json()
    assert body["status"] == "COMPLETE" and body["results"] == [] and body["numErrors"] == 1
    assert body["errors"][0]["status"] == "error"
    assert body["errors"][0]["category"] == "CONFLICT"


def test_duplicate_email_batch_update_207_per_record_error(hubspot_env: Any) -> None:
    a = _make(hubspot_env, email="a@example.com")
    b = _make(hubspot_env, email="b@example.com")
    c = _make(hubspot_env, email="c@example.com")
    d = _make(hubspot_env, email="d@example.com")
    batch = hubspot_env.client().crm.contacts.batch_api
    out = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": b, "properties": {"email": "a@example.com"}},  # taken by a
                {"id": c, "properties": {"email": "x@example.com"}},
                {"id": d, "properties": {"email": "X@example.com"}},  # taken earlier in batch
                {"id": a, "properties": {"firstname": "Ann"}},
            ]
        )
    )
    assert out is not None and out.num_errors == 2
    assert sorted(r.id for r in out.results) == sorted([a, c])
    by_id = {e.context["ids"][0]: e for e in out.errors}
    assert by_id[b].category == by_id[d].category == "CONFLICT"
    assert by_id[b].message == f"Contact already exists. Existing ID: {a}"
    assert by_id[d].message == f"Contact already exists. Existing ID: {c}"
    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            properties=["email"], inputs=[{"id": i} for i in (b, c, d)]
        )
    )
    assert {r.id: r.properties["email"] for r in read.results} == {
        b: "b@example.com",
        c: "x@example.com",
        d: "d@example.com",
    }


# ------------------------------------------------------------------------ search body limits


def test_search_body_over_3000_characters_is_400(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "ratelimits", {"tier": "off"})
    _make(hubspot_env, email="q@example.com")
    path = "/crm/v3/objects/contacts/search"

    def body_of(size: int) -> str:
        base = json.dumps({"query": "", "limit": 10})
        text = json.dumps({"query": "q" * (size - len(base)), "limit": 10})
        assert len(text) == size
        return text

    assert _raw(hubspot_env, "POST", path, data=body_of(3000)).status_code == 200
    resp = _raw(hubspot_env, "POST", path, data=body_of(3001))
    assert resp.status_code == 400
    body = resp.json()
    assert body["category"] == "VALIDATION_ERROR" and "3000" in body["message"]
    # characters, not bytes: 2,990 characters of multi-byte text are still within the limit
    wide = json.dumps({"query": "é" * 2970}, ensure_ascii=False)
    assert len(wide) <= 3000 < len(wide.encode())
    assert _raw(hubspot_env, "POST", path, data=wide.encode()).status_code == 200
    with pytest.raises(ApiException) as caught:  # the client sees the same 400
        hubspot_env.client().crm.contacts.search_api.do_search(
            PublicObjectSearchRequest(query="x" * 3001)
        )
    assert caught.value.status == 400


def test_search_body_limit_is_configurable(hubspot_env: Any) -> None:
    opts = hubspot_env.control("POST", "hubspot/options", {"max_body_chars": 100})
    assert opts["max_body_chars"] == 100
    resp = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", {"query": "q" * 100})
    assert resp.status_code == 400
    hubspot_env.control("POST", "reset")
    assert hubspot_env.control("GET", "hubspot/options")["max_body_chars"] == 3000


@pytest.mark.parametrize(
    "groups",
    [[1] * 6, [7], [6, 6, 6, 1]],
    ids=["6-groups", "7-filters-in-a-group", "19-filters"],
)
def test_search_filter_limits_are_400_validation_error(hubspot_env: Any, groups: list[int]) -> None:
    hubspot_env.control("POST", "ratelimits", {"tier": "off"})
    f = {"propertyName": "email", "operator": "HAS_PROPERTY"}
    body = {"filterGroups": [{"filters": [f] * n} for n in groups]}
    resp = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", body)
    assert resp.status_code == 400 and resp.json()["category"] == "VALIDATION_ERROR"
    # the documented maximum itself (5 groups, 18 filters, 6 in a group) is accepted
    ok = {"filterGroups": [{"filters": [f] * n} for n in (6, 6, 6)]}
    assert _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", ok).status_code == 200


# ------------------------------------------------------------------------ search delay


def _lagging(env: Any, seconds: float = 5) -> None:
    env.control("POST", "clock", {"now": T0, "frozen": True})
    env.control("POST", "ratelimits", {"tier": "off"})
    opts = env.control("POST", "hubspot/options", {"search_delay_seconds": seconds})
    assert opts["search_delay_seconds"] == seconds


def test_search_delay_defaults_to_zero_and_resets(hubspot_env: Any) -> None:
    assert hubspot_env.control("GET", "hubspot/options")["search_delay_seconds"] == 0
    cid = _make(hubspot_env, email="now@example.com")
    assert _search_ids(hubspot_env, "email", "now@example.com") == [cid]
    hubspot_env.control("POST", "hubspot/options", {"search_delay_seconds": 5})
    hubspot_env.control("POST", "reset")
    assert hubspot_env.control("GET", "hubspot/options")["search_delay_seconds"] == 0
    resp = hubspot_env.http.post(
        f"{hubspot_env.url}/__sandbox/hubspot/options", json={"search_delay_seconds": -1}
    )
    assert resp.status_code == 400


def test_search_delay_hides_new_records_from_search_only(hubspot_env: Any) -> None:
    _lagging(hubspot_env, 5)
    cid = _make(hubspot_env, email="late@example.com", firstname="Late")
    contacts = hubspot_env.client().crm.contacts
    assert _search_ids(hubspot_env, "email", "late@example.com") == []
    # GET, list and batch read see the record at once
    assert contacts.basic_api.get_by_id(cid).properties["email"] == "late@example.com"
    assert [r.id for r in contacts.basic_api.get_page().results] == [cid]
    read = contacts.batch_api.read(BatchReadInputSimplePublicObjectId(inputs=[{"id": cid}]))
    assert [r.id for r in read.results] == [cid]
    hubspot_env.control("POST", "clock", {"advance_seconds": 4.9})
    assert _search_ids(hubspot_env, "email", "late@example.com") == []
    hubspot_env.control("POST", "clock", {"advance_seconds": 0.1})
    assert _search_ids(hubspot_env, "email", "late@example.com") == [cid]


def test_search_delay_update_keeps_old_value_searchable_until_indexed(hubspot_env: Any) -> None:
    _lagging(hubspot_env, 5)
    cid = _make(hubspot_env, email="u@example.com", firstname="Old")
    hubspot_env.control("POST", "clock", {"advance_seconds": 5})
    assert _search_ids(hubspot_env, "firstname", "old") == [cid]
    api = hubspot_env.client().crm.contacts.basic_api
    api.update(cid, SimplePublicObjectInput(properties={"firstname": "New"}))
    assert api.get_by_id(cid).properties["firstname"] == "New"
    hubspot_env.control("POST", "clock", {"advance_seconds": 3})
    assert _search_ids(hubspot_env, "firstname", "new") == []
    assert _search_ids(hubspot_env, "firstname", "old") == [cid]
    request = PublicObjectSearchRequest(query="u@example.com")
    shown = hubspot_env.client().crm.contacts.search_api.do_search(request).results
    assert [r.properties["firstname"] for r in shown] == ["Old"]  # the index's copy is rendered
    hubspot_env.control("POST", "clock", {"advance_seconds": 2})
    assert _search_ids(hubspot_env, "firstname", "new") == [cid]
    assert _search_ids(hubspot_env, "firstname", "old") == []


def test_search_delay_each_write_indexed_after_its_own_delay(hubspot_env: Any) -> None:
    _lagging(hubspot_env, 10)
    cid = _make(hubspot_env, email="v@example.com", firstname="One")
    batch = hubspot_env.client().crm.contacts.batch_api
    hubspot_env.control("POST", "clock", {"advance_seconds": 6})
    batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": cid, "properties": {"firstname": "Two"}}]
        )
    )
    hubspot_env.control("POST", "clock", {"advance_seconds": 4})  # create indexed, update not
    assert _search_ids(hubspot_env, "firstname", "one") == [cid]
    assert _search_ids(hubspot_env, "firstname", "two") == []
    hubspot_env.control("POST", "clock", {"advance_seconds": 6})
    assert _search_ids(hubspot_env, "firstname", "two") == [cid]


def test_search_delay_zero_again_indexes_everything_at_once(hubspot_env: Any) -> None:
    _lagging(hubspot_env, 60)
    cid = _make(hubspot_env, email="w@example.com")
    assert _search_ids(hubspot_env, "email", "w@example.com") == []
    hubspot_env.control("POST", "hubspot/options", {"search_delay_seconds": 0})
    assert _search_ids(hubspot_env, "email", "w@example.com") == [cid]


# ------------------------------------------------------------------------ batch upsert


def test_batch_upsert_by_email_creates_and_updates(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "clock", {"now": T0, "frozen": True})
    old = _make(hubspot_env, email="known@example.com", firstname="Old")
    hubspot_env.control("POST", "clock", {"advance_seconds": 1})
    batch = hubspot_env.client().crm.contacts.batch_api
    out = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {
                    "idProperty": "email",
                    "id": "KNOWN@example.com",
                    "properties": {"firstname": "K"},
                },
                {
                    "idProperty": "email",
                    "id": "fresh@example.com",
                    "properties": {"firstname": "F"},
                },
            ]
        )
    )
    assert isinstance(out, BatchResponseSimplePublicUpsertObject)
    by_email = {r.properties["email"]: r for r in out.results}
    known, fresh = by_email["known@example.com"], by_email["fresh@example.com"]
    assert known.id == old and known.new is False and known.properties["firstname"] == "K"
    assert known.updated_at.isoformat().startswith("2026-11-20T12:00:01")
    assert fresh.new is True and fresh.properties["firstname"] == "F" and fresh.id != old
    contacts = hubspot_env.client().crm.contacts.basic_api
    assert contacts.get_by_id(fresh.id).properties["email"] == "fresh@example.com"
    assert len(contacts.get_page().results) == 2
    # a second run of the same upsert creates nothing
    again = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[{"idProperty": "email", "id": "fresh@example.com", "properties": {}}]
        )
    )
    assert [(r.id, r.new) for r in again.results] == [(fresh.id, False)]


def test_batch_upsert_wire_shape_and_errors(hubspot_env: Any) -> None:
    cid = _make(hubspot_env, email="a@example.com")
    path = "/crm/v3/objects/contacts/batch/upsert"
    resp = _raw(
        hubspot_env,
        "POST",
        path,
        {
            "inputs": [
                {"idProperty": "email", "id": "b@example.com", "properties": {"firstname": "B"}},
                {"id": "999999", "properties": {"firstname": "Nobody"}},  # by record id: missing
                {"id": cid, "properties": {"firstname": "A"}},
            ]
        },
    )
    assert resp.status_code == 207
    body = resp.json()
    assert body["status"] == "COMPLETE" and body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["999999"]}
    assert sorted((r["properties"]["firstname"], r["new"]) for r in body["results"]) == [
        ("A", False),
        ("B", True),
    ]
    assert {"startedAt", "completedAt"} <= set(body)
    dup = _raw(
        hubspot_env,
        "POST",
        path,
        {"inputs": [{"idProperty": "email", "id": e} for e in ("x@example.com", "X@example.com")]},
    )
    assert dup.status_code == 400
    unknown = _raw(
        hubspot_env,
        "POST",
        path,
        {"inputs": [{"idProperty": "email", "id": "y@example.com", "properties": {"nope": "1"}}]},
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert len(hubspot_env.client().crm.contacts.basic_api.get_page().results) == 2
    too_many = {"inputs": [{"idProperty": "email", "id": f"{i}@example.com"} for i in range(101)]}
    assert _raw(hubspot_env, "POST", path, too_many).status_code == 400


def test_batch_upsert_email_conflict_is_per_record(hubspot_env: Any) -> None:
    a = _make(hubspot_env, email="a@example.com")
    b = _make(hubspot_env, email="b@example.com")
    out = hubspot_env.client().crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {
                    "idProperty": "email",
                    "id": "b@example.com",
                    "properties": {"email": "a@example.com"},
                },
                {"idProperty": "email", "id": "c@example.com", "properties": {"firstname": "C"}},
            ]
        )
    )
    assert out.num_errors == 1 and out.errors[0].category == "CONFLICT"
    assert out.errors[0].message == f"Contact already exists. Existing ID: {a}"
    assert out.errors[0].context == {"ids": ["b@example.com"]}
    assert [r.properties["email"] for r in out.results] == ["c@example.com"]
    assert hubspot_env.client().crm.contacts.basic_api.get_by_id(b).properties["email"] == (
        "b@example.com"
    )


def test_search_delay_does_not_apply_to_seeded_records(hubspot_env: Any) -> None:
    _lagging(hubspot_env, 60)
    lead = {"id": "L1", "email": "seeded@example.com", "created_at": "2026-11-01T09:00:00Z"}
    hubspot_env.control("POST", "seed", {"leads": [lead]})
    assert len(_search_ids(hubspot_env, "email", "seeded@example.com")) == 1
    assert hubspot_env.control("GET", "hubspot/options")["search_delay_seconds"] == 60
