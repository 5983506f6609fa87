"""Connection field mapping (``fields:``) and building connectors from connection specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla_sync.definitions import check_config_text, load_config, load_config_text
from sla_sync.pipeline.connect import UnsupportedConnectionError, open_connector
from sla_sync.settings import MissingSecretError
from tests.pipeline.support import CONFIG_FILE, CONNECTION

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "sla-sync.example.yaml"


def test_lead_fields_map_what_the_agreements_read() -> None:
    config = load_config(CONFIG_FILE)
    assert config.lead_fields(CONNECTION) == {
        "lead_score": "hubspotscore",
        "lead_source": "hs_analytics_source",
    }
    assert config.history_fields(CONNECTION) == ("lead_score",)
    assert [p.id for p in config.agreements_of(CONNECTION)] == ["na", "hot"]


def test_defaults_per_crm_and_identity_otherwise() -> None:
    config = load_config(EXAMPLE)
    assert config.lead_fields("hubspot-main")["employees"] == "numemployees"
    assert config.lead_fields("hubspot-main")["phone"] == "phone"
    assert config.lead_fields("salesforce-emea") == {
        "employees": "NumberOfEmployees",
        "phone": "Phone",
        "rating": "Rating",
    }


def test_explicit_fields_win_and_are_always_pulled() -> None:
    text = CONFIG_FILE.read_text(encoding="utf-8").replace(
        "      lead_score: hubspotscore\n",
        "      lead_score: sla_score__c\n      region: hs_region\n",
    )
    config = load_config_text(text)
    assert config.lead_fields(CONNECTION) == {
        "lead_score": "sla_score__c",
        "lead_source": "hs_analytics_source",
        "region": "hs_region",
    }


def test_bad_field_names_are_config_problems() -> None:
    text = CONFIG_FILE.read_text(encoding="utf-8").replace(
        "      lead_score: hubspotscore\n", "      lead_score: hubspot score\n"
    )
    [problem] = check_config_text(text)
    assert problem.path == "connections[0].fields.lead_score"
    assert problem.line == 13


def test_open_connector_refuses_salesforce_and_names_a_missing_secret() -> None:
    config = load_config(EXAMPLE)
    with pytest.raises(UnsupportedConnectionError, match="not yet supported"):
        open_connector(config.connection("salesforce-emea"), environ={})
    with pytest.raises(MissingSecretError, match="HUBSPOT_TOKEN"):
        open_connector(config.connection("hubspot-main"), environ={})
