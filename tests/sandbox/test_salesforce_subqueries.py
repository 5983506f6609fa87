"""Child relationship subqueries (``salesforce-api.md`` §2.2, §9.3) through the real client."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

pytest_plugins = ["tests.sandbox.conftest_salesforce"]


def lead(sf: Salesforce, name: str) -> str:
    return str(sf.Lead.create({"LastName": name, "Company": "Acme"})["id"])


def test_3_query_child_subquery_shape_and_null_when_empty(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    with_tasks, without = lead(sf, "A"), lead(sf, "B")
    t1 = sf.Task.create({"WhoId": with_tasks, "Subject": "Call"})["id"]
    t2 = sf.Task.create({"WhoId": with_tasks, "Subject": "Email"})["id"]
    result = sf.query(
        "SELECT Id, (SELECT Id, Subject FROM Tasks ORDER BY Subject DESC), LastName FROM Lead "
        "ORDER BY LastName"
    )
    assert result["totalSize"] == 2
    first, second = result["records"]
    assert list(first) == ["attributes", "Id", "Tasks", "LastName"]
    assert first["Id"] == with_tasks
    tasks = first["Tasks"]
    assert tasks["totalSize"] == 2 and tasks["done"] is True
    assert [r["Id"] for r in tasks["records"]] == [t2, t1]
    assert tasks["records"][0] == {
        "attributes": {"type": "Task", "url": f"/services/data/v59.0/sobjects/Task/{t2}"},
        "Id": t2,
        "Subject": "Email",
    }
    assert second["Id"] == without and second["Tasks"] is None


def test_3_query_child_subqueries_tasks_events_histories_with_where_and_limit(
    salesforce_client: Salesforce,
) -> None:
    sf = salesforce_client
    lead_id = lead(sf, "A")
    sf.Lead.update(lead_id, {"Status": "Working - Contacted"})
    for subject in ("Call 1", "Call 2", "Email"):
        sf.Task.create({"WhoId": lead_id, "Subject": subject})
    sf.Event.create(
        {
            "WhoId": lead_id,
            "Subject": "Meeting",
            "ActivityDateTime": "2026-11-20T18:00:00.000+0000",
            "DurationInMinutes": 30,
        }
    )
    row = sf.query(
        "select Id, (select Subject from tasks where Subject like 'Call%' order by Subject "
        "limit 1), (SELECT Subject, Who.Name FROM Events), (SELECT Field, NewValue FROM Histories "
        f"WHERE Field = 'Status') FROM Lead WHERE Id = '{lead_id}'"
    )["records"][0]
    assert [r["Subject"] for r in row["Tasks"]["records"]] == ["Call 1"]
    assert row["Tasks"]["totalSize"] == 1
    event = row["Events"]["records"][0]
    assert event["Subject"] == "Meeting" and event["Who"]["Name"] == "A"
    assert event["Who"]["attributes"]["type"] == "Name"
    assert [(h["Field"], h["NewValue"]) for h in row["Histories"]["records"]] == [
        ("Status", "Working - Contacted")
    ]


def test_3_query_child_subquery_sees_writes_and_deletes(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    lead_id = lead(sf, "A")
    soql = "SELECT Id, (SELECT Subject FROM Tasks) FROM Lead"
    assert sf.query(soql)["records"][0]["Tasks"] is None
    task = sf.Task.create({"WhoId": lead_id, "Subject": "Call"})["id"]
    assert sf.query(soql)["records"][0]["Tasks"]["records"][0]["Subject"] == "Call"
    sf.Task.update(task, {"Subject": "Email"})
    assert sf.query(soql)["records"][0]["Tasks"]["records"][0]["Subject"] == "Email"
    sf.Task.delete(task)
    assert sf.query(soql)["records"][0]["Tasks"] is None
    assert sf.query_all(soql, include_deleted=True)["records"][0]["Tasks"]["totalSize"] == 1


def test_3_query_child_subquery_paging(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    for start in (0, 200):
        records = [
            {"attributes": {"type": "Lead"}, "LastName": f"L{i:03d}", "Company": "Acme"}
            for i in range(start, start + 200)
        ]
        made = sf.restful(
            "composite/sobjects", method="POST", json={"allOrNone": True, "records": records}
        )
        assert all(r["success"] for r in made)
    last = sf.query("SELECT Id FROM Lead WHERE LastName = 'L399'")["records"][0]["Id"]
    sf.Task.create({"WhoId": last, "Subject": "Call"})
    soql = "SELECT Id, LastName, (SELECT Subject FROM Tasks) FROM Lead ORDER BY LastName"
    first = sf.query(soql, headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["done"] is False and all(r["Tasks"] is None for r in first["records"])
    rows = sf.query_all(soql)["records"]
    assert len(rows) == 400
    assert [r["LastName"] for r in rows if r["Tasks"]] == ["L399"]
    assert rows[-1]["Tasks"]["records"][0]["Subject"] == "Call"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id, (SELECT Id FROM Nope) FROM Lead", "INVALID_TYPE"),
        ("SELECT Id, (SELECT Bogus FROM Tasks) FROM Lead", "INVALID_FIELD"),
        ("SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM Tasks) FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id, (SELECT Id FROM Tasks FROM Lead", "MALFORMED_QUERY"),
    ],
)
def test_3_query_child_subquery_errors(salesforce_client: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client.query(soql)
    assert info.value.content[0]["errorCode"] == code


def test_7_describe_lists_lead_child_relationships(salesforce_client: Salesforce) -> None:
    children = salesforce_client.Lead.describe()["childRelationships"]
    assert {(c["relationshipName"], c["childSObject"], c["field"]) for c in children} == {
        ("Tasks", "Task", "WhoId"),
        ("Events", "Event", "WhoId"),
        ("Histories", "LeadHistory", "LeadId"),
    }
