"""Condition matching for tier rules and agreement scopes (sla_sync.sla.rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sla_sync.sla.policy import (
    Condition,
    Duration,
    DurationUnit,
    LeadScope,
    Operator,
    TierRule,
)
from sla_sync.sla.rules import in_scope, matches, select_tier

FIELDS = {"score": "85", "rating": "Hot", "source": "Web Form", "blank": "  ", "code": "A1"}

CASES = [
    # id, condition, expected
    ("gt-numeric", Condition("score", Operator.GT, 80), True),
    ("gt-boundary", Condition("score", Operator.GT, 85), False),
    ("ge-boundary", Condition("score", Operator.GE, 85), True),
    ("lt", Condition("score", Operator.LT, 90.5), True),
    ("le-boundary", Condition("score", Operator.LE, 85), True),
    ("gt-string-number-value", Condition("score", Operator.GT, "80"), True),
    ("gt-non-numeric-field", Condition("rating", Operator.GT, 1), False),
    ("gt-non-numeric-value", Condition("score", Operator.GT, "high"), False),
    ("gt-tuple-value", Condition("score", Operator.GT, ("1",)), False),
    ("gt-none-value", Condition("score", Operator.GT, None), False),
    ("gt-missing-field", Condition("nope", Operator.GT, 1), False),
    ("gt-blank-field", Condition("blank", Operator.GT, 1), False),
    ("gt-nan-value", Condition("score", Operator.GT, float("nan")), False),
    ("eq-case-insensitive", Condition("rating", Operator.EQ, "HOT"), True),
    ("eq-trims-value", Condition("rating", Operator.EQ, " hot "), True),
    ("eq-different", Condition("rating", Operator.EQ, "cold"), False),
    ("eq-numeric-value", Condition("score", Operator.EQ, 85.0), True),
    ("eq-numeric-value-non-number", Condition("rating", Operator.EQ, 85), False),
    ("eq-missing", Condition("nope", Operator.EQ, "x"), False),
    ("eq-string-number-is-string", Condition("score", Operator.EQ, "85.0"), False),
    ("ne-different", Condition("rating", Operator.NE, "cold"), True),
    ("ne-same-other-case", Condition("rating", Operator.NE, "hOT"), False),
    ("ne-missing-is-true", Condition("nope", Operator.NE, "x"), True),
    ("in-member", Condition("source", Operator.IN, ("referral", "WEB FORM")), True),
    ("in-not-member", Condition("source", Operator.IN, ("referral",)), False),
    ("in-scalar-value", Condition("code", Operator.IN, "a1"), True),
    ("in-none-value", Condition("code", Operator.IN, None), False),
    ("in-missing", Condition("nope", Operator.IN, ("x",)), False),
    ("not-in-member", Condition("source", Operator.NOT_IN, ("web form",)), False),
    ("not-in-not-member", Condition("source", Operator.NOT_IN, ("referral",)), True),
    ("not-in-missing-is-true", Condition("nope", Operator.NOT_IN, ("x",)), True),
    ("exists", Condition("rating", Operator.EXISTS), True),
    ("exists-blank", Condition("blank", Operator.EXISTS), False),
    ("exists-missing", Condition("nope", Operator.EXISTS), False),
    ("missing-blank", Condition("blank", Operator.MISSING), True),
    ("missing-present", Condition("rating", Operator.MISSING), False),
]


@pytest.mark.parametrize(
    ("condition", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_single_condition(condition: Condition, expected: bool) -> None:
    assert matches([condition], FIELDS) is expected


def test_empty_conditions_match() -> None:
    assert matches([], {}) is True


def test_conditions_are_anded() -> None:
    hot = Condition("rating", Operator.EQ, "hot")
    high = Condition("score", Operator.GE, 90)
    assert matches([hot], FIELDS)
    assert not matches([hot, high], FIELDS)


A = TierRule(
    "A", Duration(5, DurationUnit.BUSINESS_MINUTES), (Condition("score", Operator.GE, 80),)
)
B = TierRule(
    "B", Duration(1, DurationUnit.BUSINESS_HOURS), (Condition("rating", Operator.EQ, "hot"),)
)
C = TierRule("C", Duration(1, DurationUnit.BUSINESS_DAYS))


@pytest.mark.parametrize(
    ("rules", "fields", "tier"),
    [
        ((A, B, C), {"score": "85", "rating": "hot"}, "A"),  # first match wins, not the best one
        ((B, A, C), {"score": "85", "rating": "hot"}, "B"),
        ((A, B, C), {"score": "10"}, "C"),
        ((A, B), {"score": "10"}, None),
        ((), {"score": "85"}, None),
    ],
    ids=["first-match", "order-matters", "catch-all", "no-match", "no-rules"],
)
def test_select_tier(rules: tuple[TierRule, ...], fields: dict[str, str], tier: str | None) -> None:
    chosen = select_tier(rules, fields)
    assert (chosen.tier if chosen else None) == tier


@pytest.mark.parametrize(
    ("scope", "fields", "team", "expected"),
    [
        (LeadScope(), {}, None, True),
        (LeadScope(teams=frozenset({"ny"})), {}, "ny", True),
        (LeadScope(teams=frozenset({"ny"})), {}, "london", False),
        (LeadScope(teams=frozenset({"ny"})), {}, None, False),
        (
            LeadScope(when=(Condition("region", Operator.EQ, "emea"),)),
            {"region": "EMEA"},
            None,
            True,
        ),
        (
            LeadScope(when=(Condition("region", Operator.EQ, "emea"),)),
            {"region": "NA"},
            None,
            False,
        ),
        (
            LeadScope(teams=frozenset({"ny"}), when=(Condition("region", Operator.EXISTS),)),
            {"region": "NA"},
            "ny",
            True,
        ),
    ],
    ids=["empty", "team-in", "team-out", "no-team", "when-ok", "when-no", "both"],
)
def test_in_scope(
    scope: LeadScope, fields: dict[str, str], team: str | None, expected: bool
) -> None:
    assert in_scope(scope, fields, team) is expected


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_ordering_agrees_with_numbers(field: int, value: int) -> None:
    fields = {"n": str(field)}
    assert matches([Condition("n", Operator.GT, value)], fields) is (field > value)
    assert matches([Condition("n", Operator.LE, value)], fields) is (field <= value)


@given(st.text(max_size=8), st.text(max_size=8))
def test_ne_is_negation_of_eq(field: str, value: str) -> None:
    fields = {"f": field}
    eq = matches([Condition("f", Operator.EQ, value)], fields)
    ne = matches([Condition("f", Operator.NE, value)], fields)
    assert eq is not ne
