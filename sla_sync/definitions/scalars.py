"""Scalar notations of the definition language and their pydantic field types.

Each ``parse_*`` function takes the value YAML produced and returns the typed value or raises
``ValueError`` with a message written for ops (pydantic reports it at the field's path). The
annotated aliases at the bottom plug them into the models.

- durations: ``"<whole number> <unit>"``, units ``business_minutes``, ``business_hours``,
  ``business_days``, ``minutes``, ``hours``, ``days``, ``weeks`` (7 days); singular forms too
  (``1 business_hour``). Zero is refused: a zero target is always breached, a zero window never
  counts anything.
- fractions: ``0.75`` or ``"75%"``.
- goal inputs: a number, or ``trailing(N months)`` (the CRM's actuals over the N closed months
  before the period); rates and shares may also be written as percentages.
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import PlainValidator

from sla_sync.sla.policy import Duration, DurationUnit, Fixed, GoalInput, Trailing

_UNIT_ALIASES: dict[str, tuple[DurationUnit, int]] = {}
for _unit in DurationUnit:
    _UNIT_ALIASES[_unit.value] = (_unit, 1)
    _UNIT_ALIASES[_unit.value.removesuffix("s")] = (_unit, 1)
_UNIT_ALIASES["weeks"] = _UNIT_ALIASES["week"] = (DurationUnit.DAYS, 7)

UNITS_TEXT = ", ".join(u.value for u in DurationUnit) + ", weeks"

_DURATION = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*([A-Za-z_]+)\s*$")
_TRAILING = re.compile(r"^\s*trailing\s*\(\s*([-+]?\d+)\s*(months?)?\s*\)\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*%\s*$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def parse_duration(value: Any) -> Duration:
    """``"30 business_minutes"`` -> ``Duration(30, BUSINESS_MINUTES)``; ``"2 weeks"`` -> 14 days."""
    if not isinstance(value, str):
        raise ValueError(
            'write a duration as "<number> <unit>", e.g. "30 business_minutes" '
            f"(units: {UNITS_TEXT})"
        )
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(
            f'{value!r} is not a duration: write "<number> <unit>", e.g. "4 business_hours"'
        )
    amount_text, unit_text = match.groups()
    unit = _UNIT_ALIASES.get(unit_text.lower())
    if unit is None:
        raise ValueError(f"unknown duration unit {unit_text!r} (units: {UNITS_TEXT})")
    if not re.fullmatch(r"[-+]?\d+", amount_text):
        raise ValueError(f"{value!r}: use a whole number (e.g. 90 minutes instead of 1.5 hours)")
    amount = int(amount_text)
    if amount <= 0:
        raise ValueError(f"{value!r}: a duration must be positive")
    return Duration(amount * unit[1], unit[0])


def parse_fraction(value: Any) -> float:
    """``0.75`` or ``"75%"`` -> ``0.75``. Range checks are the caller's."""
    if isinstance(value, bool):
        raise ValueError("expected a number like 0.75 or a percentage like 75%")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return float(match.group(1)) / 100
    raise ValueError("expected a number like 0.75 or a percentage like 75%")


def _fraction_in(low: float, high: float, *, low_open: bool, high_open: bool) -> Any:
    def check(value: Any) -> float:
        number = parse_fraction(value)
        below = number <= low if low_open else number < low
        above = number >= high if high_open else number > high
        if below or above:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            raise ValueError(
                f"{number:g} is outside {left}{low:g}, {high:g}{right} (write 0.75 or 75%)"
            )
        return number

    return check


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return Decimal(match.group(1)) / 100
    return None


def _goal_input(*, low: Decimal, low_open: bool, high: Decimal | None, percent: bool) -> Any:
    def check(value: Any) -> GoalInput:
        if isinstance(value, str):
            match = _TRAILING.match(value)
            if match:
                months = int(match.group(1))
                if months < 1:
                    raise ValueError(f"{value!r}: trailing needs at least 1 month")
                return Trailing(months)
            if not percent and "%" in value:
                raise ValueError("a percentage is not allowed here; write a number")
        number = _number(value)
        if number is None:
            try:
                number = Decimal(value.replace(",", "")) if isinstance(value, str) else None
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            raise ValueError('expected a number or "trailing(N months)"')
        if low_open and number <= low:
            raise ValueError(f"{number} must be greater than {low}")
        if number < low:
            raise ValueError(f"{number} must not be negative")
        if high is not None and number > high:
            raise ValueError(f"{number} must be at most {high} (100%)")
        return Fixed(number)

    return check


def parse_env_name(value: Any) -> str:
    """A credential variable name: capitals, digits and ``_``.

    Lower case is refused even though POSIX allows it: a lowercase "name" is far more often the
    secret itself pasted in the wrong place, and the message must then not repeat it.
    """
    if isinstance(value, str) and _ENV_NAME.match(value):
        return value
    raise ValueError(
        "expected the NAME of an environment variable (capitals, digits, _; e.g. HUBSPOT_TOKEN) "
        "that carries the credential; the value is not shown"
    )


def parse_identifier(value: Any) -> str:
    """Ids and names referenced elsewhere: letters, digits, ``_ . -``, at most 64 characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _IDENTIFIER.match(value):
        return value
    raise ValueError("expected a name of letters, digits, '_', '.' or '-' (at most 64, no spaces)")


def parse_timezone(value: Any) -> str:
    """An IANA time zone name (``Europe/London``); fixed offsets are refused (no DST)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an IANA time zone name such as America/New_York")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name such as Europe/London)"
        ) from None
    return value


DurationField = Annotated[Duration, PlainValidator(parse_duration)]
EnvName = Annotated[str, PlainValidator(parse_env_name)]
Identifier = Annotated[str, PlainValidator(parse_identifier)]
TimeZone = Annotated[str, PlainValidator(parse_timezone)]

# Fractions with the ranges the brief fixes: warnings strictly inside (0, 1); thresholds and
# shares in (0, 1]; marketing share in [0, 1].
OpenFraction = Annotated[float, PlainValidator(_fraction_in(0, 1, low_open=True, high_open=True))]
Share = Annotated[float, PlainValidator(_fraction_in(0, 1, low_open=True, high_open=False))]

Amount = Annotated[
    GoalInput,
    PlainValidator(_goal_input(low=Decimal(0), low_open=False, high=None, percent=False)),
]
PositiveAmount = Annotated[
    GoalInput,
    PlainValidator(_goal_input(low=Decimal(0), low_open=True, high=None, percent=False)),
]
MarketingShare = Annotated[
    GoalInput,
    PlainValidator(_goal_input(low=Decimal(0), low_open=False, high=Decimal(1), percent=True)),
]
Rate = Annotated[
    GoalInput,
    PlainValidator(_goal_input(low=Decimal(0), low_open=True, high=Decimal(1), percent=True)),
]
