"""Durations in explicit units on one business calendar, with pause intervals.

Private helper of :mod:`sla_sync.sla.cycles`. A :class:`Clock` turns a policy
:class:`~sla_sync.sla.policy.Duration` into instants and measures spans:

- business minutes / hours: ``calendar.add(start, span, pauses)``; measured with
  ``calendar.elapsed`` (open time only, pauses excluded);
- business days: ``calendar.add_business_days(start, n)`` (Mon 09:00 + 1 = Tue 09:00, reference
  T8), then extended by the business time paused before that instant; the target's seconds are the
  business seconds those days cover from this start;
- calendar minutes / hours / days (days are 24 h blocks of real time): real time, extended by the
  real time paused; measured in real seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla_sync.sla.policy import Duration, DurationUnit

if TYPE_CHECKING:
    from sla_sync.sla.calendar import BusinessCalendar

Interval = tuple[datetime, datetime]
ZERO = timedelta(0)


def clip(
    pauses: Iterable[tuple[datetime, datetime | None]], start: datetime, stop: datetime
) -> tuple[Interval, ...]:
    """Pause intervals intersected with ``[start, stop]``; one still open closes at ``stop``.

    Closing an open pause at the stop is what makes "paused, then stopped without resuming"
    exclude the whole pause (reference T28).
    """
    out: list[Interval] = []
    for begin, end in pauses:
        lo = max(begin, start)
        hi = stop if end is None else min(end, stop)
        if lo < hi:
            out.append((lo, hi))
    return tuple(sorted(out))


def _real_add(start: datetime, span: timedelta, pauses: tuple[Interval, ...]) -> datetime:
    """``start + span`` of real time that is not paused."""
    at, remaining = start, span
    for begin, end in pauses:
        if begin >= at + remaining:
            break
        if begin > at:
            remaining -= begin - at
        at = max(at, end)
    return at + remaining


@dataclass(frozen=True, slots=True)
class Clock:
    """Unit-aware time arithmetic on ``calendar``."""

    calendar: BusinessCalendar

    def deadline(
        self, start: datetime, duration: Duration, pauses: tuple[Interval, ...]
    ) -> datetime:
        """``start + duration`` with the clock stopped during ``pauses``."""
        if duration.unit is DurationUnit.BUSINESS_DAYS:
            plain = self.calendar.add_business_days(start, duration.amount)
            paused = self.calendar.elapsed(start, plain) - self.calendar.elapsed(
                start, plain, pauses
            )
            return self.calendar.add(plain, paused, pauses) if paused > ZERO else plain
        if duration.unit.is_business:
            return self.calendar.add(start, duration.as_timedelta(), pauses)
        return _real_add(start, duration.as_timedelta(), pauses)

    def target(self, start: datetime, duration: Duration) -> timedelta:
        """The length of ``duration`` from ``start`` in its own measure (business or real)."""
        if duration.unit is DurationUnit.BUSINESS_DAYS:
            plain = self.calendar.add_business_days(start, duration.amount)
            return self.calendar.elapsed(start, plain)
        return duration.as_timedelta()

    def part(
        self, start: datetime, duration: Duration, fraction: float, pauses: tuple[Interval, ...]
    ) -> datetime:
        """The instant ``fraction`` of ``duration`` (measured from ``start``) has been used."""
        span = self.target(start, duration) * fraction
        if duration.unit.is_business:
            return self.calendar.add(start, span, pauses)
        return _real_add(start, span, pauses)

    def elapsed(
        self, start: datetime, end: datetime, unit: DurationUnit, pauses: tuple[Interval, ...]
    ) -> tuple[timedelta, timedelta]:
        """(running, paused) time from ``start`` to ``end`` in ``unit``'s measure."""
        if end <= start:
            return ZERO, ZERO
        inside = clip(pauses, start, end)
        if unit.is_business:
            gross = self.calendar.elapsed(start, end)
            net = self.calendar.elapsed(start, end, inside)
            return net, gross - net
        # Pause intervals come from one status timeline, so they are disjoint.
        paused = sum((hi - lo for lo, hi in inside), ZERO)
        return end - start - paused, paused
