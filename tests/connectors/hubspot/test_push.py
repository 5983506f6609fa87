"""Write-back: ``push_fields`` / ``read_fields`` through the real SDK against the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Sandbox

from sla_sync.connectors.base import FieldUpdate, SlaField, SlaStatus
from sla_sync.connectors.hubspot.properties import (
    GROUP_LABEL,
    GROUP_NAME,
    PROPERTIES,
    canonical,
    property_name,
    to_hubspot,
)

UPDATE = "batch/update"

VALUES: dict[SlaField, str | None] = {
    SlaField.STATUS: SlaStatus.AT_RISK.value,
    SlaField.DUE_AT: "2026-11-23T15:04:05Z",
    SlaField.FIRST_TOUCH_AT: "2026-11-23T14:00:00.250Z",
    SlaField.MINUTES_TO_FIRST_TOUCH: "42",
    SlaField.ATTEMPTS_MADE: "2",
    SlaField.ATTEMPTS_REQUIRED: "6",
    SlaField.TIER: "hot",
    SlaField.AGREEMENT: "na-inbound",
    SlaField.OWNER_SPEED_MTD: "87.5",
    SlaField.UPDATED_AT: "2026-11-23T15:05:00Z",
}


def raw_contact(hs: Sandbox, contact_id: str) -> dict[str, Any]:
    names = ",".join(p.name for p in PROPERTIES.values())
    out: dict[str, Any] = hs.api("GET", f"/crm/v3/objects/contacts/{contact_id}?properties={names}")
    return out


# ------------------------------------------------------------------------------ values


@pytest.mark.parametrize(
    ("field", "sent", "answer", "normal"),
    [
        (
            SlaField.DUE_AT,
            "2026-11-23T15:04:05Z",
            "2026-11-23T15:04:05.000Z",
            "2026-11-23T15:04:05Z",
        ),
        (SlaField.DUE_AT, "2026-11-23T16:04:05+01:00", "1795446245000", "2026-11-23T15:04:05Z"),
        (SlaField.DUE_AT, "2026-11-23T15:04:05.1234Z", "2026-11-23T15:04:05.123Z", None),
        (SlaField.ATTEMPTS_MADE, "42", "42.0", "42"),
        (SlaField.OWNER_SPEED_MTD, "87.50", "87.5", "87.5"),
        (SlaField.OWNER_SPEED_MTD, "1E+2", "100", "100"),
        (SlaField.OWNER_SPEED_MTD, "-0", "0", "0"),
        (SlaField.STATUS, " met ", "met", "met"),
        (SlaField.TIER, "", None, None),
    ],
)
def test_canonical_form_is_shared_by_what_is_sent_and_what_comes_back(
    field: SlaField, sent: str, answer: str | None, normal: str | None
) -> None:
    assert canonical(field, sent) == canonical(field, answer)
    if normal is not None:
        assert canonical(field, sent) == normal


def test_writes_use_hubspots_forms() -> None:
    assert to_hubspot(SlaField.DUE_AT, "2026-11-23T15:04:05Z") == "2026-11-23T15:04:05.000Z"
    assert to_hubspot(SlaField.DUE_AT, None) == ""
    assert to_hubspot(SlaField.ATTEMPTS_MADE, "3.0") == "3"
    for bad_field, bad in [
        (SlaField.DUE_AT, "2026-11-23T15:04:05"),  # no zone
        (SlaField.DUE_AT, "tomorrow"),
        (SlaField.ATTEMPTS_MADE, "many"),
        (SlaField.OWNER_SPEED_MTD, "NaN"),
    ]:
        with pytest.raises(ValueError):
            to_hubspot(bad_field, bad)


# ------------------------------------------------------------------------------ push


def test_round_trip_is_canonical(hs: Sandbox, connector: Any) -> None:
    [lead] = hs.create_contacts(1)
    [result] = connector.push_fields([FieldUpdate(lead_id=lead, values=VALUES)])
    assert result.ok, result.error
    assert dict(result.confirmed) == {f: canonical(f, v) for f, v in VALUES.items()}
    assert result.confirmed[SlaField.DUE_AT] == "2026-11-23T15:04:05Z"
    assert result.confirmed[SlaField.FIRST_TOUCH_AT] == "2026-11-23T14:00:00.250Z"
    # HubSpot holds its own forms; reading back gives the canonical ones again.
    raw = raw_contact(hs, lead)["properties"]
    assert raw[property_name(SlaField.DUE_AT)] == "2026-11-23T15:04:05.000Z"
    assert connector.read_fields([lead]) == {lead: dict(result.confirmed)}


def test_confirmed_values_come_from_hubspots_answer(hs: Sandbox, connector: Any) -> None:
    [lead] = hs.create_contacts(1)
    update = FieldUpdate(lead_id=lead, values={SlaField.ATTEMPTS_MADE: "3.50"})
    [result] = connector.push_fields([update])
    assert result.confirmed == {SlaField.ATTEMPTS_MADE: "3.5"}
    # A clear is confirmed as None; other fields of the record are not reported.
    [cleared] = connector.push_fields([FieldUpdate(lead_id=lead, values={SlaField.TIER: None})])
    assert cleared.ok and cleared.confirmed == {SlaField.TIER: None}
    assert connector.read_fields([lead])[lead][SlaField.ATTEMPTS_MADE] == "3.5"


def test_differences_go_in_batches_of_100_in_input_order(hs: Sandbox, connector: Any) -> None:
    leads = hs.create_contacts(250)
    hs.reset_counters()
    updates = [
        FieldUpdate(lead_id=lead, values={SlaField.ATTEMPTS_MADE: str(i % 7)})
        for i, lead in enumerate(leads)
    ]
    writes_before = connector.usage().calls["write"]  # the schema's
    results = connector.push_fields(updates)
    assert hs.calls(UPDATE) == 3
    assert [r.lead_id for r in results] == leads
    assert all(r.ok for r in results)
    assert [r.confirmed[SlaField.ATTEMPTS_MADE] for r in results] == [
        str(i % 7) for i in range(250)
    ]
    assert connector.usage().calls["write"] - writes_before == 3
    assert connector.capabilities.max_batch_write == 100


def test_archived_and_merged_contacts_in_a_batch(hs: Sandbox, connector: Any) -> None:
    keep, archived, loser, survivor = hs.create_contacts(4)
    hs.archive([archived])
    hs.merge(survivor, loser)
    hs.reset_counters()
    updates = [
        FieldUpdate(lead_id=lead, values={SlaField.STATUS: "breached"})
        for lead in (keep, archived, loser, survivor)
    ]
    results = connector.push_fields(updates)
    assert hs.calls(UPDATE) == 1
    by_id = {r.lead_id: r for r in results}
    assert by_id[keep].ok and by_id[survivor].ok
    assert by_id[keep].confirmed == {SlaField.STATUS: "breached"}
    gone = by_id[archived]
    assert (gone.ok, gone.gone, gone.merged_into, gone.retriable) == (False, True, None, False)
    merged = by_id[loser]
    assert (merged.ok, merged.gone, merged.merged_into) == (False, True, survivor)


def _create_schema_without(hs: Sandbox, missing: SlaField) -> None:
    """The SLA properties, except ``missing`` (someone deleted it in the portal)."""
    hs.api("POST", "/crm/v3/properties/contacts/groups", {"name": GROUP_NAME, "label": GROUP_LABEL})
    for i, spec in enumerate(PROPERTIES.values()):
        if spec.field is not missing:
            hs.api("POST", "/crm/v3/properties/contacts", spec.create_body(i))


def test_a_deleted_property_fails_only_the_records_setting_it(
    hs: Sandbox, make_connector: Any
) -> None:
    _create_schema_without(hs, SlaField.TIER)
    leads = hs.create_contacts(16)
    hs.reset_counters()
    bad = {leads[3], leads[11]}
    updates = [
        FieldUpdate(
            lead_id=lead,
            values={SlaField.ATTEMPTS_MADE: "1", **({SlaField.TIER: "hot"} if lead in bad else {})},
        )
        for lead in leads
    ]
    results = make_connector().push_fields(updates)
    failed = [r for r in results if not r.ok]
    assert {r.lead_id for r in failed} == bad
    assert all("sla_sync_tier" in (r.error or "") and not r.retriable for r in failed)
    assert all(r.confirmed == {SlaField.ATTEMPTS_MADE: "1"} for r in results if r.ok)
    assert hs.calls(UPDATE) == 2  # the refused batch, then the others again: no bisection


def test_a_batch_refused_whole_is_bisected(hs: Sandbox, connector: Any) -> None:
    leads = hs.create_contacts(8)
    hs.reset_counters()
    # HubSpot refuses a batch whole for one bad value (without saying which record): here the
    # first four calls are refused, which the bisection must narrow to the first record.
    body = {
        "status": "error",
        "message": "Property values were not valid",
        "category": "VALIDATION_ERROR",
        "correlationId": "c",
        "errors": [{"message": "bad value", "code": "INVALID_OPTION"}],
    }
    path = "/crm/v3/objects/contacts/batch/update"
    hs.fault(kind="status", status=400, body=body, path=path, times=4)
    updates = [FieldUpdate(lead_id=lead, values={SlaField.TIER: "warm"}) for lead in leads]
    results = connector.push_fields(updates)
    # [0..7] -> [0..3] -> [0,1] -> [0] refused: isolated; then [1], [2,3], [4..7] written.
    assert [r.ok for r in results] == [False, True, True, True, True, True, True, True]
    assert "VALIDATION_ERROR" in (results[0].error or "")
    assert not results[0].retriable
    assert hs.calls(UPDATE) == 4 + 3


def test_a_bad_enum_value_is_isolated(hs: Sandbox, connector: Any) -> None:
    leads = hs.create_contacts(4)
    updates = [
        FieldUpdate(lead_id=lead, values={SlaField.STATUS: "exploded" if i == 2 else "met"})
        for i, lead in enumerate(leads)
    ]
    results = connector.push_fields(updates)
    assert [r.ok for r in results] == [True, True, False, True]


def test_a_batch_failing_retriably_does_not_sink_the_others(
    hs: Sandbox, make_connector: Any
) -> None:
    connector = make_connector(max_attempts=2)
    connector.ensure_schema()
    leads = hs.create_contacts(150)
    hs.fault(kind="status", status=503, path="/crm/v3/objects/contacts/batch/update", times=2)
    updates = [FieldUpdate(lead_id=lead, values={SlaField.TIER: "warm"}) for lead in leads]
    results = connector.push_fields(updates)
    first, second = results[:100], results[100:]
    assert all(not r.ok and r.retriable and not r.gone for r in first)
    assert all(r.ok for r in second)
    assert "503" in (first[0].error or "")


def test_a_write_committed_before_a_5xx_is_retried_and_confirmed(
    hs: Sandbox, connector: Any
) -> None:
    [lead] = hs.create_contacts(1)
    hs.fault(kind="commit_then_fail", status=502, path="/crm/v3/objects/contacts/batch/update")
    [result] = connector.push_fields([FieldUpdate(lead_id=lead, values={SlaField.TIER: "hot"})])
    assert result.ok and result.confirmed == {SlaField.TIER: "hot"}
    assert hs.calls(UPDATE) == 2


def test_values_hubspot_cannot_take_are_refused_before_sending(hs: Sandbox, connector: Any) -> None:
    good, bad = hs.create_contacts(2)
    results = connector.push_fields(
        [
            FieldUpdate(lead_id=good, values={SlaField.ATTEMPTS_MADE: "1"}),
            FieldUpdate(lead_id=bad, values={SlaField.DUE_AT: "next tuesday"}),
            FieldUpdate(lead_id=good, values={SlaField.TIER: "hot"}),  # same lead again
        ]
    )
    assert [r.ok for r in results] == [True, False, True]
    assert "due_at" in (results[1].error or "") and not results[1].retriable
    assert results[0].confirmed == {SlaField.ATTEMPTS_MADE: "1"}
    assert results[2].confirmed == {SlaField.TIER: "hot"}
    assert hs.calls(UPDATE) == 1  # both updates of one lead in one input


def test_empty_updates_make_no_call(hs: Sandbox, connector: Any) -> None:
    assert connector.push_fields([]) == []
    [result] = connector.push_fields([FieldUpdate(lead_id="1", values={})])
    assert result.ok
    assert hs.counters()["total"] == 0


def test_read_fields_skips_missing_records_and_batches(hs: Sandbox, connector: Any) -> None:
    leads = hs.create_contacts(120)
    hs.archive([leads[0]])
    hs.reset_counters()
    out = connector.read_fields([*leads, "424242"])
    assert set(out) == set(leads[1:])
    assert out[leads[1]] == dict.fromkeys(SlaField)
    assert hs.calls("batch/read") == 2
