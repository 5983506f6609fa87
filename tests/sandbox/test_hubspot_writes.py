"""Fidelity of the HubSpot emulator's write paths, through the real ``hubspot-api-client`` 12:
property value validation (reference §2.4, §2.5, §4.2), Properties API updates and archives
(§2.5), v4 association writes and inline associations on create (§1.3, §2, §2.7, §2.8), and the
record source of seeded engagements (``hs_object_source``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssocApiException
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate as TaskCreate
from hubspot.crm.objects.tasks.exceptions import ApiException as TaskApiException
from hubspot.crm.properties import (
    OptionInput,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyGroupUpdate,
    PropertyUpdate,
)
from hubspot.crm.properties.exceptions import ApiException as PropsApiException

T0 = "2026-11-02T09:00:00.000Z"


def _options(*values: str) -> list[OptionInput]:
    return [
        OptionInput(label=v.title(), value=v, display_order=i, hidden=False)
        for i, v in enumerate(values)
    ]


def _custom_enum(env: Any, name: str = "sla_state", field_type: str = "select") -> None:
    props = env.client().crm.properties
    props.groups_api.create("contacts", PropertyGroupCreate(name="sla", label="SLA"))
    made = props.core_api.create(
        "contacts",
        PropertyCreate(
            name=name,
            label="SLA state",
            type="enumeration",
            field_type=field_type,
            group_name="sla",
            options=_options("met", "breached", "pending"),
        ),
    )
    assert made is not None


def _contact(env: Any, **props: str) -> str:
    made = env.client().crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties=props)
    )
    assert made is not None
    return str(made.id)


def _errors(exc: Any) -> tuple[str, list[str]]:
    body = json.loads(exc.body)
    return body["category"], [e["code"] for e in body.get("errors", [])]


def _freeze(env: Any, at: str = T0) -> None:
    env.control("POST", "clock", {"now": at, "frozen": True})


def _advance(env: Any, seconds: float) -> None:
    env.control("POST", "clock", {"advance_seconds": seconds})


# ------------------------------------------------------------------ value validation (§4.2)


def test_single_patch_with_an_unknown_option_is_400_invalid_option(hubspot_env: Any) -> None:
    _custom_enum(hubspot_env)
    cid = _contact(hubspot_env, email="a@x.com", sla_state="met")
    api = hubspot_env.client().crm.contacts.basic_api
    with pytest.raises(ApiException) as info:
        api.update(cid, SimplePublicObjectInput(properties={"sla_state": "exploded"}))
    assert info.value.status == 400
    assert _errors(info.value) == ("VALIDATION_ERROR", ["INVALID_OPTION"])
    body = json.loads(info.value.body)
    assert body["errors"][0]["context"] == {"propertyName": ["sla_state"]}
    assert body["message"].startswith("Property values were not valid: ")
    kept = api.get_by_id(cid, properties=["sla_state"]).properties["sla_state"]
    assert kept == "met"  # nothing of the refused write landed


def test_empty_string_clears_an_enumeration(hubspot_env: Any) -> None:
    _custom_enum(hubspot_env)
    cid = _contact(hubspot_env, email="a@x.com", sla_state="met")
    api = hubspot_env.client().crm.contacts.basic_api
    done = api.update(cid, SimplePublicObjectInput(properties={"sla_state": ""}))
    assert done is not None
    assert api.get_by_id(cid, properties=["sla_state"]).properties["sla_state"] is None


def test_create_with_an_unknown_option_is_400(hubspot_env: Any) -> None:
    _custom_enum(hubspot_env)
    with pytest.raises(ApiException) as info:
        _contact(hubspot_env, email="a@x.com", sla_state="nope")
    assert info.value.status == 400
    assert _errors(info.value) == ("VALIDATION_ERROR", ["INVALID_OPTION"])


def test_built_in_engagement_enumerations_are_validated(hubspot_env: Any) -> None:
    tasks = hubspot_env.client().crm.objects.tasks.basic_api
    ok = tasks.create(
        TaskCreate(
            properties={
                "hs_timestamp": T0,
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "hs_task_type": "CALL",
            }
        )
    )
    assert ok is not None
    with pytest.raises(TaskApiException) as info:
        tasks.create(TaskCreate(properties={"hs_timestamp": T0, "hs_task_status": "DONE"}))
    assert info.value.status == 400
    assert _errors(info.value) == ("VALIDATION_ERROR", ["INVALID_OPTION"])


def test_batch_update_with_one_bad_option_is_207_for_that_record_only(hubspot_env: Any) -> None:
    """Reference §2.4: batch/update answers 207 with ``errors[]`` (e.g. VALIDATION_ERROR) when
    some inputs fail; the others are written."""
    _custom_enum(hubspot_env)
    ids = [_contact(hubspot_env, email=f"c{i}@x.com") for i in range(3)]
    batch = hubspot_env.client().crm.contacts.batch_api
    values = ["met", "exploded", "breached"]
    out = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": i, "properties": {"sla_state": v}} for i, v in zip(ids, values, strict=True)
            ]
        )
    )
    assert out.num_errors == 1
    [error] = out.errors
    assert error.category == "VALIDATION_ERROR"
    assert error.context["ids"] == [ids[1]]
    assert {r.id: r.properties["sla_state"] for r in out.results} == {
        ids[0]: "met",
        ids[2]: "breached",
    }


def test_checkbox_enumerations_take_several_options_and_a_leading_semicolon_appends(
    hubspot_env: Any,
) -> None:
    _custom_enum(hubspot_env, field_type="checkbox")
    cid = _contact(hubspot_env, email="a@x.com", sla_state="met;pending")
    api = hubspot_env.client().crm.contacts.basic_api
    api.update(cid, SimplePublicObjectInput(properties={"sla_state": ";breached"}))
    got = api.get_by_id(cid, properties=["sla_state"]).properties["sla_state"]
    assert got == "met;pending;breached"
    with pytest.raises(ApiException) as info:
        api.update(cid, SimplePublicObjectInput(properties={"sla_state": "met;bogus"}))
    assert _errors(info.value) == ("VALIDATION_ERROR", ["INVALID_OPTION"])


@pytest.mark.parametrize(
    ("prop", "value", "code"),
    [
        ("numemployees", "lots", "INVALID_INTEGER"),
        ("numemployees", "nan", "INVALID_INTEGER"),
        ("hubspot_owner_assigneddate", "next tuesday", "INVALID_DATE"),
    ],
)
def test_number_and_datetime_values_are_validated(
    hubspot_env: Any, prop: str, value: str, code: str
) -> None:
    cid = _contact(hubspot_env, email="a@x.com")
    api = hubspot_env.client().crm.contacts.basic_api
    with pytest.raises(ApiException) as info:
        api.update(cid, SimplePublicObjectInput(properties={prop: value}))
    assert info.value.status == 400
    assert _errors(info.value) == ("VALIDATION_ERROR", [code])


# ------------------------------------------------------------------ Properties API (§2.5)


def test_property_update_replaces_options_and_writes_follow_them(hubspot_env: Any) -> None:
    _custom_enum(hubspot_env)
    client = hubspot_env.client()
    core = client.crm.properties.core_api
    updated = core.update(
        "contacts",
        "sla_state",
        PropertyUpdate(
            options=_options("on_track", "late"),
            label="SLA status",
            description="Set by sla-sync",
            display_order=3,
            hidden=True,
            form_field=False,
        ),
    )
    assert updated is not None
    assert [o.value for o in updated.options] == ["on_track", "late"]
    assert (updated.label, updated.description, updated.display_order, updated.hidden) == (
        "SLA status",
        "Set by sla-sync",
        3,
        True,
    )
    fetched = core.get_by_name("contacts", "sla_state")
    assert [o.value for o in fetched.options] == ["on_track", "late"]
    assert _contact(hubspot_env, email="a@x.com", sla_state="late")
    with pytest.raises(ApiException):
        _contact(hubspot_env, email="b@x.com", sla_state="met")  # no longer an option


def test_property_update_moves_group_and_checks_field_types(hubspot_env: Any) -> None:
    _custom_enum(hubspot_env)
    props = hubspot_env.client().crm.properties
    props.groups_api.create("contacts", PropertyGroupCreate(name="other", label="Other"))
    moved = props.core_api.update("contacts", "sla_state", PropertyUpdate(group_name="other"))
    assert moved.group_name == "other"
    radio = props.core_api.update("contacts", "sla_state", PropertyUpdate(field_type="radio"))
    assert radio.field_type == "radio"
    with pytest.raises(PropsApiException) as info:
        props.core_api.update("contacts", "sla_state", PropertyUpdate(field_type="textarea"))
    assert info.value.status == 400
    with pytest.raises(PropsApiException) as info:
        props.core_api.update("contacts", "sla_state", PropertyUpdate(group_name="nowhere"))
    assert info.value.status == 400
    with pytest.raises(PropsApiException) as info:
        props.core_api.update("contacts", "nope", PropertyUpdate(label="x"))
    assert info.value.status == 404


def test_hubspot_defined_properties_keep_their_type_but_lifecycle_options_are_editable(
    hubspot_env: Any,
) -> None:
    core = hubspot_env.client().crm.properties.core_api
    with pytest.raises(PropsApiException) as info:
        core.update("contacts", "email", PropertyUpdate(type="number", field_type="number"))
    assert info.value.status == 400
    stages = _options("subscriber", "lead", "153180554", "customer")
    got = core.update("contacts", "lifecyclestage", PropertyUpdate(options=stages))
    assert [o.value for o in got.options] == ["subscriber", "lead", "153180554", "customer"]
    assert _contact(hubspot_env, email="a@x.com", lifecyclestage="153180554")


def test_property_archive_is_204_and_the_property_stops_taking_values(hubspot_env: Any) -> None:
    _custom_enum(hubspot_env)
    core = hubspot_env.client().crm.properties.core_api
    _, status, _ = core.archive_with_http_info("contacts", "sla_state")
    assert status == 204
    assert "sla_state" not in {p.name for p in core.get_all("contacts").results}
    archived = core.get_all("contacts", archived=True).results
    assert [(p.name, p.archived) for p in archived] == [("sla_state", True)]
    with pytest.raises(ApiException) as info:
        _contact(hubspot_env, email="a@x.com", sla_state="met")
    assert _errors(info.value) == ("VALIDATION_ERROR", ["PROPERTY_DOESNT_EXIST"])
    with pytest.raises(PropsApiException) as info:
        core.archive("contacts", "email")  # HubSpot-defined: not archivable
    assert info.value.status == 400


def test_property_group_update_and_archive(hubspot_env: Any) -> None:
    groups = hubspot_env.client().crm.properties.groups_api
    groups.create("contacts", PropertyGroupCreate(name="sla", label="SLA"))
    got = groups.update("contacts", "sla", PropertyGroupUpdate(label="SLA fields", display_order=2))
    assert (got.name, got.label, got.display_order) == ("sla", "SLA fields", 2)
    assert groups.get_by_name("contacts", "sla").label == "SLA fields"
    _, status, _ = groups.archive_with_http_info("contacts", "sla")
    assert status == 204
    assert "sla" not in {g.name for g in groups.get_all("contacts").results}
    with pytest.raises(PropsApiException) as info:
        groups.update("contacts", "sla", PropertyGroupUpdate(label="x"))
    assert info.value.status == 404


# ------------------------------------------------------------------ associations (§2.7, §2.8)


def _task(env: Any, **props: str) -> str:
    made = env.client().crm.objects.tasks.basic_api.create(
        TaskCreate(properties={"hs_timestamp": T0, **props})
    )
    assert made is not None
    return str(made.id)


def _linked(env: Any, task_id: str) -> list[tuple[int, list[int]]]:
    page = env.client().crm.associations.v4.basic_api.get_page("tasks", task_id, "contacts")
    return [(int(r.to_object_id), [t.type_id for t in r.association_types]) for r in page.results]


def test_task_create_with_inline_association_204(hubspot_env: Any) -> None:
    """Reference §2.7: the documented task create body; the response does not echo links."""
    cid = _contact(hubspot_env, email="a@x.com")
    tasks = hubspot_env.client().crm.objects.tasks.basic_api
    made = tasks.create(
        TaskCreate(
            properties={
                "hs_timestamp": T0,
                "hs_task_subject": "SLA breach",
                "hs_task_type": "CALL",
            },
            associations=[
                {
                    "to": {"id": cid},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
                }
            ],
        )
    )
    assert made is not None
    assert _linked(hubspot_env, made.id) == [(int(cid), [204])]
    with pytest.raises(TaskApiException) as info:  # 203 is contact->task: wrong direction
        tasks.create(
            TaskCreate(
                properties={"hs_timestamp": T0},
                associations=[
                    {
                        "to": {"id": cid},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 203}
                        ],
                    }
                ],
            )
        )
    assert info.value.status == 400


def test_v4_default_create_and_archive_single(hubspot_env: Any) -> None:
    cid = _contact(hubspot_env, email="a@x.com")
    tid = _task(hubspot_env)
    basic = hubspot_env.client().crm.associations.v4.basic_api
    out = basic.create_default("tasks", tid, "contacts", cid)
    assert out is not None and out.status == "COMPLETE"
    specs = {(r._from.id, r.to.id, r.association_spec.association_type_id) for r in out.results}
    assert (tid, cid, 204) in specs
    assert _linked(hubspot_env, tid) == [(int(cid), [204])]
    back = basic.get_page("contacts", cid, "tasks").results
    assert [(int(r.to_object_id), r.association_types[0].type_id) for r in back] == [
        (int(tid), 203)
    ]
    _, status, _ = basic.archive_with_http_info("tasks", tid, "contacts", cid)
    assert status == 204
    assert _linked(hubspot_env, tid) == []
    assert basic.get_page("contacts", cid, "tasks").results == []


def test_v4_labelled_create_with_the_default_type_is_201(hubspot_env: Any) -> None:
    cid = _contact(hubspot_env, email="a@x.com")
    tid = _task(hubspot_env)
    basic = hubspot_env.client().crm.associations.v4.basic_api
    spec = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=204)]
    pair = basic.create("tasks", tid, "contacts", cid, spec)
    assert pair is not None
    assert (pair.from_object_type_id, pair.from_object_id) == ("0-27", tid)
    assert (pair.to_object_type_id, pair.to_object_id) == ("0-1", cid)
    wrong = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=203)]
    with pytest.raises(AssocApiException) as info:
        basic.create("tasks", tid, "contacts", cid, wrong)
    assert info.value.status == 400


def test_v4_default_create_with_a_missing_record_fails(hubspot_env: Any) -> None:
    tid = _task(hubspot_env)
    basic = hubspot_env.client().crm.associations.v4.basic_api
    with pytest.raises(AssocApiException) as info:
        basic.create_default("tasks", tid, "contacts", "999999")
    assert info.value.status == 404


def test_v4_batch_associate_default_and_batch_archive(hubspot_env: Any) -> None:
    cids = [_contact(hubspot_env, email=f"c{i}@x.com") for i in range(2)]
    tids = [_task(hubspot_env) for _ in range(2)]
    batch = hubspot_env.client().crm.associations.v4.batch_api
    out = batch.create_default(
        "tasks",
        "contacts",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[{"from": {"id": t}, "to": {"id": c}} for t, c in zip(tids, cids, strict=True)]
        ),
    )
    assert out is not None and out.status == "COMPLETE"
    assert [_linked(hubspot_env, t) for t in tids] == [[(int(c), [204])] for c in cids]
    _, status, _ = batch.archive_with_http_info(
        "tasks",
        "contacts",
        BatchInputPublicAssociationMultiArchive(
            inputs=[{"from": {"id": tids[0]}, "to": [{"id": cids[0]}]}]
        ),
    )
    assert status == 204
    assert [_linked(hubspot_env, t) for t in tids] == [[], [(int(cids[1]), [204])]]


def test_v4_batch_create_reports_bad_inputs_as_207(hubspot_env: Any) -> None:
    cid = _contact(hubspot_env, email="a@x.com")
    tid = _task(hubspot_env)
    batch = hubspot_env.client().crm.associations.v4.batch_api
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
    out = batch.create(
        "tasks",
        "contacts",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                {"from": {"id": tid}, "to": {"id": cid}, "types": [spec]},
                {"from": {"id": tid}, "to": {"id": "999999"}, "types": [spec]},
            ]
        ),
    )
    assert out is not None and out.num_errors == 1
    assert [(r.from_object_id, r.to_object_id) for r in out.results] == [(tid, cid)]


def test_reassociating_does_not_bump_the_engagement_modification_date(hubspot_env: Any) -> None:
    """HubSpot association changes do not move ``hs_lastmodifieddate`` (sync-lessons.md §1,
    takeaway 3; airbyte#44554, #27199), so a sync keyed on it misses re-associations."""
    _freeze(hubspot_env)
    first, second = (_contact(hubspot_env, email=f"c{i}@x.com") for i in range(2))
    tid = _task(hubspot_env)
    basic = hubspot_env.client().crm.associations.v4.basic_api
    basic.create_default("tasks", tid, "contacts", first)
    tasks = hubspot_env.client().crm.objects.tasks.basic_api
    before = tasks.get_by_id(tid)
    _advance(hubspot_env, 3600)
    basic.archive("tasks", tid, "contacts", first)
    basic.create_default("tasks", tid, "contacts", second)
    after = tasks.get_by_id(tid)
    assert after.properties["hs_lastmodifieddate"] == before.properties["hs_lastmodifieddate"]
    assert after.updated_at == before.updated_at
    assert _linked(hubspot_env, tid) == [(int(second), [204])]


# ------------------------------------------------------------------ record source


def test_seeded_automated_emails_carry_an_automation_record_source(hubspot_env: Any) -> None:
    lead = {"id": "l1", "created_at": "2026-09-01T09:00:00Z", "email": "lead@example.com"}
    owner = {"id": "o1", "first_name": "A", "last_name": "B", "email": "a@x.com", "team": "ny"}

    def touch(tid: str, automated: bool) -> dict[str, Any]:
        return {
            "id": tid,
            "lead": "l1",
            "kind": "email",
            "at": "2026-09-01T09:01:00Z",
            "created_at": "2026-09-01T09:01:00Z",
            "owner": None if automated else "o1",
            "direction": "outbound",
            "automated": automated,
            "subject": tid,
        }

    touches = [touch("auto", True), touch("rep", False)]
    hubspot_env.control("POST", "seed", {"owners": [owner], "leads": [lead], "touches": touches})
    emails = hubspot_env.client().crm.objects.emails.basic_api.get_page(
        properties=["hs_email_subject", "hs_object_source", "hubspot_owner_id"]
    )
    got = {r.properties["hs_email_subject"]: r.properties for r in emails.results}
    assert got["auto"]["hs_object_source"] == "AUTOMATION_PLATFORM"
    assert got["auto"]["hubspot_owner_id"] is None
    assert got["rep"]["hs_object_source"] == "CRM_UI"
    assert got["rep"]["hubspot_owner_id"]


def test_record_source_is_read_only(hubspot_env: Any) -> None:
    tid = _task(hubspot_env, hs_object_source="SEQUENCES")  # ignored, like other system values
    got = hubspot_env.client().crm.objects.tasks.basic_api.get_by_id(
        tid, properties=["hs_object_source"]
    )
    assert got.properties["hs_object_source"] == "API"
