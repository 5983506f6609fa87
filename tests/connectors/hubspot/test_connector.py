"""``HubSpotConnector`` keeps the ``CrmConnector`` contract."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Sandbox

from sla_sync.connectors.base import CrmConnector, FieldUpdate, QuotaExhaustedError, SlaField
from sla_sync.connectors.hubspot.connector import HubSpotConnector
from sla_sync.domain import CrmKind


def test_capabilities_and_protocol(make_connector: Any) -> None:
    connector = make_connector()
    assert isinstance(connector, CrmConnector)
    caps = connector.capabilities
    assert caps.crm is CrmKind.HUBSPOT
    assert (caps.lifecycle_history, caps.association_changes_bump_modified) == (True, False)
    assert (caps.reports_merges, caps.reports_deletions) == (True, True)
    assert (caps.max_batch_write, caps.creates_tasks) == (100, True)


def test_streams_come_from_the_pull_module(make_connector: Any) -> None:
    pull = pytest.importorskip("sla_sync.connectors.hubspot.pull")
    assert make_connector().streams() == tuple(pull.STREAMS)


def test_schema_push_read_and_usage(hs: Sandbox, make_connector: Any) -> None:
    connector = make_connector(connection="acme-hubspot")
    connector.ensure_schema()
    [lead] = hs.create_contacts(1)
    [result] = connector.push_fields([FieldUpdate(lead_id=lead, values={SlaField.TIER: "hot"})])
    assert result.ok
    assert connector.read_fields([lead])[lead][SlaField.TIER] == "hot"
    usage = connector.usage()
    assert usage.calls == {"read": 3, "write": 1 + len(SlaField) + 1}
    assert usage.retries == {} and usage.rate_limited == 0


def test_quota_share_is_enforced_by_the_connector(hs: Sandbox, make_connector: Any) -> None:
    connector = make_connector(api_tier="starter", daily_quota_share=0.01, spent_today_before=2_500)
    with pytest.raises(QuotaExhaustedError):
        connector.ensure_schema()
    assert hs.counters()["total"] == 0


def test_unknown_options_are_refused() -> None:
    with pytest.raises(TypeError, match="backof"):
        HubSpotConnector(token_source=lambda: "x", backof=1.0)
