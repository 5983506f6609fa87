"""Pure parts of the HubSpot pull: instants, mapping, cursor, window planning, markers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sla_sync.connectors.hubspot._cursor import Cursor, decode
from sla_sync.connectors.hubspot._window import EPOCH, Window, plan_windows
from sla_sync.connectors.hubspot.mapping import (
    AutomationRules,
    BadRecord,
    ContactSettings,
    Version,
    map_contact,
    map_engagement,
    map_owner,
    parse_instant,
)
from sla_sync.connectors.hubspot.markers import SLA_SYNC_TASK_MARKER, has_sla_sync_marker
from sla_sync.connectors.hubspot.pull import PullSettings
from sla_sync.domain import LifecycleField, TouchDirection, TouchKind

T = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_instants_parse_iso_and_epoch_ms_and_reject_garbage() -> None:
    assert parse_instant("2026-11-20T12:00:00.000Z", what="x") == T
    assert parse_instant(str(int(T.timestamp() * 1000)), what="x") == T
    assert parse_instant("", what="x") is None
    with pytest.raises(BadRecord, match="unparseable"):
        parse_instant("20/11/2026", what="x")
    with pytest.raises(BadRecord, match="absurd"):
        parse_instant("0", what="x")


def test_contact_history_first_dates_fill_gaps_and_merges() -> None:
    settings = ContactSettings(
        lead_fields={"lead_score": "hubspotscore", "country": "country"},
        history_fields=("lead_score",),
        stages=("lead", "marketingqualifiedlead", "subscriber"),
    )
    props = {
        "createdate": "2026-11-01T00:00:00.000Z",
        "lifecyclestage": "marketingqualifiedlead",
        "hs_lead_status": "NEW",
        "hubspot_owner_id": "41600001",
        "hubspotscore": "80",
        "country": "",
        # history below knows lead/mql; subscriber only from its (legacy) date
        "hs_lifecyclestage_subscriber_date": "1761955200000",
        "hs_v2_date_entered_marketingqualifiedlead": "2026-11-03T00:00:00.000Z",
        "hs_merged_object_ids": "11;12",
    }
    history = {
        "lifecyclestage": [
            Version("marketingqualifiedlead", "2026-11-03T00:00:00.000Z", "WORKFLOWS"),
            Version("lead", "2026-11-02T09:00:00.000Z", "FORM"),
            Version("", "2026-11-02T08:00:00.000Z", "API"),  # cleared (re-MQL)
            Version("marketingqualifiedlead", "2026-11-01T00:00:00.000Z", "WORKFLOWS"),
        ],
        "hs_lead_status": [Version("NEW", "2026-11-03T00:00:01.000Z", "CRM_UI")],
        "hubspot_owner_id": [Version("41600001", T - timedelta(days=10), "CRM_UI")],
        "hubspotscore": [Version("80", "2026-11-02T00:00:00.000Z", "CALCULATED")],
    }
    rec = map_contact("10", props, history, settings)
    assert rec.lead.fields == {"lead_score": "80"}  # empty country is absent
    assert rec.lead.stage == "marketingqualifiedlead" and rec.lead.owner_id == "41600001"
    stages = [(c.value, c.at.isoformat()) for c in rec.lifecycle if c.field is LifecycleField.STAGE]
    assert stages == [
        ("marketingqualifiedlead", "2026-11-01T00:00:00+00:00"),
        (None, "2026-11-02T08:00:00+00:00"),
        ("lead", "2026-11-02T09:00:00+00:00"),
        ("marketingqualifiedlead", "2026-11-03T00:00:00+00:00"),
        ("subscriber", "2025-11-01T00:00:00+00:00"),
    ]
    statuses = [c.value for c in rec.lifecycle if c.field is LifecycleField.STATUS]
    assert statuses == ["NEW"]
    assert [o.owner_id for o in rec.owner_changes] == ["41600001"]
    assert [(f.name, f.value) for f in rec.field_changes] == [("lead_score", "80")]
    assert rec.merged_ids == ("11", "12")


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"createdate": "yesterday"}, "unparseable"),
        ({"createdate": "2026-11-01T00:00:00Z", "hubspot_owner_id": "bob@x.com"}, "owner format"),
        ({}, "createdate missing"),
    ],
)
def test_bad_contacts_raise_with_reason(props: dict[str, str], reason: str) -> None:
    with pytest.raises(BadRecord, match=reason):
        map_contact("1", props, {}, ContactSettings(lead_fields={}))


def test_engagement_mapping_direction_task_marker_and_automation() -> None:
    rules = AutomationRules()
    email = map_engagement(
        "emails",
        "5",
        {
            "hs_timestamp": "2026-11-20T10:00:00.000Z",
            "hs_createdate": "2026-11-20T12:00:00.000Z",
            "hs_email_direction": "INCOMING_EMAIL",
            "hs_incoming_email_is_out_of_office": "true",
        },
        rules,
    )
    assert email.kind is TouchKind.EMAIL and email.direction is TouchDirection.INBOUND
    assert email.automated and not email.by_sla_sync
    task = map_engagement(
        "tasks",
        "6",
        {
            "hs_timestamp": "2026-11-25T10:00:00.000Z",  # the due date
            "hs_task_completion_date": "2026-11-20T09:00:00.000Z",
            "hs_task_subject": f"{SLA_SYNC_TASK_MARKER} Follow up Jane",
            "hs_object_source": "AUTOMATION_PLATFORM",
        },
        rules,
    )
    assert task.occurred_at == datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert task.by_sla_sync and task.automated
    call = map_engagement("calls", "7", {"hs_timestamp": "2026-11-20T10:00:00Z"}, rules)
    assert call.direction is TouchDirection.UNKNOWN and not call.automated
    with pytest.raises(BadRecord, match="hs_timestamp"):
        map_engagement("notes", "8", {"hs_timestamp": None}, rules)


def test_markers() -> None:
    assert has_sla_sync_marker(None, "body [sla-sync:alert-42]")
    assert has_sla_sync_marker("[sla-sync] breach", None)
    assert not has_sla_sync_marker("sla sync", "", None)


def test_owner_team_is_the_primary_team() -> None:
    owner = map_owner(
        {
            "id": "41600001",
            "first_name": "Ana",
            "last_name": "Ortiz",
            "email": "ana@x.com",
            "archived": True,
            "teams": [{"name": "emea", "primary": False}, {"name": "ny", "primary": True}],
        }
    )
    assert (owner.name, owner.team, owner.active) == ("Ana Ortiz", "ny", False)


def test_cursor_roundtrip_and_garbage() -> None:
    cur = Cursor(hwm=T).inside(T - timedelta(hours=1), T, 12345)
    back = decode(cur.encode(), stream="contacts")
    assert back == cur and back is not None and back.in_window
    assert decode("not json", stream="contacts") is None
    assert decode('{"v": 99}', stream="contacts") is None
    assert decode(None, stream="contacts") is None


def test_windows_never_pass_the_run_start_and_resume_inside() -> None:
    lag, look = timedelta(seconds=30), timedelta(minutes=5)
    start = T + timedelta(hours=1)
    assert plan_windows(None, full=False, started_at=start, lookback=look, safety_lag=lag) == [
        Window(EPOCH, start - lag)
    ]
    done = Cursor(hwm=T)
    assert plan_windows(done, full=False, started_at=start, lookback=look, safety_lag=lag) == [
        Window(T - look, start - lag)
    ]
    stopped = done.inside(T - look, T + timedelta(minutes=10), 777)
    assert plan_windows(stopped, full=False, started_at=start, lookback=look, safety_lag=lag) == [
        Window(T - look, T + timedelta(minutes=10), 777),
        Window(T + timedelta(minutes=10) - look, start - lag),
    ]
    assert plan_windows(stopped, full=True, started_at=start, lookback=look, safety_lag=lag) == [
        Window(EPOCH, start - lag)
    ]


def test_settings_validate() -> None:
    with pytest.raises(ValueError, match="page_size"):
        PullSettings(page_size=500)
    with pytest.raises(ValueError, match="history_fields"):
        PullSettings(history_fields=("nope",))
