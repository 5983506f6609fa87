"""Reporting periods: months, quarters and ISO weeks in an agreement's reporting time zone.

A :class:`Period` is a half-open range of *local dates* ``[start, end)`` in an IANA time zone. Which
period an instant belongs to is decided by its local date in that zone, never by its UTC date
(reference T25/M9: an MQL at 2025-03-31 23:30 America/Los_Angeles is 2025-04-01 06:30Z and counts
in March when the reporting zone is Los Angeles, in April when it is UTC).

Labels: ``"2026-11"`` (month), ``"2026-Q4"`` (quarter), ``"2026-W47"`` (ISO 8601 week; the ISO year
can differ from the calendar year around New Year: 2026-12-31 is in ``"2026-W53"``, 2027-01-01 too).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sla_sync.domain import ensure_utc
from sla_sync.sla.policy import PeriodKind

_MONTH_LABEL = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")
_QUARTER_LABEL = re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>\d)$")
_WEEK_LABEL = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``.

    Raises:
        ValueError: ``name`` is not a known IANA time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of local date ``day`` in ``tz``, as aware UTC.

    ``fold=0`` is deliberate: where midnight does not exist (a spring-forward gap at 00:00, as in
    America/Santiago) zoneinfo then applies the pre-transition offset, which yields exactly the
    transition instant, i.e. the first instant whose local date is ``day``.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _start_of(kind: PeriodKind, day: date) -> date:
    if kind is PeriodKind.MONTH:
        return day.replace(day=1)
    if kind is PeriodKind.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day - timedelta(days=day.weekday())  # ISO weeks start on Monday


def _end_of(kind: PeriodKind, start: date) -> date:
    if kind is PeriodKind.WEEK:
        return start + timedelta(days=7)
    months = 1 if kind is PeriodKind.MONTH else 3
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """One reporting period: local dates ``[start, end)`` in ``timezone``.

    Build one with :meth:`of`, :meth:`containing` or :meth:`parse`; the constructor only checks
    that the fields describe a real period of ``kind``.

    Raises:
        ValueError: ``start`` is not the first day of a ``kind`` period, ``end`` is not its end,
            or ``timezone`` is not an IANA time zone.
    """

    kind: PeriodKind
    start: date
    end: date
    timezone: str

    def __post_init__(self) -> None:
        zone(self.timezone)
        if _start_of(self.kind, self.start) != self.start:
            raise ValueError(f"{self.start.isoformat()} does not start a {self.kind.value}")
        if _end_of(self.kind, self.start) != self.end:
            raise ValueError(
                f"a {self.kind.value} starting {self.start.isoformat()} ends "
                f"{_end_of(self.kind, self.start).isoformat()}, not {self.end.isoformat()}"
            )

    # ------------------------------------------------------------------ constructors

    @classmethod
    def of(cls, kind: PeriodKind, day: date, timezone: str) -> Period:
        """The ``kind`` period that contains local date ``day``.

        Raises:
            ValueError: ``timezone`` is not an IANA time zone.
        """
        start = _start_of(kind, day)
        return cls(kind, start, _end_of(kind, start), timezone)

    @classmethod
    def containing(cls, instant: datetime, kind: PeriodKind, timezone: str) -> Period:
        """The ``kind`` period whose local dates in ``timezone`` contain ``instant``.

        Raises:
            NaiveDatetimeError: ``instant`` has no time zone.
            ValueError: ``timezone`` is not an IANA time zone.
        """
        local = ensure_utc(instant, what="instant").astimezone(zone(timezone))
        return cls.of(kind, local.date(), timezone)

    @classmethod
    def parse(cls, label: str, timezone: str) -> Period:
        """The period named by ``label`` (``2026-11``, ``2026-Q4`` or ``2026-W47``).

        Raises:
            ValueError: ``label`` matches none of the three forms or names no real period
                (month 13, quarter 5, week 53 of a 52-week ISO year), or ``timezone`` is unknown.
        """
        text = label.strip()
        try:
            if match := _MONTH_LABEL.match(text):
                day = date(int(match["year"]), int(match["month"]), 1)
                return cls.of(PeriodKind.MONTH, day, timezone)
            if match := _QUARTER_LABEL.match(text):
                quarter = int(match["quarter"])
                if not 1 <= quarter <= 4:
                    raise ValueError(f"quarter {quarter} is not 1..4")
                day = date(int(match["year"]), 3 * quarter - 2, 1)
                return cls.of(PeriodKind.QUARTER, day, timezone)
            if match := _WEEK_LABEL.match(text):
                day = date.fromisocalendar(int(match["year"]), int(match["week"]), 1)
                return cls.of(PeriodKind.WEEK, day, timezone)
        except ValueError as exc:
            raise ValueError(f"bad period label {label!r}: {exc}") from exc
        raise ValueError(
            f"bad period label {label!r}: expected YYYY-MM (month), YYYY-Qn (quarter) "
            "or YYYY-Www (ISO week)"
        )

    # ------------------------------------------------------------------ properties

    @property
    def label(self) -> str:
        """``2026-11``, ``2026-Q4`` or ``2026-W47`` (ISO week-numbering year)."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"
        iso = self.start.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"

    @property
    def utc_start(self) -> datetime:
        """The first instant of the period (aware UTC)."""
        return local_midnight(self.start, zone(self.timezone))

    @property
    def utc_end(self) -> datetime:
        """The first instant after the period (aware UTC; exclusive)."""
        return local_midnight(self.end, zone(self.timezone))

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days

    def __str__(self) -> str:
        return self.label

    # ------------------------------------------------------------------ queries

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` falls in ``[utc_start, utc_end)``.

        Agrees with :meth:`containing`: an instant is in the period exactly when its local date in
        :attr:`timezone` is in ``[start, end)``.

        Raises:
            NaiveDatetimeError: ``instant`` has no time zone.
        """
        moment = ensure_utc(instant, what="instant")
        return self.utc_start <= moment < self.utc_end

    def contains_date(self, day: date) -> bool:
        """Whether local date ``day`` is in ``[start, end)``."""
        return self.start <= day < self.end

    def local_date(self, instant: datetime) -> date:
        """The local date of ``instant`` in the period's time zone.

        Raises:
            NaiveDatetimeError: ``instant`` has no time zone.
        """
        return ensure_utc(instant, what="instant").astimezone(zone(self.timezone)).date()

    def next(self) -> Period:
        """The period of the same kind that starts where this one ends."""
        return Period.of(self.kind, self.end, self.timezone)

    def previous(self) -> Period:
        """The period of the same kind that ends where this one starts."""
        return Period.of(self.kind, self.start - timedelta(days=1), self.timezone)

    def weeks(self) -> tuple[Period, ...]:
        """The ISO weeks that intersect this period, in order (first and last may be partial)."""
        return tuple(self._iter_weeks())

    def _iter_weeks(self) -> Iterator[Period]:
        week = Period.of(PeriodKind.WEEK, self.start, self.timezone)
        while week.start < self.end:
            yield week
            week = week.next()

    def overlap(self, other: Period) -> tuple[date, date] | None:
        """The local dates ``[start, end)`` both periods share, or ``None`` when disjoint.

        Dates are compared as local dates; both periods are expected to use the same time zone.
        """
        start, end = max(self.start, other.start), min(self.end, other.end)
        return (start, end) if start < end else None
