"""Days of the pacing basis: counting, proration, marketing's ideal line, weekly goals.

Pacing (reference §6.1): the ideal line advances per *completed* day of the basis (business days
of the pacing calendar, or calendar days). A day counts once it is over in the period's time zone,
so at any instant during Fri 14 Mar 2025 nine of March's 21 business days have elapsed, and from
Sat 15 Mar 00:00 ten (reference M3: expected ``600 * 10 / 21 = 285.7``). "Required per remaining
business day" spreads the gap over the days that have not been completed, today included. An
agreement that starts inside a period is prorated by the days of the basis it covers.

Pure: no I/O, no clock; time enters as ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sla_sync.sla.periods import Period
from sla_sync.sla.policy import PacingBasis

if TYPE_CHECKING:
    from sla_sync.sla.calendar import BusinessCalendar

ZERO = Decimal(0)
ONE = Decimal(1)

# --------------------------------------------------------------------------- day counting


def count_days(
    start: date, end: date, basis: PacingBasis, calendar: BusinessCalendar | None
) -> int:
    """Days of ``basis`` in local dates ``[start, end)`` (0 when ``end <= start``).

    Raises:
        ValueError: business-day basis without a calendar.
    """
    if end <= start:
        return 0
    if basis is PacingBasis.CALENDAR_DAYS:
        return (end - start).days
    if calendar is None:
        raise ValueError("business-day pacing needs a pacing calendar")
    return calendar.count_business_days(start, end)


def window_start(period: Period, effective_from: date | None) -> date:
    """The first local date the goal runs in: the period's start, or a later ``effective_from``.

    Raises:
        ValueError: ``effective_from`` is not before the period's end.
    """
    if effective_from is None:
        return period.start
    if effective_from >= period.end:
        raise ValueError(f"{effective_from.isoformat()} is after period {period.label}")
    return max(period.start, effective_from)


def _proration_days(
    period: Period, effective_from: date, basis: PacingBasis, calendar: BusinessCalendar | None
) -> tuple[int, int]:
    first = window_start(period, effective_from)
    total = count_days(period.start, period.end, basis, calendar)
    return count_days(first, period.end, basis, calendar), total


def proration_factor(
    period: Period,
    effective_from: date,
    *,
    basis: PacingBasis,
    calendar: BusinessCalendar | None,
) -> Decimal:
    """``D(effective_from..end) / D(period)`` in days of ``basis`` (1 from the period's start).

    A start that misses no day of the basis (a weekend start, or a period without any
    business day) gives 1.

    Raises:
        ValueError: ``effective_from`` is not before the period's end; business days without a
            calendar.
    """
    part, total = _proration_days(period, effective_from, basis, calendar)
    if part == total:
        return ONE
    return Decimal(part) / Decimal(total)  # part < total, so total > 0


def prorate(
    goal: Decimal | int,
    period: Period,
    effective_from: date,
    *,
    basis: PacingBasis,
    calendar: BusinessCalendar | None,
) -> Decimal:
    """``goal * D(effective_from..end) / D(period)`` for an agreement that starts mid-period.

    Not rounded; :class:`GoalVersion` rounds the lead count up.

    Raises:
        ValueError: see :func:`proration_factor`.
    """
    part, total = _proration_days(period, effective_from, basis, calendar)
    if part == total:
        return Decimal(goal)
    return Decimal(goal) * part / total


# --------------------------------------------------------------------------- pacing


def elapsed_days(
    period: Period,
    as_of: datetime,
    *,
    basis: PacingBasis,
    calendar: BusinessCalendar | None,
    effective_from: date | None = None,
) -> int:
    """Completed days of ``basis`` in the period at ``as_of``.

    A day counts once it is over in the period's time zone: the local date of ``as_of`` itself
    does not count yet. Before the period: 0; after it: all of them.

    Raises:
        NaiveDatetimeError: ``as_of`` has no time zone.
        ValueError: business days without a calendar; ``effective_from`` after the period.
    """
    first = window_start(period, effective_from)
    today = period.local_date(as_of)
    upto = min(max(today, first), period.end)
    return count_days(first, upto, basis, calendar)


def total_days(
    period: Period,
    *,
    basis: PacingBasis,
    calendar: BusinessCalendar | None,
    effective_from: date | None = None,
) -> int:
    """Days of ``basis`` in the period (from ``effective_from`` when the agreement starts later).

    Raises:
        ValueError: business days without a calendar; ``effective_from`` after the period.
    """
    return count_days(window_start(period, effective_from), period.end, basis, calendar)


def expected_to_date(
    goal: Decimal | int,
    period: Period,
    as_of: datetime,
    basis: PacingBasis,
    calendar: BusinessCalendar | None = None,
    *,
    effective_from: date | None = None,
) -> Decimal:
    """The ideal line ``G * D_elapsed / D(P)`` at ``as_of`` (reference §6.1, M3).

    Non-decreasing in ``as_of``; 0 before the period and ``G`` from its end on. A period with no
    day of the basis (say a week of holidays) expects nothing until its end and ``G`` after.

    Raises:
        NaiveDatetimeError: ``as_of`` has no time zone.
        ValueError: business days without a calendar; ``effective_from`` after the period.
    """
    total = total_days(period, basis=basis, calendar=calendar, effective_from=effective_from)
    if total == 0:
        return Decimal(goal) if period.local_date(as_of) >= period.end else ZERO
    done = elapsed_days(
        period, as_of, basis=basis, calendar=calendar, effective_from=effective_from
    )
    return Decimal(goal) * done / total


def pace_index(delivered: Decimal | int, expected: Decimal | int) -> float | None:
    """``delivered / expected``; ``None`` while nothing is expected yet (never 0/0)."""
    if expected <= 0:
        return None
    return float(Decimal(delivered) / Decimal(expected))


def gap_to_goal(goal: Decimal | int, delivered: Decimal | int) -> Decimal:
    """``G - delivered`` (negative when the goal is exceeded)."""
    return Decimal(goal) - Decimal(delivered)


def required_per_remaining_day(
    goal: Decimal | int,
    delivered: Decimal | int,
    period: Period,
    as_of: datetime,
    basis: PacingBasis,
    calendar: BusinessCalendar | None = None,
    *,
    effective_from: date | None = None,
) -> Decimal | None:
    """``max(0, gap) / remaining days`` (today counts as remaining until it is over).

    Returns:
        Leads (or value) needed per remaining day of ``basis``; ``None`` when no day remains.

    Raises:
        NaiveDatetimeError: ``as_of`` has no time zone.
        ValueError: business days without a calendar; ``effective_from`` after the period.
    """
    total = total_days(period, basis=basis, calendar=calendar, effective_from=effective_from)
    done = elapsed_days(
        period, as_of, basis=basis, calendar=calendar, effective_from=effective_from
    )
    remaining = total - done
    if remaining <= 0:
        return None
    return max(ZERO, gap_to_goal(goal, delivered)) / remaining


@dataclass(frozen=True, slots=True, kw_only=True)
class Pacing:
    """Pacing figures of one goal at one instant (reference §6.1)."""

    goal: Decimal
    delivered: Decimal
    elapsed_days: int
    total_days: int
    expected: Decimal
    pace_index: float | None
    gap: Decimal
    required_per_remaining_day: Decimal | None


def pacing(
    goal: Decimal | int,
    delivered: Decimal | int,
    period: Period,
    as_of: datetime,
    basis: PacingBasis,
    calendar: BusinessCalendar | None = None,
    *,
    effective_from: date | None = None,
) -> Pacing:
    """All pacing figures at once; see the single-figure functions for the rules.

    Raises:
        NaiveDatetimeError: ``as_of`` has no time zone.
        ValueError: business days without a calendar; ``effective_from`` after the period.
    """
    total = total_days(period, basis=basis, calendar=calendar, effective_from=effective_from)
    done = elapsed_days(
        period, as_of, basis=basis, calendar=calendar, effective_from=effective_from
    )
    expected = expected_to_date(goal, period, as_of, basis, calendar, effective_from=effective_from)
    return Pacing(
        goal=Decimal(goal),
        delivered=Decimal(delivered),
        elapsed_days=done,
        total_days=total,
        expected=expected,
        pace_index=pace_index(delivered, expected),
        gap=gap_to_goal(goal, delivered),
        required_per_remaining_day=required_per_remaining_day(
            goal, delivered, period, as_of, basis, calendar, effective_from=effective_from
        ),
    )


def weekly_goal(
    goal: Decimal | int,
    period: Period,
    week: Period,
    *,
    basis: PacingBasis = PacingBasis.BUSINESS_DAYS,
    calendar: BusinessCalendar | None = None,
) -> Decimal:
    """``G * D(week ∩ P) / D(P)`` (reference §6.1). 0 for a week outside the period.

    A period with no day of the basis puts the whole goal in the week holding its last day,
    matching :func:`expected_to_date`.

    Raises:
        ValueError: business days without a calendar.
    """
    shared = period.overlap(week)
    if shared is None:
        return ZERO
    total = count_days(period.start, period.end, basis, calendar)
    if total == 0:
        last_day = period.end - timedelta(days=1)
        return Decimal(goal) if week.contains_date(last_day) else ZERO
    return Decimal(goal) * count_days(*shared, basis, calendar) / total


def weekly_goals(
    goal: Decimal | int,
    period: Period,
    *,
    basis: PacingBasis = PacingBasis.BUSINESS_DAYS,
    calendar: BusinessCalendar | None = None,
) -> tuple[tuple[Period, Decimal], ...]:
    """:func:`weekly_goal` for every ISO week of the period; they sum to ``goal`` exactly.

    The last week takes the remainder so that Decimal rounding of the shares cannot make the
    weekly goals miss the period goal.

    Raises:
        ValueError: business days without a calendar.
    """
    weeks = period.weeks()
    shares = [weekly_goal(goal, period, week, basis=basis, calendar=calendar) for week in weeks]
    shares[-1] = Decimal(goal) - sum(shares[:-1], ZERO)
    return tuple(zip(weeks, shares, strict=True))
