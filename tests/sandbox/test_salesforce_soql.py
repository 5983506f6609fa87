# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Unit tests of the pure SOQL parser/evaluator (``sla_sync.sandbox.salesforce.soql``) and ids."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from sla_sync.sandbox.salesforce import soql
from sla_sync.sandbox.salesforce.ids import IdFactory, is_valid18, to18

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
TYPES = {
    "Name": "string",
    "CreatedDate": "datetime",
    "ActivityDate": "date",
    "Score": "double",
    "Id": "id",
    "Flag": "boolean",
}


def resolve(ref: soql.FieldRef) -> soql.Resolved:
    name = next((n for n in TYPES if n.lower() == ref.text.lower()), None)
    if name is None:
        raise soql.error_at("", ref.pos, "INVALID_FIELD", f"No such column '{ref.text}'")
    return soql.Resolved(lambda row, n=name: row.get(n), TYPES[name])


def matches(where: str, row: dict[str, Any]) -> bool:
    text = f"SELECT Id FROM X WHERE {where}"
    parsed = soql.parse(text)
    assert parsed.where is not None
    return soql.compile_where(text, parsed.where, resolve, NOW)(row)


def test_parse_fields_relationships_order_limit_offset() -> None:
    q = soql.parse(
        "select Id, Owner.Name from Lead order by CreatedDate desc nulls first, Name limit 10 offset 5"
    )
    assert [f.path for f in q.fields] == [("Id",), ("Owner", "Name")]
    assert q.sobject == "Lead" and q.limit == 10 and q.offset == 5
    assert (q.order[0].descending, q.order[0].nulls_last, q.order[1].nulls_last) == (
        True,
        False,
        False,
    )


def test_count_only() -> None:
    assert soql.parse("SELECT COUNT() FROM Lead").count_only


@pytest.mark.parametrize(
    "literal",
    [
        "2026-11-20T18:00:00Z",
        "2026-11-20T18:00:00.000Z",
        "2026-11-20T18:00:00.000+0000",
        "2026-11-20T20:00:00+02:00",
        "2026-11-20T10:00:00-08:00",
    ],
)
def test_datetime_literal_forms(literal: str) -> None:
    assert matches(f"CreatedDate = {literal}", {"CreatedDate": NOW})


def test_date_literal_and_relative_dates() -> None:
    assert matches("ActivityDate = 2026-11-20", {"ActivityDate": date(2026, 11, 20)})
    assert matches("ActivityDate = TODAY", {"ActivityDate": date(2026, 11, 20)})
    assert matches(
        "CreatedDate = LAST_N_DAYS:3", {"CreatedDate": datetime(2026, 11, 18, tzinfo=UTC)}
    )
    assert not matches("CreatedDate = YESTERDAY", {"CreatedDate": NOW})


def test_boolean_logic_and_precedence() -> None:
    row = {"Name": "Acme", "Score": 5.0, "Flag": True}
    assert matches("Name = 'x' OR Name = 'ACME' AND Score > 1", row)
    assert not matches("(Name = 'x' OR Name = 'acme') AND Score > 10", row)
    assert matches("NOT Score > 10 AND Flag = true", row)


def test_operators_null_in_like() -> None:
    row = {"Name": "Acme Corp", "Score": None}
    assert matches("Score = null", row) and not matches("Score != null", row)
    assert not matches("Score > 1", row) and not matches("Score < 1", row)
    assert matches("Name LIKE 'acme%'", row) and matches("Name LIKE '_cme Corp'", row)
    assert matches("Name IN ('x', 'ACME CORP')", row) and matches("Name NOT IN ('x')", row)
    assert matches("Name <> 'x'", row)


def test_id_filters_accept_15_and_18() -> None:
    full = to18("001D000000IRFma")
    assert matches("Id = '001D000000IRFma'", {"Id": full})
    assert matches(f"Id = '{full}'", {"Id": full})


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT Id FORM Lead", "MALFORMED_QUERY"),
        ("SELECT FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE Name = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead LIMIT x", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE CreatedDate > 2026-13-01T00:00:00Z", "MALFORMED_QUERY"),
    ],
)
def test_malformed(text: str, code: str) -> None:
    with pytest.raises(soql.SoqlError) as info:
        parsed = soql.parse(text)
        if parsed.where is not None:
            soql.compile_where(text, parsed.where, resolve, NOW)
    assert info.value.code == code and "ERROR at Row:1:Column:" in info.value.message


def test_quoted_datetime_is_invalid_field() -> None:
    with pytest.raises(soql.SoqlError) as info:
        matches("CreatedDate > '2026-11-20T18:00:00Z'", {})
    assert (
        info.value.code == "INVALID_FIELD"
        and "should not be enclosed in quotes" in info.value.message
    )


def test_sort_rows_nulls_and_case() -> None:
    rows = [{"Name": "b"}, {"Name": None}, {"Name": "A"}]
    item = soql.OrderItem(soql.FieldRef(("Name",), 0), descending=False, nulls_last=False)
    assert [r["Name"] for r in soql.sort_rows(rows, [(lambda r: r["Name"], item)])] == [
        None,
        "A",
        "b",
    ]
    desc = soql.OrderItem(soql.FieldRef(("Name",), 0), descending=True, nulls_last=True)
    assert [r["Name"] for r in soql.sort_rows(rows, [(lambda r: r["Name"], desc)])] == [
        "b",
        "A",
        None,
    ]


def test_ids_checksum_known_values_and_factory() -> None:
    assert to18("001D000000IRFma") == "001D000000IRFmaIAH"
    assert to18("005i0000002MUqL").endswith("AAW")
    factory = IdFactory()
    made = {factory.new("00Q") for _ in range(1000)}
    assert len(made) == 1000 and all(is_valid18(i) and i.startswith("00Q") for i in made)
    with pytest.raises(ValueError):
        to18("001D000000IRFmaXXX")
