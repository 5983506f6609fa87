"""Fidelity of the HubSpot emulator: section 8 MUST items of the HubSpot reference, checked only
through the real ``hubspot-api-client`` 12 (and raw HTTP where the check is about wire details).

Each test is named after the MUST item it covers (``test_must_<item>``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException, UnauthorizedException
from hubspot.crm.objects.tasks import (
    SimplePublicObjectInputForCreate as TaskCreate,
)

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _contact(env: Any, email: str, **props: str) -> str:
    api = env.client().crm.contacts.basic_api
    made = api.create(SimplePublicObjectInputForCreate(properties={"email": email, **props}))
    assert made is not None
    return str(made.id)


def _raw(env: Any, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token or env.token}"}
    return requests.request(method, env.url + path, json=body, headers=headers, timeout=30)


# ----------------------------------------------------------------------------- routes


def test_must_routes_typed_and_generic_object_paths(hubspot_env: Any) -> None:
    client = hubspot_env.client()
    cid = _contact(hubspot_env, "a@example.com")
    typed = client.crm.contacts.basic_api.get_by_id(cid)
    generic = client.crm.objects.basic_api.get_by_id("contacts", cid)
    assert typed.id == generic.id == cid
    for kind in ("calls", "emails", "meetings", "tasks", "notes"):
        api = getattr(client.crm.objects, kind).basic_api
        made = api.create({"properties": {"hs_timestamp": "2026-11-20T10:00:00.000Z"}})
        assert made is not None and made.id
        assert client.crm.objects.basic_api.get_page(kind).results[0].id == made.id


def test_must_routes_owners_trailing_slash(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "seed", {"owners": [_owner("o1", "ny-inbound")]})
    page = hubspot_env.client().crm.owners.owners_api.get_page(limit=100)
    assert page is not None and page.results[0].email == "o1@example.com"
    assert _raw(hubspot_env, "GET", "/crm/v3/owners/").status_code == 200
    assert _raw(hubspot_env, "GET", "/crm/v3/owners").status_code == 200


# ----------------------------------------------------------------------------- status codes


def test_must_success_codes_match_the_client_response_types_map(hubspot_env: Any) -> None:
    c = hubspot_env.client().crm.contacts
    basic, batch, search = c.basic_api, c.batch_api, c.search_api
    _, status, _ = basic.create_with_http_info(SimplePublicObjectInputForCreate(properties={}))
    assert status == 201
    created, status, _ = batch.create_with_http_info(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": f"b{i}@example.com"}} for i in range(3)]
        )
    )
    assert status == 201 and created is not None and len(created.results) == 3
    ids = [r.id for r in created.results]
    read, status, _ = batch.read_with_http_info(
        BatchReadInputSimplePublicObjectId(inputs=[{"id": i} for i in ids], properties=["email"])
    )
    assert status == 200 and read is not None and len(read.results) == 3
    upd, status, _ = batch.update_with_http_info(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": i, "properties": {"firstname": "X"}} for i in ids]
        )
    )
    assert status == 200 and upd is not None
    found, status, _ = search.do_search_with_http_info(PublicObjectSearchRequest(limit=10))
    assert status == 200 and found is not None and found.total == 4
    one, status, _ = basic.update_with_http_info(ids[0], SimplePublicObjectInput(properties={}))
    assert status == 200 and one is not None
    _, status, _ = basic.archive_with_http_info(ids[0])
    assert status == 204
    _, status, _ = batch.archive_with_http_info(
        BatchInputSimplePublicObjectId(inputs=[{"id": ids[1]}])
    )
    assert status == 204


def test_must_archive_endpoints_return_204_with_empty_body(hubspot_env: Any) -> None:
    cid = _contact(hubspot_env, "z@example.com")
    resp = _raw(hubspot_env, "DELETE", f"/crm/v3/objects/contacts/{cid}")
    assert resp.status_code == 204 and resp.content == b""
    resp = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/batch/archive", {"inputs": []})
    assert resp.status_code == 204 and resp.content == b""


def test_must_content_type_json_charset(hubspot_env: Any) -> None:
    _contact(hubspot_env, "a@example.com")
    for resp in (
        _raw(hubspot_env, "GET", "/crm/v3/objects/contacts"),
        _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", {}),
        _raw(hubspot_env, "GET", "/crm/v3/objects/contacts/999"),
        _raw(hubspot_env, "GET", "/crm/v3/objects/contacts", token="nope"),
    ):
        assert resp.headers["Content-Type"] == "application/json;charset=utf-8"


# ----------------------------------------------------------------------------- JSON shapes


def test_must_json_shapes_of_records(hubspot_env: Any) -> None:
    _contact(hubspot_env, "a@example.com", hubspotscore="5")
    body = _raw(hubspot_env, "GET", "/crm/v3/objects/contacts?properties=hubspotscore").json()
    rec = body["results"][0]
    assert isinstance(rec["id"], str)
    assert all(v is None or isinstance(v, str) for v in rec["properties"].values())
    assert rec["properties"]["hubspotscore"] == "5"
    assert ISO_MS.match(rec["createdAt"]) and ISO_MS.match(rec["updatedAt"])
    assert rec["archived"] is False
    assert "paging" not in body  # the last page has no paging key at all


def test_must_json_paging_only_when_there_is_a_next_page(hubspot_env: Any) -> None:
    for i in range(3):
        _contact(hubspot_env, f"p{i}@example.com")
    first = _raw(hubspot_env, "GET", "/crm/v3/objects/contacts?limit=2").json()
    assert first["paging"]["next"]["after"]
    after = first["paging"]["next"]["after"]
    last = _raw(hubspot_env, "GET", f"/crm/v3/objects/contacts?limit=2&after={after}").json()
    assert len(last["results"]) == 1 and "paging" not in last
    s1 = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", {"limit": 2}).json()
    assert s1["total"] == 3 and s1["paging"]["next"]["after"] == "2"
    s2 = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", {"limit": 2, "after": "2"})
    assert "paging" not in s2.json()


def test_must_get_all_terminates(hubspot_env: Any) -> None:
    for _ in range(105):
        _raw(hubspot_env, "POST", "/crm/v3/objects/contacts", {"properties": {}})
    client = hubspot_env.client()
    assert len(client.crm.contacts.get_all()) == 105
    assert len(client.crm.objects.get_all("contacts")) == 105  # breaks on "paging": {}
    assert len(client.crm.contacts.get_all(properties_with_history=["email"])) == 105


def test_must_json_batch_response_fields(hubspot_env: Any) -> None:
    cid = _contact(hubspot_env, "a@example.com")
    body = {"inputs": [{"id": cid}, {"id": "999"}], "properties": ["email"]}
    resp = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/batch/read", body)
    assert resp.status_code == 207
    data = resp.json()
    assert {"status", "results", "startedAt", "completedAt", "numErrors", "errors"} <= set(data)
    assert data["numErrors"] == 1 and data["errors"][0]["context"]["ids"] == ["999"]
    ok = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/batch/read", {"inputs": [{"id": cid}]})
    assert ok.status_code == 200 and "numErrors" not in ok.json()


def test_must_batch_with_a_bad_record_is_207_with_that_records_error(hubspot_env: Any) -> None:
    cid = _contact(hubspot_env, "a@example.com")
    batch = hubspot_env.client().crm.contacts.batch_api
    out = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": cid, "properties": {"firstname": "Ok"}},
                {"id": "424242", "properties": {"firstname": "Ghost"}},
            ]
        )
    )
    assert out is not None and out.num_errors == 1
    assert out.errors[0].category == "OBJECT_NOT_FOUND"
    assert out.errors[0].context == {"ids": ["424242"]}
    assert [r.properties["firstname"] for r in out.results] == ["Ok"]
    bad = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": cid, "properties": {"lifecyclestage": "not-a-stage"}}]
        )
    )
    assert bad.num_errors == 1 and bad.errors[0].category == "VALIDATION_ERROR"
    created = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {"properties": {"email": "new@example.com"}},
                {"properties": {"email": "a@example.com"}, "objectWriteTraceId": "t2"},
            ]
        )
    )
    assert created.num_errors == 1 and created.errors[0].context["objectWriteTraceId"] == ["t2"]


def test_must_v4_batch_read_shape(hubspot_env: Any) -> None:
    cid = _contact(hubspot_env, "a@example.com")
    client = hubspot_env.client()
    task = client.crm.objects.tasks.basic_api.create(
        TaskCreate(
            properties={"hs_timestamp": "2026-11-24T09:00:00.000Z", "hs_task_subject": "SLA"},
            associations=[
                {
                    "to": {"id": cid},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
                }
            ],
        )
    )
    assert task is not None
    raw = _raw(
        hubspot_env,
        "POST",
        "/crm/v4/associations/contacts/tasks/batch/read",
        {"inputs": [{"id": cid}]},
    ).json()
    item = raw["results"][0]
    assert item["from"] == {"id": cid}
    assert item["to"][0]["toObjectId"] == int(task.id)
    assert item["to"][0]["associationTypes"] == [
        {"category": "HUBSPOT_DEFINED", "typeId": 203, "label": None}
    ]
    page = client.crm.associations.v4.batch_api.get_page(
        from_object_type="contacts",
        to_object_type="tasks",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": cid}]},
    )
    assert page is not None and page.results[0].to[0].to_object_id == task.id


# ----------------------------------------------------------------------------- query parsing


def test_must_query_parsing_repeated_keys_comma_lists_and_booleans(hubspot_env: Any) -> None:
    _contact(hubspot_env, "a@example.com", firstname="Ann", country="US")
    for query in (
        "properties=firstname&properties=country&archived=False",
        "properties=firstname,country&archived=false",
    ):
        rec = _raw(hubspot_env, "GET", f"/crm/v3/objects/contacts?{query}").json()["results"][0]
        assert rec["properties"]["firstname"] == "Ann" and rec["properties"]["country"] == "US"
    page = hubspot_env.client().crm.contacts.basic_api.get_page(
        limit=2, properties=["firstname", "country"], archived=False
    )
    assert page.results[0].properties["country"] == "US"


def test_must_query_limit_defaults_and_maxima(hubspot_env: Any) -> None:
    for _ in range(12):
        _raw(hubspot_env, "POST", "/crm/v3/objects/contacts", {"properties": {}})
    assert len(_raw(hubspot_env, "GET", "/crm/v3/objects/contacts").json()["results"]) == 10
    search = _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", {}).json()
    assert len(search["results"]) == 10
    assert _raw(hubspot_env, "GET", "/crm/v3/objects/contacts?limit=100").status_code == 200
    assert _raw(hubspot_env, "GET", "/crm/v3/objects/contacts?limit=101").status_code == 400
    hist = "/crm/v3/objects/contacts?propertiesWithHistory=email&limit="
    assert _raw(hubspot_env, "GET", hist + "50").status_code == 200
    assert _raw(hubspot_env, "GET", hist + "51").status_code == 400
    body = {"limit": 201}
    assert _raw(hubspot_env, "POST", "/crm/v3/objects/contacts/search", body).status_code == 400


# ----------------------------------------------------------------------------- auth


@pytest.mark.parametrize("token", [None, "pat-wrong"])
def test_must_auth_bearer_or_401_invalid_authentication(hubspot_env: Any, token: Any) -> None:
    from hubspot import HubSpot

    client = HubSpot(access_token=token, host=hubspot_env.url)
    with pytest.raises(UnauthorizedException) as caught:
        client.crm.contacts.basic_api.get_page()
    assert caught.value.status == 401
    assert caught.value.headers["X-HubSpot-Auth-Failure"] == "401 Unauthorized"
    assert '"category":"INVALID_AUTHENTICATION"' in caught.value.body


@pytest.mark.parametrize("action", ["expire", "revoke"])
def test_must_auth_expired_and_revoked_tokens(hubspot_env: Any, action: str) -> None:
    hubspot_env.control("POST", "hubspot/tokens", {"token": "pat-short", "expires_in_seconds": 600})
    api = hubspot_env.client(token="pat-short").crm.contacts.basic_api
    assert api.get_page() is not None
    hubspot_env.control("POST", f"hubspot/tokens/pat-short/{action}")
    with pytest.raises(UnauthorizedException):
        api.get_page()


def test_must_errors_carry_json_bodies_with_category(hubspot_env: Any) -> None:
    api = hubspot_env.client().crm.contacts.basic_api
    with pytest.raises(ApiException) as caught:
        api.create(SimplePublicObjectInputForCreate(properties={"no_such_prop": "x"}))
    assert caught.value.status == 400
    assert '"code":"PROPERTY_DOESNT_EXIST"' in caught.value.body
    assert '"category":"VALIDATION_ERROR"' in caught.value.body


def _owner(oid: str, team: str, active: bool = True) -> dict[str, Any]:
    return {
        "id": oid,
        "first_name": "F",
        "last_name": oid,
        "email": f"{oid}@example.com",
        "team": team,
        "timezone": "America/New_York",
        "manager_id": None,
        "active": active,
    }
