"""Bulk API 2.0 ingest (``salesforce-api.md`` §2.12, §9.8) through the real client."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceBulkV2LoadError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

pytest_plugins = ["tests.sandbox.conftest_salesforce"]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_8_bulk2_insert_then_update_with_results_csv(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    inserted = sf.bulk2.Lead.insert(
        records=[
            {"LastName": "Doe", "Company": "Acme", "Status": "Open - Not Contacted"},
            {"LastName": "Roe", "Company": "Beta"},
            {"FirstName": "Bad", "Company": "Acme"},
        ],
        wait=0,
    )
    assert len(inserted) == 1
    summary = inserted[0]
    assert summary["numberRecordsProcessed"] == 3 and summary["numberRecordsFailed"] == 1
    assert summary["numberRecordsTotal"] == 3 and summary["job_id"].startswith("750")
    job_id = summary["job_id"]

    ok_text = sf.bulk2.Lead.get_successful_records(job_id)
    assert ok_text.splitlines()[0].startswith('"sf__Id","sf__Created"')
    ok = rows(ok_text)
    assert sorted(r["LastName"] for r in ok) == ["Doe", "Roe"]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("00Q") for r in ok)
    failed = rows(sf.bulk2.Lead.get_failed_records(job_id))
    assert [(r["sf__Id"], r["FirstName"], r["LastName"]) for r in failed] == [("", "Bad", "")]
    assert failed[0]["sf__Error"] == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
    )
    assert rows(sf.bulk2.Lead.get_unprocessed_records(job_id)) == []

    info = sf.restful(f"jobs/ingest/{job_id}")
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Ingest"
    assert info["operation"] == "insert" and info["object"] == "Lead"

    soql = "SELECT Id, LastName, Company FROM Lead ORDER BY LastName"
    assert [r["LastName"] for r in sf.query(soql)["records"]] == ["Doe", "Roe"]
    doe = next(r["sf__Id"] for r in ok if r["LastName"] == "Doe")
    updated = sf.bulk2.Lead.update(
        records=[{"Id": doe, "Company": "Acme 2", "LastName": ""}, {"Id": "00Q000000000000"}],
        wait=0,
    )
    assert updated[0]["numberRecordsProcessed"] == 2
    assert updated[0]["numberRecordsFailed"] == 1
    upd_ok = rows(sf.bulk2.Lead.get_successful_records(updated[0]["job_id"]))
    assert [(r["sf__Id"], r["sf__Created"]) for r in upd_ok] == [(doe, "false")]
    # The query cache sees the bulk write; the empty cell left LastName unchanged.
    assert sf.query(soql)["records"][0]["Company"] == "Acme 2"
    assert sf.query(soql)["records"][0]["LastName"] == "Doe"


def test_8_bulk2_upsert_and_delete(salesforce_client: Salesforce, tmp_path: Path) -> None:
    sf = salesforce_client
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Lead.Ext_Id__c",
            "Metadata": {"type": "Text", "length": 40, "label": "Ext", "externalId": True},
        },
    )
    existing = sf.Lead.create({"LastName": "Old", "Company": "C", "Ext_Id__c": "E1"})["id"]
    path = tmp_path / "leads.csv"
    path.write_text("Ext_Id__c,LastName,Company\nE1,Old,New Co\nE2,Fresh,C\n")
    result = sf.bulk2.Lead.upsert(csv_file=str(path), external_id_field="Ext_Id__c", wait=0)
    assert result[0]["numberRecordsFailed"] == 0
    ok = rows(sf.bulk2.Lead.get_successful_records(result[0]["job_id"]))
    assert [(r["Ext_Id__c"], r["sf__Created"]) for r in ok] == [("E1", "false"), ("E2", "true")]
    assert ok[0]["sf__Id"] == existing
    assert sf.Lead.get(existing)["Company"] == "New Co"

    deleted = sf.bulk2.Lead.delete(records=[{"Id": existing}], wait=0)
    assert deleted[0]["numberRecordsFailed"] == 0
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 1
    assert sf.query("SELECT COUNT() FROM Lead", include_deleted=True)["totalSize"] == 2


def test_8_bulk2_ingest_raw_protocol(salesforce_client: Salesforce) -> None:
    """The steps of §2.12 one by one: Open on create, 201 on PUT, JSON on PATCH."""
    sf = salesforce_client
    job = sf.restful(
        "jobs/ingest",
        method="POST",
        json={"operation": "insert", "object": "Lead", "contentType": "CSV", "lineEnding": "LF"},
    )
    assert job["state"] == "Open" and job["id"].startswith("750")
    put = sf.session.put(
        f"{sf.base_url}jobs/ingest/{job['id']}/batches",
        data=b"LastName,Company\nA,B\n",
        headers={**sf.headers, "Content-Type": "text/csv"},
    )
    assert put.status_code == 201
    closed = sf.restful(
        f"jobs/ingest/{job['id']}", method="PATCH", json={"state": "UploadComplete"}
    )
    assert closed["state"] == "UploadComplete"
    again = sf.session.put(
        f"{sf.base_url}jobs/ingest/{job['id']}/batches",
        data=b"LastName,Company\nC,D\n",
        headers={**sf.headers, "Content-Type": "text/csv"},
    )
    assert again.status_code == 409
    infos = sf.restful("jobs/ingest")["records"]
    assert [i["id"] for i in infos] == [job["id"]]


def test_8_bulk2_ingest_errors(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    with pytest.raises(SalesforceMalformedRequest):
        sf.bulk2.Nope__c.insert(records=[{"Name": "x"}], wait=0)
    with pytest.raises(SalesforceMalformedRequest):
        sf.bulk2.Lead.upsert(records=[{"LastName": "x"}], external_id_field="LastName", wait=0)
    with pytest.raises(SalesforceBulkV2LoadError):
        sf.bulk2.Lead.delete(records=[{"Id": "00Q000000000000", "LastName": "x"}], wait=0)
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("jobs/ingest/750000000000000AAA")
