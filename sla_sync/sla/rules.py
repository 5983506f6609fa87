"""Condition matching for tier rules and agreement scopes.

Lead fields arrive as strings, like the CRMs return them (``{"score": "85", "rating": "Hot"}``).
A field whose value is empty or only whitespace counts as *absent*: CRMs return ``""`` for an
unset property, and a rule about a value must not match a value nobody entered.

Operator semantics (see :class:`~sla_sync.sla.policy.Condition`):

- ``>``, ``>=``, ``<``, ``<=`` compare numerically; an absent or non-numeric field value (or a
  non-numeric condition value, or NaN) does not match.
- ``==`` compares case-insensitively as strings; when the condition value is a number it compares
  numerically instead (``score == 80`` matches ``"80"`` and ``"80.0"``). An absent field never
  equals anything.
- ``in`` holds when the field equals (as ``==``) any member of the tuple; a single string value is
  treated as a one-member tuple.
- ``!=`` and ``not in`` are the exact negations of ``==`` and ``in``: an absent field is
  ``!=`` every value and ``not in`` every tuple.
- ``exists`` / ``missing``: the field has / has not a non-empty value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from sla_sync.sla.policy import Condition, LeadScope, Operator, TierRule

__all__ = ["in_scope", "matches", "select_tier"]

_ORDERING = {
    Operator.GT: lambda a, b: a > b,
    Operator.GE: lambda a, b: a >= b,
    Operator.LT: lambda a, b: a < b,
    Operator.LE: lambda a, b: a <= b,
}


def matches(conditions: Sequence[Condition], fields: Mapping[str, str]) -> bool:
    """Whether every condition holds for ``fields`` (logical AND; an empty sequence holds)."""
    return all(_holds(condition, fields) for condition in conditions)


def select_tier(rules: Sequence[TierRule], fields: Mapping[str, str]) -> TierRule | None:
    """The first rule whose conditions all hold, or ``None`` when no rule matches."""
    for rule in rules:
        if matches(rule.when, fields):
            return rule
    return None


def in_scope(scope: LeadScope, fields: Mapping[str, str], team: str | None) -> bool:
    """Whether a lead owned by someone in ``team`` with ``fields`` falls under ``scope``.

    An empty ``scope.teams`` accepts any team, including no team; otherwise ``team`` must be one
    of them (exact match: team names are identifiers shared with calendars and reports).
    """
    if scope.teams and team not in scope.teams:
        return False
    return matches(scope.when, fields)


def _present(fields: Mapping[str, str], name: str) -> str | None:
    """The field's value stripped, or ``None`` when absent or blank."""
    raw = fields.get(name)
    if raw is None:
        return None
    value = str(raw).strip()
    return value or None


def _number(value: object) -> float | None:
    """``value`` as a finite-or-infinite float, ``None`` when it is not a number (or is NaN)."""
    if isinstance(value, bool) or value is None or isinstance(value, tuple):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]  # str | int | float here
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _equals(actual: str, expected: object) -> bool:
    """``==`` for one present field value against one condition value."""
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        actual_number = _number(actual)
        return actual_number is not None and actual_number == float(expected)
    return actual.casefold() == str(expected).strip().casefold()


def _members(value: object) -> tuple[object, ...]:
    """The members of an ``in`` list; a scalar is a list of one, ``None`` an empty list."""
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    return (value,)


def _holds(condition: Condition, fields: Mapping[str, str]) -> bool:
    actual = _present(fields, condition.field)
    op = condition.op
    if op is Operator.EXISTS:
        return actual is not None
    if op is Operator.MISSING:
        return actual is None
    if op in (Operator.EQ, Operator.NE):
        equal = actual is not None and _equals(actual, condition.value)
        return equal if op is Operator.EQ else not equal
    if op in (Operator.IN, Operator.NOT_IN):
        member = actual is not None and any(
            _equals(actual, item) for item in _members(condition.value)
        )
        return member if op is Operator.IN else not member
    left = _number(actual)
    right = _number(condition.value)
    if left is None or right is None:
        return False
    return bool(_ORDERING[op](left, right))
