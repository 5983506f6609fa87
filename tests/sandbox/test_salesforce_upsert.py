"""Upsert by external id (``salesforce-api.md`` §2.6, §9.4) through the real client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

if TYPE_CHECKING:
    from tests.sandbox.conftest_salesforce import SalesforceSandbox

pytest_plugins = ["tests.sandbox.conftest_salesforce"]


def add_external_id(sf: Salesforce, name: str = "Ext_Id__c") -> None:
    made = sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": f"Lead.{name}",
            "Metadata": {"type": "Text", "length": 40, "label": name, "externalId": True},
        },
    )
    assert made["success"] is True


def test_4_upsert_creates_with_201_then_updates_with_200(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    add_external_id(sf)
    field = sf.Lead.describe()["fields"]
    ext = next(f for f in field if f["name"] == "Ext_Id__c")
    assert ext["externalId"] is True and ext["idLookup"] is True

    first = sf.Lead.upsert(
        "Ext_Id__c/ABC", {"LastName": "Doe", "Company": "Acme"}, raw_response=True
    )
    assert first.status_code == 201
    body = first.json()
    assert body["success"] is True and body["errors"] == [] and body["created"] is True
    assert len(body["id"]) == 18 and body["id"].startswith("00Q")
    assert sf.Lead.get(body["id"])["Ext_Id__c"] == "ABC"

    second = sf.Lead.upsert("Ext_Id__c/abc", {"Company": "Acme 2"}, raw_response=True)
    assert second.status_code == 200
    assert second.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    # Without raw_response the client returns the status code.
    assert sf.Lead.upsert("Ext_Id__c/ABC", {"Title": "CTO"}) == 200
    assert sf.Lead.upsert("Ext_Id__c/NEW1", {"LastName": "X", "Company": "Y"}) == 201

    got = sf.Lead.get_by_custom_id("Ext_Id__c", "ABC")
    assert got["Id"] == body["id"] and got["Company"] == "Acme 2" and got["Title"] == "CTO"
    rows = sf.query("SELECT Id, Company FROM Lead WHERE Ext_Id__c = 'ABC'")["records"]
    assert [(r["Id"], r["Company"]) for r in rows] == [(body["id"], "Acme 2")]


def test_4_upsert_duplicate_external_id_is_300_with_matching_records(
    salesforce_client: Salesforce,
) -> None:
    sf = salesforce_client
    add_external_id(sf)
    a = sf.Lead.create({"LastName": "A", "Company": "C", "Ext_Id__c": "DUP"})["id"]
    b = sf.Lead.create({"LastName": "B", "Company": "C", "Ext_Id__c": "DUP"})["id"]
    with pytest.raises(SalesforceMoreThanOneRecord) as info:
        sf.Lead.upsert("Ext_Id__c/DUP", {"Company": "Z"})
    assert info.value.status == 300
    urls = info.value.content
    assert sorted(urls) == sorted(f"/services/data/v59.0/sobjects/Lead/{i}" for i in (a, b))
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Lead.get_by_custom_id("Ext_Id__c", "DUP")
    # Neither record changed.
    assert {sf.Lead.get(i)["Company"] for i in (a, b)} == {"C"}


def test_4_upsert_after_delete_creates_a_new_record(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    add_external_id(sf)
    old = sf.Lead.create({"LastName": "A", "Company": "C", "Ext_Id__c": "GONE"})["id"]
    sf.Lead.delete(old)
    created = sf.Lead.upsert("Ext_Id__c/GONE", {"LastName": "B", "Company": "C"}, raw_response=True)
    assert created.status_code == 201 and created.json()["id"] != old


def test_4_upsert_unknown_or_non_external_field_errors(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    add_external_id(sf)
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.upsert("Nope__c/1", {"LastName": "X", "Company": "Y"})
    assert missing.value.content[0]["errorCode"] == "NOT_FOUND"
    assert "Nope__c" in missing.value.content[0]["message"]
    with pytest.raises(SalesforceMalformedRequest) as not_ext:
        sf.Lead.upsert("LastName/X", {"Company": "Y"})
    assert not_ext.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as bad_field:
        sf.Lead.upsert("Ext_Id__c/Q", {"LastName": "X", "Company": "Y", "Bogus__c": 1})
    assert bad_field.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as required:
        sf.Lead.upsert("Ext_Id__c/Q", {"Company": "Y"})
    assert required.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get_by_custom_id("Ext_Id__c", "NONE")
    assert sf.query("SELECT COUNT() FROM Lead WHERE Ext_Id__c = 'Q'")["totalSize"] == 0


def test_4_upsert_invalidates_query_cache(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    add_external_id(sf)
    sf.Lead.upsert("Ext_Id__c/K1", {"LastName": "A", "Company": "Old"})
    soql = "SELECT Company FROM Lead WHERE Ext_Id__c = 'K1'"
    assert sf.query(soql)["records"][0]["Company"] == "Old"
    sf.Lead.upsert("Ext_Id__c/K1", {"Company": "New"})
    assert sf.query(soql)["records"][0]["Company"] == "New"


def test_4_upsert_before_api_46_updates_with_204(salesforce: SalesforceSandbox) -> None:
    sf = salesforce.login(version="45.0")
    add_external_id(sf)
    assert sf.Lead.upsert("Ext_Id__c/V", {"LastName": "A", "Company": "C"}) == 201
    assert sf.Lead.upsert("Ext_Id__c/V", {"Company": "D"}) == 204
