"""``ensure_schema`` against the emulator: idempotent, dry run, conflicts."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Sandbox

from sla_sync.connectors.base import FatalConnectorError, SchemaChange, SlaField, SlaStatus
from sla_sync.connectors.hubspot.properties import GROUP_LABEL, GROUP_NAME, NAMES, PROPERTIES

PROPS = "/crm/v3/properties/contacts"


def ours(hs: Sandbox) -> dict[str, Any]:
    """Our properties as the portal has them."""
    results = hs.api("GET", PROPS)["results"]
    return {p["name"]: p for p in results if p["name"] in NAMES}


def actions(changes: list[SchemaChange]) -> dict[str, str]:
    return {c.name: c.action for c in changes}


def test_first_run_creates_second_run_changes_nothing(hs: Sandbox, make_connector: Any) -> None:
    connector = make_connector()
    first = connector.ensure_schema()
    assert first[0] == SchemaChange(kind="property group", name=GROUP_NAME, action="created")
    assert actions(first) == {GROUP_NAME: "created", **dict.fromkeys(NAMES, "created")}
    portal = ours(hs)
    assert set(portal) == set(NAMES)
    status = portal["sla_sync_status"]
    assert (status["type"], status["fieldType"], status["groupName"]) == (
        "enumeration",
        "select",
        GROUP_NAME,
    )
    assert [o["value"] for o in status["options"]] == [s.value for s in SlaStatus]
    assert "Not in SLA" in [o["label"] for o in status["options"]]
    kinds = {p["name"]: p["type"] for p in portal.values()}
    assert kinds["sla_sync_due_at"] == "datetime"
    assert kinds["sla_sync_owner_speed_mtd"] == "number"
    assert kinds["sla_sync_agreement"] == "string"
    assert not status["formField"]

    hs.reset_counters()
    second = make_connector().ensure_schema()
    assert set(actions(second).values()) == {"unchanged"}
    assert len(second) == 1 + len(SlaField)
    assert hs.counters()["total"] == 2  # two reads, no write


def test_dry_run_creates_nothing(hs: Sandbox, make_connector: Any) -> None:
    changes = make_connector().ensure_schema(dry_run=True)
    assert set(actions(changes).values()) == {"would create"}
    assert ours(hs) == {}
    assert hs.calls("POST") == 0


def test_missing_properties_are_added_to_an_existing_group(
    hs: Sandbox, make_connector: Any
) -> None:
    hs.api("POST", f"{PROPS}/groups", {"name": GROUP_NAME, "label": GROUP_LABEL})
    hs.api("POST", PROPS, PROPERTIES[SlaField.TIER].create_body(0))
    changes = actions(make_connector().ensure_schema())
    assert changes[GROUP_NAME] == "unchanged"
    assert changes["sla_sync_tier"] == "unchanged"
    assert sum(1 for a in changes.values() if a == "created") == len(SlaField) - 1


def test_a_property_of_another_type_is_a_conflict_naming_it(
    hs: Sandbox, make_connector: Any
) -> None:
    hs.api("POST", f"{PROPS}/groups", {"name": "custom", "label": "Custom"})
    hs.api(
        "POST",
        PROPS,
        {
            "name": "sla_sync_due_at",
            "label": "Our own due date",
            "type": "string",
            "fieldType": "text",
            "groupName": "custom",
        },
    )
    hs.reset_counters()
    with pytest.raises(FatalConnectorError, match="'sla_sync_due_at'") as caught:
        make_connector().ensure_schema()
    assert "string" in str(caught.value) and "datetime" in str(caught.value)
    assert hs.calls("POST") == 0  # refused before writing anything


def _drifted_status(hs: Sandbox) -> None:
    hs.api("POST", f"{PROPS}/groups", {"name": GROUP_NAME, "label": GROUP_LABEL})
    body = PROPERTIES[SlaField.STATUS].create_body(0)
    body["options"] = [{"value": "on_track", "label": "OK", "displayOrder": 0, "hidden": False}]
    hs.api("POST", PROPS, body)


def test_dry_run_reports_drifted_options(hs: Sandbox, make_connector: Any) -> None:
    _drifted_status(hs)
    changes = actions(make_connector().ensure_schema(dry_run=True))
    assert changes["sla_sync_status"] == "would update"
    assert changes[GROUP_NAME] == "unchanged"


def test_drifted_options_are_put_back(hs: Sandbox, make_connector: Any) -> None:
    _drifted_status(hs)
    changes = actions(make_connector().ensure_schema())
    assert changes["sla_sync_status"] == "updated"
    options = ours(hs)["sla_sync_status"]["options"]
    assert [o["value"] for o in options] == [s.value for s in SlaStatus]
