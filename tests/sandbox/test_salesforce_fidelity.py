# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Fidelity of the Salesforce emulator, driven through the real ``simple-salesforce`` client over
HTTPS. Test names follow the MUST checklist of ``salesforce-api.md`` section 9 (``test_<n>_...``).
Only the ``/__sandbox/`` control API is used for setup; never emulator internals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

if TYPE_CHECKING:
    from tests.sandbox.conftest_salesforce import SalesforceSandbox

pytest_plugins = ["tests.sandbox.conftest_salesforce"]

CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def is_case_safe_id(value: str) -> bool:
    """Independent re-implementation of the 18-char checksum (not the emulator's)."""
    if len(value) != 18:
        return False
    suffix = ""
    for chunk in (value[0:5], value[5:10], value[10:15]):
        bits = sum(1 << i for i, c in enumerate(chunk) if c.isupper())
        suffix += CHECKSUM[bits]
    return suffix == value[15:]


def owners_json(n: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "id": f"o{i:03d}",
            "first_name": f"Rep{i}",
            "last_name": "Owner",
            "email": f"rep{i}@example.com",
            "team": "ny-inbound",
            "timezone": "America/New_York",
            "manager_id": None,
            "active": True,
        }
        for i in range(1, n + 1)
    ]


def lead_json(i: int, **extra: Any) -> dict[str, Any]:
    at = "2026-09-01T10:00:00Z"
    rec = {
        "id": f"l{i:06d}",
        "created_at": at,
        "first_name": "Lee",
        "last_name": f"Lead{i}",
        "email": f"lead{i}@acme.test",
        "company": "Acme",
        "phone": None,
        "country": "US",
        "employees": 100,
        "source": "demo_request",
        "score": 50,
        "rating": "Hot",
        "owner_history": [{"at": at, "owner": "o001"}],
        "stage_history": [{"at": at, "stage": "lead"}],
        "status_history": [{"at": at, "status": "NEW"}],
        "merged_into": None,
        "merged_at": None,
        "deleted_at": None,
    }
    rec.update(extra)
    return rec


def seed_leads(sb: SalesforceSandbox, n: int, **extra: Any) -> None:
    sb.control(
        "POST",
        "/seed",
        {
            "owners": owners_json(),
            "leads": [lead_json(i, **extra) for i in range(n)],
            "touches": [],
        },
    )


def error_body(exc: Any) -> list[dict[str, Any]]:
    content = exc.content
    assert isinstance(content, list), content
    return content


# --- 1. Auth ---------------------------------------------------------------------------------------


def test_1_auth_soap_login_with_security_token_gives_working_session(
    salesforce: SalesforceSandbox,
) -> None:
    sf = salesforce.login()
    assert sf.sf_instance == salesforce.netloc
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_1_auth_soap_login_ip_filter_organization_id(salesforce: SalesforceSandbox) -> None:
    demo = salesforce.demo()
    sf = Salesforce(
        username=demo["username"],
        password=demo["password"],
        organizationId="00D5g0000000001",
        session=salesforce.session(),
    )
    assert sf.sf_instance == salesforce.netloc
    assert sf.query("SELECT Id FROM User")["totalSize"] >= 1


def test_1_auth_oauth_password_flow(salesforce: SalesforceSandbox) -> None:
    demo = salesforce.demo()
    sf = Salesforce(
        username=demo["username"],
        password=demo["password"],
        consumer_key=demo["consumer_key"],
        consumer_secret=demo["consumer_secret"],
        session=salesforce.session(),
    )
    assert sf.sf_instance == salesforce.netloc
    assert sf.query("SELECT Id FROM User")["totalSize"] >= 1


def test_1_auth_oauth_jwt_bearer_verified_with_registered_key(
    salesforce: SalesforceSandbox,
) -> None:
    demo = salesforce.demo()
    sf = Salesforce(
        username=demo["username"],
        consumer_key=demo["consumer_key"],
        privatekey=demo["private_key"],
        session=salesforce.session(),
    )
    assert sf.sf_instance == salesforce.netloc
    assert sf.query("SELECT Id FROM User")["totalSize"] >= 1


def test_1_auth_oauth_jwt_signed_with_wrong_key_is_refused(salesforce: SalesforceSandbox) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    demo = salesforce.demo()
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(
            username=demo["username"],
            consumer_key=demo["consumer_key"],
            privatekey=pem,
            session=salesforce.session(),
        )
    assert info.value.code == "invalid_grant"


def test_1_auth_oauth_client_credentials(salesforce: SalesforceSandbox) -> None:
    demo = salesforce.demo()
    sf = Salesforce(
        consumer_key=demo["consumer_key"],
        consumer_secret=demo["consumer_secret"],
        domain="acme.my",
        session=salesforce.session(),
    )
    assert sf.sf_instance == salesforce.netloc
    assert sf.query("SELECT Id FROM User")["totalSize"] >= 1


def test_1_auth_registered_user_and_app_via_control_api(salesforce: SalesforceSandbox) -> None:
    salesforce.control(
        "POST",
        "/salesforce/users",
        {"username": "ops@acme.test", "password": "pw", "security_token": "TOK"},
    )
    salesforce.control(
        "POST",
        "/salesforce/apps",
        {"consumer_key": "CK2", "consumer_secret": "CS2", "run_as": "ops@acme.test"},
    )
    sf = Salesforce(
        username="ops@acme.test", password="pw", security_token="TOK", session=salesforce.session()
    )
    assert sf.query("SELECT Username FROM User WHERE Username = 'ops@acme.test'")["totalSize"] == 1
    cc = Salesforce(
        consumer_key="CK2", consumer_secret="CS2", domain="acme.my", session=salesforce.session()
    )
    assert cc.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


@pytest.mark.parametrize("flow", ["soap", "oauth_password", "client_credentials"])
def test_1_auth_bad_credentials_raise_authentication_failed_with_code(
    salesforce: SalesforceSandbox, flow: str
) -> None:
    demo = salesforce.demo()
    kwargs: dict[str, Any] = {
        "soap": {"username": demo["username"], "password": "wrong", "security_token": "x"},
        "oauth_password": {
            "username": demo["username"],
            "password": "wrong",
            "consumer_key": demo["consumer_key"],
            "consumer_secret": demo["consumer_secret"],
        },
        "client_credentials": {
            "consumer_key": demo["consumer_key"],
            "consumer_secret": "nope",
            "domain": "acme.my",
        },
    }[flow]
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(session=salesforce.session(), **kwargs)
    assert (
        info.value.code
        == {
            "soap": "INVALID_LOGIN",
            "oauth_password": "invalid_grant",
            "client_credentials": "invalid_client",
        }[flow]
    )


def test_1_auth_revoked_session_relogin_on_query_and_sftype_get(
    salesforce: SalesforceSandbox,
) -> None:
    sf = salesforce.login()
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    first = sf.session_id
    salesforce.control("POST", "/salesforce/sessions/revoke", {"token": first})
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 1
    assert sf.session_id != first
    salesforce.control("POST", "/salesforce/sessions/revoke", {})
    assert sf.Lead.get(lead_id)["Id"] == lead_id  # SFType re-login: the new token is accepted


def test_1_auth_idle_expired_session_relogin_with_credentials(
    salesforce: SalesforceSandbox,
) -> None:
    sf = salesforce.login()
    salesforce.control("POST", "/salesforce/sessions", {"idle_timeout_seconds": 600})
    salesforce.control("POST", "/clock", {"advance_seconds": 601})
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_1_auth_direct_mode_raises_expired_session(salesforce: SalesforceSandbox) -> None:
    sf = salesforce.login()
    direct = Salesforce(
        instance_url=salesforce.url, session_id=sf.session_id, session=salesforce.session()
    )
    assert direct.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    salesforce.control("POST", "/salesforce/sessions/expire", {})
    with pytest.raises(SalesforceExpiredSession) as info:
        direct.query("SELECT COUNT() FROM Lead")
    assert error_body(info.value)[0]["errorCode"] == "INVALID_SESSION_ID"


# --- 2. Transport ----------------------------------------------------------------------------------


def test_2_transport_tls_trusted_through_requests_ca_bundle(
    salesforce: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sf = salesforce.login()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(salesforce.ca_path))
    plain = requests.Session()  # no verify set: only the environment makes the CA trusted
    direct = Salesforce(instance_url=salesforce.url, session_id=sf.session_id, session=plain)
    assert direct.query("SELECT COUNT() FROM Lead")["done"] is True


def test_2_transport_plain_http_is_not_served(salesforce: SalesforceSandbox) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(salesforce.url.replace("https://", "http://") + "/services/data/", timeout=5)


# --- 3. Query --------------------------------------------------------------------------------------


def test_3_query_paging_at_2000_with_absolute_reusable_next_records_url(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    seed_leads(salesforce, 4500)
    first = salesforce_client.query("SELECT Id FROM Lead ORDER BY CreatedDate")
    assert (first["totalSize"], len(first["records"]), first["done"]) == (4500, 2000, False)
    url = first["nextRecordsUrl"]
    assert url.startswith("/services/data/v59.0/query/")
    second = salesforce_client.query_more(url, identifier_is_url=True)
    again = salesforce_client.query_more(url, identifier_is_url=True)
    assert second["records"] == again["records"] and second["totalSize"] == 4500
    everything = salesforce_client.query_all("SELECT Id FROM Lead")
    ids = [r["Id"] for r in everything["records"]]
    assert len(ids) == len(set(ids)) == 4500


def test_3_query_batch_size_header(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    seed_leads(salesforce, 450)
    page = salesforce_client.query(
        "SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    assert len(page["records"]) == 200 and page["totalSize"] == 450
    rows = list(
        salesforce_client.query_all_iter(
            "SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"}
        )
    )
    assert len(rows) == 450


def test_3_query_all_includes_deleted_rows_and_query_does_not(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    keep = sf.Lead.create({"LastName": "Keep", "Company": "A"})["id"]
    gone = sf.Lead.create({"LastName": "Gone", "Company": "A"})["id"]
    sf.Lead.delete(gone)
    live = sf.query("SELECT Id, IsDeleted FROM Lead")
    assert [r["Id"] for r in live["records"]] == [keep]
    with_deleted = sf.query("SELECT Id, IsDeleted FROM Lead", include_deleted=True)
    assert {r["Id"]: r["IsDeleted"] for r in with_deleted["records"]} == {keep: False, gone: True}


def test_3_query_all_includes_seeded_merges_and_deletions(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    leads = [
        lead_json(1),
        lead_json(2, merged_into="l000001", merged_at="2026-09-02T00:00:00Z"),
        lead_json(3, deleted_at="2026-09-03T00:00:00Z"),
    ]
    salesforce.control("POST", "/seed", {"owners": owners_json(), "leads": leads, "touches": []})
    assert salesforce_client.query("SELECT COUNT() FROM Lead")["totalSize"] == 1
    rows = salesforce_client.query_all(
        "SELECT Id, LastName, IsDeleted, MasterRecordId FROM Lead ORDER BY LastName",
        include_deleted=True,
    )["records"]
    assert [(r["LastName"], r["IsDeleted"]) for r in rows] == [
        ("Lead1", False),
        ("Lead2", True),
        ("Lead3", True),
    ]
    assert rows[1]["MasterRecordId"] == rows[0]["Id"]


def test_3_query_count(salesforce: SalesforceSandbox, salesforce_client: Salesforce) -> None:
    seed_leads(salesforce, 7)
    assert salesforce_client.query("SELECT COUNT() FROM Lead WHERE Rating = 'Hot'") == {
        "totalSize": 7,
        "done": True,
        "records": [],
    }


def test_3_query_parent_and_polymorphic_relationships(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme", "Email": "d@acme.test"})["id"]
    sf.Task.create({"WhoId": lead_id, "Subject": "Call", "Status": "Completed"})
    lead = sf.query("SELECT Id, Owner.Name, Owner.Type FROM Lead")["records"][0]
    assert lead["Owner"]["attributes"]["type"] == "Name"
    assert lead["Owner"]["Name"] == "Sandbox Integration" and lead["Owner"]["Type"] == "User"
    task = sf.query(
        "SELECT Subject, Who.Name, Who.Type, CreatedBy.Name FROM Task WHERE Who.Type = 'Lead'"
    )["records"][0]
    assert task["Who"]["attributes"] == {
        "type": "Name",
        "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}",
    }
    assert task["CreatedBy"]["attributes"]["type"] == "User"
    hist = sf.query("SELECT Field, Lead.Email FROM LeadHistory")["records"][0]
    assert hist["Lead"]["Email"] == "d@acme.test"


def test_3_query_null_lookup_is_null(salesforce_client: Salesforce) -> None:
    salesforce_client.Task.create({"Subject": "orphan"})
    assert salesforce_client.query("SELECT Who.Name FROM Task")["records"][0]["Who"] is None


@pytest.mark.parametrize(
    "literal",
    [
        "2026-09-01T09:00:00Z",
        "2026-09-01T09:00:00.000Z",
        "2026-09-01T11:00:00+02:00",
        "2026-09-01T09:00:00.000+0000",
    ],
)
def test_3_query_datetime_literal_forms(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce, literal: str
) -> None:
    seed_leads(salesforce, 3)
    assert (
        salesforce_client.query(f"SELECT COUNT() FROM Lead WHERE CreatedDate > {literal}")[
            "totalSize"
        ]
        == 3
    )
    assert (
        salesforce_client.query(f"SELECT COUNT() FROM Lead WHERE CreatedDate < {literal}")[
            "totalSize"
        ]
        == 0
    )


def test_3_query_quoted_datetime_is_rejected(salesforce_client: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client.query("SELECT Id FROM Lead WHERE CreatedDate > '2026-09-01T09:00:00Z'")
    assert error_body(info.value)[0]["errorCode"] == "INVALID_FIELD"


def test_3_query_case_insensitive_names_and_string_equality_and_15_char_ids(
    salesforce_client: Salesforce,
) -> None:
    sf = salesforce_client
    lead_id = sf.Lead.create({"LastName": "McDoe", "Company": "Acme"})["id"]
    rows = sf.query(
        f"select id, lastname from lead where LASTNAME = 'mcdoe' and ID = '{lead_id[:15]}'"
    )["records"]
    assert rows[0]["Id"] == lead_id and rows[0]["LastName"] == "McDoe"
    assert sf.query(f"SELECT COUNT() FROM Lead WHERE Id IN ('{lead_id}')")["totalSize"] == 1


def test_3_query_where_and_or_parentheses_like_in_null_order_limit(
    salesforce_client: Salesforce,
) -> None:
    sf = salesforce_client
    for name, rating, email in [
        ("Ann", "Hot", "a@x.test"),
        ("Bob", "Warm", None),
        ("Cy", "Cold", "c@y.test"),
        ("Di", None, "d@x.test"),
    ]:
        sf.Lead.create({"LastName": name, "Company": "Acme", "Rating": rating, "Email": email})
    q = "SELECT LastName FROM Lead WHERE (Rating IN ('Hot','Cold') OR Rating = null) AND Email LIKE '%@x.test' ORDER BY LastName DESC"
    assert [r["LastName"] for r in sf.query(q)["records"]] == ["Di", "Ann"]
    q2 = "SELECT LastName FROM Lead WHERE Email != null AND Rating != 'Hot' ORDER BY Rating ASC NULLS LAST LIMIT 2"
    assert [r["LastName"] for r in sf.query(q2)["records"]] == ["Cy", "Di"]
    q3 = "SELECT LastName FROM Lead ORDER BY Rating NULLS FIRST, LastName"
    assert [r["LastName"] for r in sf.query(q3)["records"]] == ["Di", "Cy", "Ann", "Bob"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FORM Lead", "MALFORMED_QUERY"),
        ("SELECT Id, Foo__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Bogus = 1", "INVALID_FIELD"),
        ("SELECT Id FROM Leed", "INVALID_TYPE"),
    ],
)
def test_3_query_errors_are_400_json_lists(
    salesforce_client: Salesforce, soql: str, code: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client.query(soql)
    assert info.value.status == 400
    body = error_body(info.value)
    assert body[0]["errorCode"] == code and body[0]["message"]
    if code == "INVALID_FIELD" and "Foo__c" in soql:
        assert "No such column 'Foo__c' on entity 'Lead'" in body[0]["message"]


def test_3_query_locator_expiry_is_invalid_query_locator(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    seed_leads(salesforce, 2100)
    first = salesforce_client.query("SELECT Id FROM Lead")
    salesforce.control("POST", "/clock", {"advance_seconds": 16 * 60})
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert error_body(info.value)[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


# --- 4. CRUD ---------------------------------------------------------------------------------------


def test_4_crud_status_codes_and_shapes(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    created = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})
    assert created == {"id": created["id"], "success": True, "errors": []}
    assert is_case_safe_id(created["id"]) and created["id"].startswith("00Q")
    assert sf.Lead.update(created["id"], {"Rating": "Warm"}) == 204
    assert sf.Lead.delete(created["id"]) == 204
    statuses = [
        (r["method"], r["status"]) for r in salesforce.control("GET", "/requests")["requests"]
    ]
    assert ("POST", 201) in statuses
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Lead.get(created["id"])
    assert error_body(info.value)[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.get("00Q5g00000ZZZZZ")
    assert error_body(missing.value)[0]["errorCode"] == "NOT_FOUND"


def test_4_crud_required_fields_and_bad_picklist(salesforce_client: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client.Lead.create({"LastName": "NoCompany"})
    assert error_body(info.value)[0] == {
        "message": "Required fields are missing: [Company]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["Company"],
    }


def test_4_crud_get_returns_all_fields_with_rest_datetime_format(
    salesforce_client: Salesforce,
) -> None:
    lead_id = salesforce_client.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    rec = salesforce_client.Lead.get(lead_id)
    assert (
        rec["attributes"]["type"] == "Lead"
        and rec["Email"] is None
        and rec["Status"] == "Open - Not Contacted"
    )
    assert rec["SystemModstamp"].endswith("+0000") and len(rec["SystemModstamp"]) == 28
    trimmed = salesforce_client.Lead.get(lead_id, params={"fields": "Id,Status"})
    assert set(trimmed) == {"attributes", "Id", "Status"}


def test_4_crud_writes_bump_system_modstamp_last_modified_date_and_by(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    salesforce.control("POST", "/clock", {"now": "2026-11-20T18:00:00Z", "frozen": True})
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    salesforce.control("POST", "/clock", {"advance_seconds": 90})
    sf.Lead.update(lead_id, {"Rating": "Hot"})
    rec = sf.Lead.get(lead_id)
    assert rec["CreatedDate"] == "2026-11-20T18:00:00.000+0000"
    assert rec["SystemModstamp"] == rec["LastModifiedDate"] == "2026-11-20T18:01:30.000+0000"
    me = sf.query("SELECT Id FROM User WHERE Username = 'demo@sla-sync.sandbox'")["records"][0][
        "Id"
    ]
    assert rec["LastModifiedById"] == me
    hits = sf.query("SELECT Id FROM Lead WHERE SystemModstamp >= 2026-11-20T18:01:00Z")["records"]
    assert [h["Id"] for h in hits] == [lead_id]


def test_4_crud_lead_history_on_tracked_fields(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    salesforce.control(
        "POST",
        "/salesforce/users",
        {"username": "rep@acme.test", "password": "p", "first_name": "Pat", "last_name": "Rep"},
    )
    rep = sf.query("SELECT Id FROM User WHERE Username = 'rep@acme.test'")["records"][0]["Id"]
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    sf.Lead.update(
        lead_id,
        {"Status": "Marketing Qualified", "OwnerId": rep, "Phone": "555"},
        headers={"Sforce-Auto-Assign": "FALSE"},
    )
    rows = sf.query(
        f"SELECT Field, DataType, OldValue, NewValue FROM LeadHistory WHERE LeadId = '{lead_id}' ORDER BY CreatedDate"
    )["records"]
    changes = {(r["Field"], r["DataType"], r["OldValue"], r["NewValue"]) for r in rows}
    assert ("Status", "Text", "Open - Not Contacted", "Marketing Qualified") in changes
    assert ("Owner", "Text", "Sandbox Integration", "Pat Rep") in changes
    assert any(f == "Owner" and t == "EntityId" and new == rep for f, t, _, new in changes)
    assert not any(f == "Phone" for f, *_ in changes)  # not tracked


def test_4_crud_trailing_slash_tolerance(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    assert sf.restful(f"sobjects/Lead/{lead_id}/")["Id"] == lead_id
    assert sf.restful("query", params={"q": "SELECT COUNT() FROM Lead"})["totalSize"] == 1
    assert sf.restful("limits")["DailyApiRequests"]["Max"] > 0


def test_4_crud_sforce_auto_assign_honoured(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    salesforce.control(
        "POST",
        "/salesforce/users",
        {"username": "queue@acme.test", "password": "p", "last_name": "Router"},
    )
    salesforce.control(
        "POST",
        "/salesforce/assignment-rule",
        {"sobject": "Lead", "owner_usernames": ["queue@acme.test"]},
    )
    router = sf.query("SELECT Id FROM User WHERE Username = 'queue@acme.test'")["records"][0]["Id"]
    me = sf.query("SELECT Id FROM User WHERE Username = 'demo@sla-sync.sandbox'")["records"][0][
        "Id"
    ]
    kept = sf.Lead.create(
        {"LastName": "A", "Company": "X", "OwnerId": me}, headers={"Sforce-Auto-Assign": "FALSE"}
    )["id"]
    assigned = sf.Lead.create({"LastName": "B", "Company": "X", "OwnerId": me})["id"]
    assert sf.Lead.get(kept)["OwnerId"] == me
    assert sf.Lead.get(assigned)["OwnerId"] == router
    sf.Lead.update(
        kept,
        {"SLA_Note__c": None} if False else {"Rating": "Hot"},
        headers={"Sforce-Auto-Assign": "FALSE"},
    )
    assert sf.Lead.get(kept)["OwnerId"] == me
    sf.Lead.update(kept, {"Rating": "Warm"}, headers={"Sforce-Auto-Assign": "TRUE"})
    assert sf.Lead.get(kept)["OwnerId"] == router


def test_4_crud_without_assignment_rule_owner_is_kept(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    lead_id = sf.Lead.create({"LastName": "A", "Company": "X"})["id"]
    owner = sf.Lead.get(lead_id)["OwnerId"]
    sf.Lead.update(lead_id, {"Rating": "Hot"})
    assert sf.Lead.get(lead_id)["OwnerId"] == owner


def test_4_crud_custom_object_via_control_api(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    salesforce.control("POST", "/salesforce/objects", {"name": "Foo__c"})
    new = salesforce_client.Foo__c.create({"Name": "one"})
    assert new["success"] and is_case_safe_id(new["id"])
    assert salesforce_client.query("SELECT Name FROM Foo__c")["records"][0]["Name"] == "one"


# --- 5. Collections --------------------------------------------------------------------------------


def test_5_collections_partial_success_with_status_code_key(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    good = sf.Lead.create({"LastName": "A", "Company": "X"})["id"]
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "id": good, "Rating": "Hot"},
            {"attributes": {"type": "Lead"}, "id": good, "Bogus__c": 1},
        ],
    }
    result = sf.restful(
        "composite/sobjects", method="PATCH", json=body, headers={"Sforce-Auto-Assign": "FALSE"}
    )
    assert result[0] == {"id": good, "success": True, "errors": []}
    assert result[1]["success"] is False and result[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Lead.get(good)["Rating"] == "Hot"


def test_5_collections_all_or_none_rolls_back(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    good = sf.Lead.create({"LastName": "A", "Company": "X", "Rating": "Cold"})["id"]
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Lead"}, "id": good, "Rating": "Hot"},
            {"attributes": {"type": "Lead"}, "id": good, "Bogus__c": 1},
        ],
    }
    result = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert result[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert result[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Lead.get(good)["Rating"] == "Cold"
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Lead"}, "LastName": "B", "Company": "X"},
                {"attributes": {"type": "Lead"}, "LastName": "C"},
            ],
        },
    )
    assert [r["success"] for r in created] == [False, False]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 1
    assert sf.query("SELECT COUNT() FROM LeadHistory")["totalSize"] == 1


def test_5_collections_200_record_cap(salesforce_client: Salesforce) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "X"} for i in range(201)
    ]
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client.restful("composite/sobjects", method="POST", json={"records": records})
    assert error_body(info.value)[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_5_collections_injectable_unable_to_lock_row(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    salesforce.control(
        "POST",
        "/faults",
        {"kind": "status", "status": 400, "path": "/services/data/*/composite/sobjects"},
    )
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client.restful("composite/sobjects", method="PATCH", json={"records": []})
    assert error_body(info.value)[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"


# --- 6. getUpdated / getDeleted --------------------------------------------------------------------


def test_6_get_updated_and_get_deleted_shapes(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    salesforce.control("POST", "/clock", {"now": "2026-11-20T18:00:00Z", "frozen": True})
    kept = sf.Lead.create({"LastName": "A", "Company": "X"})["id"]
    gone = sf.Lead.create({"LastName": "B", "Company": "X"})["id"]
    sf.Lead.delete(gone)
    salesforce.control("POST", "/clock", {"advance_seconds": 3600})
    start, end = datetime(2026, 11, 20, 17, tzinfo=UTC), datetime(2026, 11, 20, 19, tzinfo=UTC)
    updated = sf.Lead.updated(start, end)
    assert updated["ids"] == [kept] and updated["latestDateCovered"].endswith("+0000")
    deleted = sf.Lead.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)


# --- 7. Describe -----------------------------------------------------------------------------------


def test_7_describe_picklists(salesforce_client: Salesforce) -> None:
    fields = {f["name"]: f for f in salesforce_client.Lead.describe()["fields"]}
    status = [v["value"] for v in fields["Status"]["picklistValues"]]
    assert "Open - Not Contacted" in status and "Closed - Converted" in status
    assert [v["value"] for v in fields["Rating"]["picklistValues"]] == ["Hot", "Warm", "Cold"]
    assert (
        fields["OwnerId"]["referenceTo"] == ["Group", "User"]
        and fields["OwnerId"]["relationshipName"] == "Owner"
    )
    assert fields["ConvertedDate"]["type"] == "date"
    task_fields = {f["name"] for f in salesforce_client.Task.describe()["fields"]}
    assert {"WhoId", "ActivityDate", "Status", "IsArchived"} <= task_fields
    for obj in ("Event", "User", "Contact", "LeadHistory"):
        assert salesforce_client.restful(f"sobjects/{obj}/describe")["name"] == obj
    names = {s["name"] for s in salesforce_client.describe()["sobjects"]}
    assert {"Lead", "Contact", "Task", "Event", "User"} <= names


def test_7_describe_tooling_custom_field_appears_in_describe_and_soql(
    salesforce_client: Salesforce,
) -> None:
    sf = salesforce_client
    made = sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={"FullName": "Lead.SLA_Due__c", "Metadata": {"label": "SLA Due", "type": "DateTime"}},
    )
    assert made["success"] is True and made["id"].startswith("00N")
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Lead.SLA_Status__c",
            "Metadata": {
                "label": "SLA Status",
                "type": "Picklist",
                "valueSet": {
                    "restricted": True,
                    "valueSetDefinition": {
                        "sorted": False,
                        "value": [
                            {"fullName": "On Track", "default": True, "label": "On Track"},
                            {"fullName": "Breached", "default": False, "label": "Breached"},
                        ],
                    },
                },
            },
        },
    )
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["SLA_Due__c"]["type"] == "datetime" and fields["SLA_Due__c"]["custom"] is True
    assert [v["value"] for v in fields["SLA_Status__c"]["picklistValues"]] == [
        "On Track",
        "Breached",
    ]
    lead_id = sf.Lead.create({"LastName": "A", "Company": "X"})["id"]
    sf.Lead.update(
        lead_id,
        {"SLA_Due__c": "2026-11-24T17:00:00.000Z", "SLA_Status__c": "Breached"},
        headers={"Sforce-Auto-Assign": "FALSE"},
    )
    row = sf.query(
        "SELECT SLA_Due__c, SLA_Status__c FROM Lead WHERE SLA_Due__c > 2026-11-24T00:00:00Z"
    )["records"][0]
    assert (
        row["SLA_Due__c"] == "2026-11-24T17:00:00.000+0000" and row["SLA_Status__c"] == "Breached"
    )
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.update(lead_id, {"SLA_Status__c": "Nope"})


# --- 8. Bulk 2.0 -----------------------------------------------------------------------------------


def test_8_bulk2_query_csv_with_locator_paging(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    seed_leads(salesforce, 25)
    pages = list(
        salesforce_client.bulk2.Lead.query(
            "SELECT Id, LastName, Owner.Name, CreatedDate FROM Lead", max_records=10, wait=0
        )
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(str(page)))]
    assert len(rows) == 25 and set(rows[0]) == {"Id", "LastName", "Owner.Name", "CreatedDate"}
    assert (
        rows[0]["Owner.Name"] == "Rep1 Owner"
        and rows[0]["CreatedDate"] == "2026-09-01T10:00:00.000Z"
    )
    assert len({r["Id"] for r in rows}) == 25


def test_8_bulk2_query_all_includes_deleted(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    seed_leads(salesforce, 3, deleted_at="2026-09-02T00:00:00Z")
    assert (
        "".join(salesforce_client.bulk2.Lead.query("SELECT Id FROM Lead", wait=0)).count("\n") == 1
    )
    pages = list(salesforce_client.bulk2.Lead.query_all("SELECT Id, IsDeleted FROM Lead", wait=0))
    assert "".join(str(p) for p in pages).count('"true"') == 3


# --- 10. Limits ------------------------------------------------------------------------------------


def test_10_limits_header_on_every_rest_response_and_limits_resource(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    sf.query("SELECT COUNT() FROM Lead")
    first = sf.api_usage["api-usage"]
    sf.query("SELECT COUNT() FROM Lead")
    assert sf.api_usage["api-usage"].used == first.used + 1 and first.total == 100_000
    raw = sf.session.get(f"{sf.base_url}sobjects/Lead/describe", headers=sf.headers)
    assert raw.headers["Sforce-Limit-Info"].startswith("api-usage=")
    bad = sf.session.get(f"{sf.base_url}sobjects/Nope__c/describe", headers=sf.headers)
    assert bad.status_code == 404 and "Sforce-Limit-Info" in bad.headers
    limits = sf.limits()
    assert (
        limits["DailyApiRequests"]["Max"] - limits["DailyApiRequests"]["Remaining"]
        == sf.api_usage["api-usage"].used
    )


def test_10_limits_request_limit_exceeded_is_403_without_relogin(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    sf = salesforce_client
    salesforce.control("POST", "/salesforce/limits", {"daily_max": 5, "used": 5})
    token = sf.session_id
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT COUNT() FROM Lead")
    assert info.value.status == 403
    assert error_body(info.value) == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert sf.session_id == token
    salesforce.control("POST", "/clock", {"advance_seconds": 24 * 3600 + 1})
    salesforce.control("POST", "/salesforce/sessions", {"idle_timeout_seconds": 10 * 24 * 3600})
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0  # the rolling window moved on


@pytest.mark.parametrize("status", [500, 503, 420])
def test_10_limits_injectable_server_errors(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce, status: int
) -> None:
    salesforce.control(
        "POST",
        "/faults",
        {"kind": "status", "status": status, "path": "/services/data/*/query*", "retry_after": 2},
    )
    with pytest.raises(SalesforceGeneralError) as info:
        salesforce_client.query("SELECT COUNT() FROM Lead")
    assert info.value.status == status and isinstance(info.value.content, list)
    assert salesforce_client.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


# --- 11. 401 body ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "query/?q=SELECT+Id+FROM+Lead",
        "sobjects/Lead/describe",
        "limits/",
        "jobs/query",
        "sobjects/Lead/00Q5g00000ZZZZZ",
    ],
)
def test_11_unauthorized_is_always_a_json_list(salesforce: SalesforceSandbox, path: str) -> None:
    session = salesforce.session()
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = session.get(f"{salesforce.url}/services/data/v59.0/{path}", headers=headers)
        assert response.status_code == 401
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_11_injected_401_is_a_json_list_and_triggers_relogin(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    salesforce.control(
        "POST", "/faults", {"kind": "status", "status": 401, "path": "/services/data/*/query*"}
    )
    first = salesforce_client.session_id
    assert salesforce_client.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    assert salesforce_client.session_id != first


# --- ids and seeding -------------------------------------------------------------------------------


def test_ids_are_18_chars_with_checksum_and_accepted_as_15(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    seed_leads(salesforce, 50)
    ids = [r["Id"] for r in salesforce_client.query("SELECT Id FROM Lead")["records"]]
    assert all(is_case_safe_id(i) for i in ids)
    assert any(i[15:] != "AAA" for i in ids)
    assert salesforce_client.Lead.get(ids[0][:15])["Id"] == ids[0]


def test_seed_json_maps_owners_leads_status_history_and_touches(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    lead = lead_json(
        1,
        owner_history=[
            {"at": "2026-09-01T10:00:00Z", "owner": "o001"},
            {"at": "2026-09-01T12:00:00Z", "owner": "o002"},
        ],
        stage_history=[
            {"at": "2026-09-01T10:00:00Z", "stage": "lead"},
            {"at": "2026-09-01T11:00:00Z", "stage": "marketingqualifiedlead"},
        ],
    )
    touches = [
        {
            "id": "t1",
            "lead": "l000001",
            "kind": "call",
            "at": "2026-09-01T13:00:00Z",
            "created_at": "2026-09-01T13:05:00Z",
            "owner": "o002",
            "direction": "outbound",
            "automated": False,
            "subject": "Intro call",
        },
        {
            "id": "t2",
            "lead": "l000001",
            "kind": "meeting",
            "at": "2026-09-02T13:00:00Z",
            "created_at": "2026-09-01T14:00:00Z",
            "owner": "o002",
            "direction": "outbound",
            "automated": False,
            "subject": "Demo",
        },
    ]
    counts = salesforce.control(
        "POST", "/seed", {"owners": owners_json(), "leads": [lead], "touches": touches}
    )["seeded"]
    assert counts == {"User": 2, "Lead": 1, "Task": 1, "Event": 1}
    sf = salesforce_client
    row = sf.query("SELECT Id, Status, Owner.Name, SystemModstamp FROM Lead")["records"][0]
    assert row["Status"] == "Marketing Qualified" and row["Owner"]["Name"] == "Rep2 Owner"
    assert row["SystemModstamp"] == "2026-09-01T12:00:00.000+0000"
    hist = sf.query("SELECT Field, NewValue, CreatedDate FROM LeadHistory WHERE Field = 'Status'")[
        "records"
    ]
    assert [(h["NewValue"], h["CreatedDate"]) for h in hist] == [
        ("Marketing Qualified", "2026-09-01T11:00:00.000+0000")
    ]
    task = sf.query("SELECT TaskSubtype, CallType, Who.Id, CompletedDateTime FROM Task")["records"][
        0
    ]
    assert (task["TaskSubtype"], task["CallType"], task["Who"]["Id"]) == (
        "Call",
        "Outbound",
        row["Id"],
    )
    event = sf.query("SELECT StartDateTime, Who.Id FROM Event")["records"][0]
    assert event["StartDateTime"] == "2026-09-02T13:00:00.000+0000"


def test_fault_rules_carry_retry_after(
    salesforce: SalesforceSandbox, salesforce_client: Salesforce
) -> None:
    salesforce.control(
        "POST", "/faults", {"kind": "status", "status": 503, "path": "*", "retry_after": 7}
    )
    response = salesforce_client.session.get(
        f"{salesforce_client.base_url}limits/", headers=salesforce_client.headers
    )
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
