"""Notations of the definition language: ``when`` conditions and what can be proved about them,
durations, fractions, goal inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from sla_sync.definitions.conditions import contradiction, format_when, implies, parse_when
from sla_sync.definitions.scalars import (
    MarketingShare,
    Rate,
    parse_duration,
    parse_fraction,
)
from sla_sync.sla.policy import Condition, Duration, DurationUnit, Fixed, Operator, Trailing
from sla_sync.sla.rules import matches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lead_score >= 80", (Condition("lead_score", Operator.GE, 80.0),)),
        ('rating == "Hot"', (Condition("rating", Operator.EQ, "Hot"),)),
        ("rating == Hot", (Condition("rating", Operator.EQ, "Hot"),)),
        ("score == 80", (Condition("score", Operator.EQ, 80.0),)),
        ('score == "80"', (Condition("score", Operator.EQ, "80"),)),
        (
            "lead_source in [demo_request, free_trial]",
            (Condition("lead_source", Operator.IN, ("demo_request", "free_trial")),),
        ),
        ("country not in [US, CA]", (Condition("country", Operator.NOT_IN, ("US", "CA")),)),
        ("phone exists", (Condition("phone", Operator.EXISTS),)),
        ("phone missing", (Condition("phone", Operator.MISSING),)),
        ("always", ()),
        (None, ()),
        (
            'title == "Sales and Marketing" and x in ["a, b", c]',
            (
                Condition("title", Operator.EQ, "Sales and Marketing"),
                Condition("x", Operator.IN, ("a, b", "c")),
            ),
        ),
        ("x in []", (Condition("x", Operator.IN, ()),)),
        (
            "a.b < -1.5 AND c != d",
            (Condition("a.b", Operator.LT, -1.5), Condition("c", Operator.NE, "d")),
        ),
    ],
)
def test_parse_when(text: str | None, expected: tuple[Condition, ...]) -> None:
    assert parse_when(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("score >= hot", "needs a number"),
        ("score = 3", "write '=='"),
        ("a == 1 or b == 2", "'or' is not supported"),
        ("x in [a b]", "expected ',' or ']'"),
        (">= 3", "expected a field name"),
        ("x not y", "expected 'in'"),
        ("x >=", "expected a value"),
        ("x in [a,", "expected a list member"),
        ("x in a", "expected a list like [a, b]"),
        ("a == 1 b", "expected 'and' or the end"),
        ("", "empty condition"),
        ("x == 'unterminated", "unexpected character"),
    ],
)
def test_parse_when_errors(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as raised:
        parse_when(text)
    assert says in str(raised.value)


@pytest.mark.parametrize("value", [True, 5, ["a"]])
def test_parse_when_refuses_non_text(value: object) -> None:
    with pytest.raises(ValueError):
        parse_when(value)


def test_format_when_round_trips() -> None:
    for text in ["always", 'a >= 80 and b == "x" and c in [d, e] and f missing', "g != 3"]:
        assert parse_when(format_when(parse_when(text))) == parse_when(text)


@pytest.mark.parametrize(
    "text",
    [
        "score >= 80 and score < 50",
        "score > 5 and score <= 5",
        "score == 5 and score != 5",
        "x in []",
        "x exists and x missing",
        "x missing and x >= 3",
        "x in [a] and x not in [A]",
        "x == a and x == b",
        "s >= 80 and s in [hot, 10]",
    ],
)
def test_contradictions(text: str) -> None:
    assert contradiction(parse_when(text)) is not None


@pytest.mark.parametrize(
    "text",
    [
        "score >= 80 and score <= 80",
        "x in [a, b] and x not in [a]",
        "s >= 80 and s in [hot, 90]",
        "x != a and x != b",
        "always",
    ],
)
def test_satisfiable(text: str) -> None:
    assert contradiction(parse_when(text)) is None


@pytest.mark.parametrize(
    ("narrow", "broad", "expected"),
    [
        ("score >= 80", "score >= 50", True),
        ("score >= 50", "score >= 80", False),
        ("score > 50", "score >= 50", True),
        ("score >= 50", "score > 50", False),
        ("score == 5", "score >= 5", True),
        ("rating == hot and score > 3", "rating in [Hot, warm]", True),
        ("rating in [hot, cold]", "rating in [Hot, warm]", False),
        ("x in [a]", "x not in [b]", True),
        ("x missing", "x not in [b]", True),
        ("x not in [a, b]", "x != a", True),
        ("s > 5", "s exists", True),
        ("s != 5", "s exists", False),
        ("a >= 1 and b >= 2", "b >= 1", True),
        ("a >= 1", "always", True),
        ("always", "a >= 1", False),
        ("s in [7, 8]", "s >= 5", True),
        ("s >= 10", "s != 5", True),
    ],
)
def test_implies(narrow: str, broad: str, expected: bool) -> None:
    assert implies(parse_when(narrow), parse_when(broad)) is expected


@pytest.mark.parametrize(
    ("narrow", "broad"),
    [("score >= 80", "score >= 50"), ("x in [a]", "x not in [b]"), ("s in [7, 8]", "s >= 5")],
)
def test_implies_agrees_with_the_engine(narrow: str, broad: str) -> None:
    # Whatever value the narrow rule accepts, the engine's matcher accepts under the broad one.
    for value in ["", "a", "b", "7", "8", "49", "50", "80", "80.0", "100", "hot"]:
        for name in ("score", "x", "s"):
            fields = {name: value}
            if matches(parse_when(narrow), fields):
                assert matches(parse_when(broad), fields), (narrow, broad, fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 business_minutes", Duration(30, DurationUnit.BUSINESS_MINUTES)),
        ("4 business_hours", Duration(4, DurationUnit.BUSINESS_HOURS)),
        ("1 business_hour", Duration(1, DurationUnit.BUSINESS_HOURS)),
        ("2 business_days", Duration(2, DurationUnit.BUSINESS_DAYS)),
        ("24 hours", Duration(24, DurationUnit.HOURS)),
        ("90 minutes", Duration(90, DurationUnit.MINUTES)),
        ("3 days", Duration(3, DurationUnit.DAYS)),
        ("2 weeks", Duration(14, DurationUnit.DAYS)),
    ],
)
def test_parse_duration(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("unit", list(DurationUnit))
def test_a_duration_prints_as_the_configuration_writes_it(unit: DurationUnit) -> None:
    # Messages and reports show durations with str(); ops must be able to paste them back.
    duration = Duration(7, unit)
    assert str(duration) == f"7 {unit.value}"
    assert parse_duration(str(duration)) == duration


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0 minutes", "must be positive"),
        ("-5 minutes", "must be positive"),
        ("1.5 hours", "whole number"),
        ("3 fortnights", "unknown duration unit"),
        ("soon", "is not a duration"),
        (30, "<number> <unit>"),
    ],
)
def test_parse_duration_errors(value: object, says: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration(value)
    assert says in str(raised.value)


def test_parse_fraction() -> None:
    assert parse_fraction("75%") == 0.75
    assert parse_fraction(0.75) == 0.75
    assert parse_fraction(1) == 1.0
    for bad in (True, "0.75x", None):
        with pytest.raises(ValueError):
            parse_fraction(bad)


class _Goal(BaseModel):
    share: MarketingShare
    rate: Rate


def test_goal_inputs() -> None:
    goal = _Goal.model_validate({"share": "60%", "rate": "trailing(3 months)"})
    assert goal.share == Fixed(Decimal("0.6"))
    assert goal.rate == Trailing(3)
    assert _Goal.model_validate({"share": 0, "rate": 1}).rate == Fixed(Decimal(1))
    for share, rate in [(1.5, 0.5), (0.5, 0), (0.5, 1.01), (-0.1, 0.5), ("x", 0.5)]:
        with pytest.raises(ValidationError):
            _Goal.model_validate({"share": share, "rate": rate})
    with pytest.raises(ValidationError, match="at least 1 month"):
        _Goal.model_validate({"share": 0.5, "rate": "trailing(0 months)"})
