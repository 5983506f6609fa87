"""HubSpot emulator behaviour through the real client: search semantics, lifecycle, property
history, modification stamps, archived records, merges, owners, properties API, associations and
seeding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicMergeInput,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

T0 = "2026-11-20T12:00:00Z"


def _freeze(env: Any, at: str = T0) -> None:
    env.control("POST", "clock", {"now": at, "frozen": True})


def _make(env: Any, **props: str) -> str:
    api = env.client().crm.contacts.basic_api
    return str(api.create(SimplePublicObjectInputForCreate(properties=props)).id)


def _search(env: Any, *groups: list[dict[str, Any]], **kw: Any) -> Any:
    request = PublicObjectSearchRequest(filter_groups=[{"filters": g} for g in groups], **kw)
    return env.client().crm.contacts.search_api.do_search(request)


def test_search_or_of_ands_and_operators(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "ratelimits", {"tier": "off"})  # many searches in one second
    a = _make(hubspot_env, email="ann@acme.com", firstname="Ann", hubspotscore="80")
    b = _make(hubspot_env, email="bob@acme.com", firstname="Bob", hubspotscore="20")
    c = _make(hubspot_env, email="cy@other.io", hubspotscore="50", lifecyclestage="lead")

    def ids(*groups: list[dict[str, Any]], **kw: Any) -> list[str]:
        return [r.id for r in _search(hubspot_env, *groups, limit=100, **kw).results]

    assert ids([{"propertyName": "firstname", "operator": "EQ", "value": "ANN"}]) == [a]
    assert ids([{"propertyName": "hubspotscore", "operator": "GTE", "value": "50"}]) == [a, c]
    assert ids(
        [{"propertyName": "hubspotscore", "operator": "BETWEEN", "value": "20", "highValue": "50"}]
    ) == [b, c]
    assert ids([{"propertyName": "firstname", "operator": "NOT_HAS_PROPERTY"}]) == [c]
    assert ids([{"propertyName": "firstname", "operator": "HAS_PROPERTY"}]) == [a, b]
    assert ids(
        [{"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@acme.com"}]
    ) == [
        a,
        b,
    ]
    assert ids(
        [{"propertyName": "email", "operator": "NOT_CONTAINS_TOKEN", "value": "*@acme.com"}]
    ) == [c]
    assert ids([{"propertyName": "firstname", "operator": "IN", "values": ["ann", "bob"]}]) == [
        a,
        b,
    ]
    assert ids([{"propertyName": "firstname", "operator": "IN", "values": ["Ann"]}]) == []
    assert ids([{"propertyName": "hubspotscore", "operator": "NOT_IN", "values": ["20"]}]) == [a, c]
    assert ids([{"propertyName": "hubspotscore", "operator": "NEQ", "value": "20"}]) == [a, c]
    assert ids([{"propertyName": "hubspotscore", "operator": "LT", "value": "50"}]) == [b]
    assert ids([{"propertyName": "lifecyclestage", "operator": "EQ", "value": "LEAD"}]) == []
    # OR of two groups, each an AND
    assert ids(
        [
            {"propertyName": "firstname", "operator": "EQ", "value": "ann"},
            {"propertyName": "hubspotscore", "operator": "GT", "value": "90"},
        ],
        [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}],
    ) == [c]
    sorted_desc = ids(sorts=[{"propertyName": "hubspotscore", "direction": "DESCENDING"}])
    assert sorted_desc == [a, c, b]


def test_search_request_limits(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "ratelimits", {"tier": "off"})
    f = {"propertyName": "email", "operator": "HAS_PROPERTY"}
    for groups in ([[f]] * 6, [[f] * 7], [[f] * 6] * 3 + [[f]]):
        with pytest.raises(ApiException) as caught:
            _search(hubspot_env, *groups)
        assert caught.value.status == 400
    with pytest.raises(ApiException):
        _search(
            hubspot_env,
            sorts=[
                {"propertyName": "email", "direction": "ASCENDING"},
                {"propertyName": "hs_object_id", "direction": "ASCENDING"},
            ],
        )


def test_search_excludes_archived_and_datetime_filters(hubspot_env: Any) -> None:
    _freeze(hubspot_env)
    keep = _make(hubspot_env, email="keep@example.com")
    gone = _make(hubspot_env, email="gone@example.com")
    hubspot_env.client().crm.contacts.basic_api.archive(gone)
    ms = "1795176000000"  # T0
    found = _search(
        hubspot_env, [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": ms}]
    )
    assert [r.id for r in found.results] == [keep] and found.total == 1


def test_archived_list_and_batch_read(hubspot_env: Any) -> None:
    _freeze(hubspot_env)
    keep = _make(hubspot_env, email="keep@example.com")
    gone = _make(hubspot_env, email="gone@example.com")
    client = hubspot_env.client().crm.contacts
    client.basic_api.archive(gone)
    live = client.basic_api.get_page(archived=False).results
    archived = client.basic_api.get_page(archived=True).results
    assert [r.id for r in live] == [keep]
    assert [r.id for r in archived] == [gone] and archived[0].archived is True
    assert archived[0].archived_at is not None
    out = client.batch_api.read(BatchReadInputSimplePublicObjectId(inputs=[{"id": gone}]))
    assert out.num_errors == 1 and out.errors[0].category == "OBJECT_NOT_FOUND"


def test_lifecycle_forward_only_dates_and_history(hubspot_env: Any) -> None:
    _freeze(hubspot_env)
    api = hubspot_env.client().crm.contacts.basic_api
    cid = _make(hubspot_env, email="l@example.com", lifecyclestage="lead")
    hubspot_env.control("POST", "clock", {"advance_seconds": 3600})
    api.update(
        cid, SimplePublicObjectInput(properties={"lifecyclestage": "marketingqualifiedlead"})
    )
    with pytest.raises(ApiException) as caught:
        api.update(cid, SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    assert caught.value.status == 400
    hubspot_env.control("POST", "clock", {"advance_seconds": 60})
    api.update(cid, SimplePublicObjectInput(properties={"lifecyclestage": ""}))
    api.update(cid, SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    rec = api.get_by_id(
        cid,
        properties=[
            "lifecyclestage",
            "hs_v2_date_entered_lead",
            "hs_v2_date_entered_marketingqualifiedlead",
            "hs_lifecyclestage_marketingqualifiedlead_date",
            "hs_v2_date_exited_lead",
        ],
        properties_with_history=["lifecyclestage"],
    )
    p = rec.properties
    assert p["lifecyclestage"] == "lead"
    assert p["hs_v2_date_entered_marketingqualifiedlead"] == "2026-11-20T13:00:00.000Z"
    assert p["hs_lifecyclestage_marketingqualifiedlead_date"] == "2026-11-20T13:00:00.000Z"
    assert p["hs_v2_date_entered_lead"] == "2026-11-20T13:01:00.000Z"
    history = rec.properties_with_history["lifecyclestage"]
    assert [h.value for h in history] == ["lead", "", "marketingqualifiedlead", "lead"]
    assert all(h.source_type == "API" for h in history)


def test_writes_bump_lastmodifieddate(hubspot_env: Any) -> None:
    _freeze(hubspot_env)
    client = hubspot_env.client().crm.contacts
    cid = _make(hubspot_env, email="m@example.com")
    hubspot_env.control("POST", "clock", {"advance_seconds": 5})
    client.basic_api.update(cid, SimplePublicObjectInput(properties={"firstname": "M"}))
    rec = client.basic_api.get_by_id(cid, properties=["lastmodifieddate", "hs_lastmodifieddate"])
    assert rec.properties["lastmodifieddate"] == "2026-11-20T12:00:05.000Z"
    assert rec.properties["hs_lastmodifieddate"] == "2026-11-20T12:00:05.000Z"
    hubspot_env.control("POST", "clock", {"advance_seconds": 5})
    client.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": cid, "properties": {"phone": "1"}}])
    )
    rec = client.basic_api.get_by_id(cid)
    assert rec.properties["lastmodifieddate"] == "2026-11-20T12:00:10.000Z"
    assert rec.updated_at.isoformat().startswith("2026-11-20T12:00:10")


def test_merge_winner_ids_and_old_id(hubspot_env: Any) -> None:
    client = hubspot_env.client().crm.contacts
    a = _make(hubspot_env, email="a@example.com")
    b = _make(hubspot_env, email="b@example.com", firstname="Bee")
    merged = client.basic_api.merge(PublicMergeInput(primary_object_id=a, object_id_to_merge=b))
    assert merged.id == a and merged.properties["hs_merged_object_ids"] == b
    assert merged.properties["firstname"] == "Bee"
    assert client.basic_api.get_by_id(b).id == a  # single GET of the old id resolves
    client.basic_api.update(b, SimplePublicObjectInput(properties={"phone": "9"}))
    assert client.basic_api.get_by_id(a, properties=["phone"]).properties["phone"] == "9"
    out = client.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": b, "properties": {"phone": "8"}}])
    )
    assert out.num_errors == 1 and out.errors[0].context["ids"] == [b]
    assert [r.id for r in client.basic_api.get_page().results] == [a]
    c = _make(hubspot_env, email="c@example.com")
    hubspot_env.control("POST", "hubspot/merge", {"primary": a, "merged": c})
    assert (
        client.basic_api.get_by_id(a, properties=["hs_merged_object_ids"]).properties[
            "hs_merged_object_ids"
        ]
        == f"{b};{c}"
    )


def test_owners_with_teams_and_archived(hubspot_env: Any) -> None:
    owners = [
        {"id": "o1", "first_name": "A", "last_name": "B", "email": "a@x.com", "team": "ny"},
        {"id": "o2", "first_name": "C", "last_name": "D", "email": "c@x.com", "team": "sf"},
        {"id": "o3", "first_name": "E", "last_name": "F", "email": "e@x.com", "active": False},
    ]
    hubspot_env.control("POST", "seed", {"owners": owners})
    api = hubspot_env.client().crm.owners.owners_api
    page = api.get_page(limit=1)
    assert page.results[0].teams[0].name == "ny" and page.results[0].teams[0].primary is True
    assert page.paging.next.after
    assert len(api.get_page(limit=100).results) == 2
    gone = api.get_page(archived=True).results
    assert len(gone) == 1 and gone[0].user_id is None
    assert api.get_by_id(page.results[0].id).email == "a@x.com"
    assert api.get_page(email="c@x.com").results[0].teams[0].name == "sf"


def test_properties_api_groups_and_custom_properties(hubspot_env: Any) -> None:
    props = hubspot_env.client().crm.properties
    group = props.groups_api.create(
        "contacts", PropertyGroupCreate(name="sla_sync", label="SLA sync", display_order=-1)
    )
    assert group is not None and group.name == "sla_sync"
    made = props.core_api.create(
        "contacts",
        PropertyCreate(
            name="sla_mql_breached",
            label="MQL SLA breached",
            type="enumeration",
            field_type="booleancheckbox",
            group_name="sla_sync",
            options=[{"label": "Yes", "value": "true", "hidden": False, "displayOrder": 0}],
        ),
    )
    assert made is not None and made.hubspot_defined is False
    stage = props.core_api.get_by_name("contacts", "lifecyclestage")
    assert [o.value for o in stage.options][:3] == ["subscriber", "lead", "marketingqualifiedlead"]
    names = {p.name for p in props.core_api.get_all("contacts").results}
    assert {"sla_mql_breached", "lastmodifieddate", "hs_merged_object_ids"} <= names
    cid = _make(hubspot_env, sla_mql_breached="true")
    assert (
        hubspot_env.client()
        .crm.contacts.basic_api.get_by_id(cid, properties=["sla_mql_breached"])
        .properties["sla_mql_breached"]
        == "true"
    )
    with pytest.raises(Exception) as caught:
        props.core_api.create(
            "contacts",
            PropertyCreate(
                name="sla_mql_breached",
                label="x",
                type="string",
                field_type="text",
                group_name="sla_sync",
            ),
        )
    assert getattr(caught.value, "status", None) == 409


def test_task_association_wrong_direction_and_get_with_associations(hubspot_env: Any) -> None:
    cid = _make(hubspot_env, email="a@example.com")
    tasks = hubspot_env.client().crm.objects.tasks.basic_api
    from hubspot.crm.objects.tasks.exceptions import ApiException as TaskApiException

    def spec(type_id: int) -> dict[str, Any]:
        return {
            "properties": {"hs_timestamp": "2026-11-24T09:00:00.000Z"},
            "associations": [
                {
                    "to": {"id": cid},
                    "types": [
                        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
                    ],
                }
            ],
        }

    with pytest.raises(TaskApiException) as caught:
        tasks.create(spec(203))
    assert caught.value.status == 400 and "expected: 0-1" in caught.value.body
    task = tasks.create(spec(204))
    got = tasks.get_by_id(task.id, associations=["contacts"])
    assert got.associations["contacts"].results[0].id == cid
    assert got.associations["contacts"].results[0].type == "task_to_contact"
    found = hubspot_env.client().crm.objects.search_api.do_search(
        "tasks",
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "associations.contact", "operator": "EQ", "value": cid}
                    ]
                }
            ]
        },
    )
    assert [r.id for r in found.results] == [task.id]


def test_seed_from_json_with_history_merges_and_touches(hubspot_env: Any) -> None:
    lead = {
        "id": "l1",
        "created_at": "2026-09-01T10:00:00Z",
        "email": "l1@example.com",
        "owner_history": [{"at": "2026-09-01T10:00:00Z", "owner": "o1"}],
        "stage_history": [
            {"at": "2026-09-01T10:00:00Z", "stage": "lead"},
            {"at": "2026-09-02T10:00:00Z", "stage": "marketingqualifiedlead"},
            {"at": "2026-09-03T10:00:00Z", "stage": "lead"},
            {"at": "2026-09-04T10:00:00Z", "stage": "marketingqualifiedlead"},
        ],
        "status_history": [{"at": "2026-09-02T10:00:00Z", "status": "NEW"}],
    }
    dup = {
        "id": "l2",
        "created_at": "2026-09-05T00:00:00Z",
        "email": "dup@example.com",
        "merged_into": "l1",
        "merged_at": "2026-09-06T00:00:00Z",
    }
    touch = {
        "id": "t1",
        "lead": "l1",
        "kind": "call",
        "at": "2026-09-02T11:00:00Z",
        "created_at": "2026-09-02T11:01:00Z",
        "owner": "o1",
        "direction": "outbound",
        "automated": False,
        "subject": "Intro",
    }
    owner = {"id": "o1", "first_name": "A", "last_name": "B", "email": "a@x.com", "team": "ny"}
    counts = hubspot_env.control(
        "POST", "seed", {"owners": [owner], "leads": [lead, dup], "touches": [touch]}
    )["seeded"]
    assert counts["contacts"] == 2 and counts["merges"] == 1 and counts["engagements"] == 1
    client = hubspot_env.client()
    rec = client.crm.contacts.basic_api.get_page(
        properties=[
            "hs_v2_date_entered_marketingqualifiedlead",
            "hubspot_owner_id",
            "hs_merged_object_ids",
            "hs_lead_status",
        ],
        properties_with_history=["lifecyclestage"],
    ).results[0]
    assert rec.properties["hs_v2_date_entered_marketingqualifiedlead"] == "2026-09-04T10:00:00.000Z"
    assert rec.properties["hs_merged_object_ids"]
    values = [h.value for h in rec.properties_with_history["lifecyclestage"]]
    assert values == ["marketingqualifiedlead", "lead", "", "marketingqualifiedlead", "lead"]
    owner_id = client.crm.owners.owners_api.get_page().results[0].id
    assert rec.properties["hubspot_owner_id"] == owner_id
    calls = client.crm.objects.calls.basic_api.get_page(
        properties=["hs_timestamp", "hs_call_direction"], associations=["contacts"]
    ).results
    assert calls[0].properties["hs_call_direction"] == "OUTBOUND"
    assert calls[0].associations["contacts"].results[0].id == rec.id


def test_seed_from_generator(hubspot_env: Any) -> None:
    pytest.importorskip("sla_sync.sandbox.seed")
    spec = {"leads": 200, "seed": 7, "start": "2026-09-01T00:00:00Z", "months": 1}
    counts = hubspot_env.control("POST", "seed", {"generator": spec})["seeded"]
    assert counts["contacts"] == 200 and counts["owners"] > 0
    assert (
        len(hubspot_env.client().crm.contacts.get_all())
        == 200 - counts["merges"] - counts["archived"]
    )


def test_unknown_property_error_body(hubspot_env: Any) -> None:
    api = hubspot_env.client().crm.contacts.basic_api
    with pytest.raises(ApiException) as caught:
        api.create(SimplePublicObjectInputForCreate(properties={"testproperty": "x"}))
    body = json.loads(caught.value.body)
    assert body["errors"][0]["context"] == {"propertyName": ["testproperty"]}
    with pytest.raises(ApiException) as dup:
        _make(hubspot_env, email="x@example.com")
        _make(hubspot_env, email="X@example.com")
    assert dup.value.status == 409 and json.loads(dup.value.body)["category"] == "CONFLICT"


def test_datetime_writes_normalise_and_history_per_property(hubspot_env: Any) -> None:
    _freeze(hubspot_env)
    client = hubspot_env.client().crm.contacts
    cid = _make(hubspot_env, email="d@example.com", firstname="A")
    written = {
        "2026-09-01T13:05:22Z": "2026-09-01T13:05:22.000Z",
        "2026-09-01T13:05:22.123Z": "2026-09-01T13:05:22.123Z",
        "2026-09-01T15:05:22+02:00": "2026-09-01T13:05:22.000Z",
        "1788267922000": "2026-09-01T13:05:22.000Z",
    }
    for i, (value, stored) in enumerate(written.items()):
        hubspot_env.control("POST", "clock", {"advance_seconds": 1})
        props = {"notes_last_contacted": value, "firstname": f"N{i}"}
        client.basic_api.update(cid, SimplePublicObjectInput(properties=props))
        rec = client.basic_api.get_by_id(cid, properties=["notes_last_contacted"])
        assert rec.properties["notes_last_contacted"] == stored
    for bad in ("2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "yesterday"):
        with pytest.raises(ApiException) as caught:
            props = {"notes_last_contacted": bad}
            client.basic_api.update(cid, SimplePublicObjectInput(properties=props))
        assert json.loads(caught.value.body)["errors"][0]["code"] == "INVALID_DATE"
    rec = client.basic_api.get_by_id(
        cid, properties_with_history=["firstname", "email", "notes_last_contacted", "phone"]
    )
    history = rec.properties_with_history
    assert [h.value for h in history["firstname"]] == ["N3", "N2", "N1", "N0", "A"]
    assert [h.timestamp.second for h in history["firstname"]] == [4, 3, 2, 1, 0]
    assert [h.value for h in history["email"]] == ["d@example.com"]
    assert len(history["notes_last_contacted"]) == 3  # two writes stored the same instant
    assert history["phone"] == []
