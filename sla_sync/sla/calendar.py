"""Business-time arithmetic over working-hours calendars.

A :class:`BusinessCalendar` is built from the YAML calendar mapping (see
:meth:`BusinessCalendar.from_config`) and answers: when does a span of business time starting at
an instant end (:meth:`~BusinessCalendar.add`), how much business time lies between two instants
(:meth:`~BusinessCalendar.elapsed`), is an instant open, when is the next opening, which local
dates are working days.

Contract (reference §8 conventions):

* Every instant in and out is an aware ``datetime``; every instant returned is in UTC. A naive
  datetime raises :class:`~sla_sync.domain.NaiveDatetimeError` (a ``ValueError``).
* Business time is real (UTC) elapsed time inside open windows, with microsecond precision. Windows
  are local wall-clock times of the calendar's IANA zone: a wall time that does not exist (spring
  forward) is shifted forward by the gap, an ambiguous one (fall back) is its first occurrence
  (``fold=0``). So a 00:00-06:00 window lasts 5 h on the spring-forward day and 7 h on the
  fall-back day (reference T15).
* A window belongs to the local date it starts on; a holiday closes the windows that start on it
  (holidays are local dates of the calendar, reference T22). Windows that touch or overlap, also
  across midnight, form one open stretch.
* Open time is the half-open union of windows: ``is_open`` holds at a window's start and not at its
  end.
* Effective-dated versions: the version in force at an instant is the latest whose
  ``effective_from`` local midnight (in that version's zone) is at or before the instant; the
  earliest version also governs all time before its own ``effective_from``. Each version decides
  by its own windows, including an overnight window it started the previous evening.

The module is pure: no I/O, no clock. Holiday years are computed lazily from the ``holidays``
library and cached per calendar; results depend only on the configuration and the library
version.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from sla_sync.domain import ensure_utc
from sla_sync.sla._calendar_config import (
    CalendarConfigError,
    VersionSpec,
    local_midnight,
    parse_calendar,
)

__all__ = ["BusinessCalendar", "CalendarConfigError", "CalendarExhaustedError"]

SEARCH_LIMIT_DAYS: Final = 3 * 366
"""How far (in local days) a search for open time or a working day goes before giving up."""

_US: Final = timedelta(microseconds=1)
_MINUTE_US: Final = 60_000_000
_DAY_US: Final = 86_400_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_ONE_DAY: Final = timedelta(days=1)

Interval = tuple[int, int]
"""``[start, end)`` in microseconds since the Unix epoch (UTC); integers keep sums exact."""


class CalendarExhaustedError(CalendarConfigError):
    """A search found no open time (or no working day) within :data:`SEARCH_LIMIT_DAYS`.

    The configuration has working time every week, so this means the holidays close every
    working day for years (for example ``holidays.add`` lists every Monday of a Monday-only
    calendar). Raised at run time instead of searching forever.
    """

    def __init__(self, name: str, after: date) -> None:
        message = (
            f"calendar {name!r} has no open time in the {SEARCH_LIMIT_DAYS} days after "
            f"{after.isoformat()}: do holidays close every working day?"
        )
        super().__init__([("holidays", message)])


def _to_us(instant: datetime, what: str) -> int:
    """Microseconds since the epoch of an aware instant.

    Raises:
        NaiveDatetimeError: ``instant`` is naive (a ``ValueError``; no zone is ever guessed).
    """
    return (ensure_utc(instant, what=what) - _EPOCH) // _US


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True, slots=True)
class _Version:
    """One calendar version with its lazily filled caches (excluded from equality and hash).

    ``start_us`` is the instant the version takes effect (``None`` for the first version, which
    also governs all earlier time).
    """

    spec: VersionSpec
    start_us: int | None
    _days: dict[int, tuple[int, tuple[Interval, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _holiday_years: dict[int, frozenset[date]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def local_ordinal(self, instant_us: int) -> int:
        """Proleptic ordinal of the local date of an instant in this version's zone."""
        return _from_us(instant_us).astimezone(self.spec.zone).toordinal()

    def wall_to_us(self, ordinal: int, minute: int, fold: int = 0) -> int:
        """The instant of local wall time ``minute`` minutes after midnight of day ``ordinal``.

        ``minute`` may exceed a day (windows crossing midnight). With ``fold=0`` a nonexistent
        time lands ``gap`` later (zoneinfo uses the offset before the transition) and an ambiguous
        time on its first occurrence: the reference conventions.
        """
        naive = datetime.fromordinal(ordinal) + timedelta(minutes=minute)
        return (naive.replace(tzinfo=self.spec.zone, fold=fold) - _EPOCH) // _US

    def is_holiday(self, day: date) -> bool:
        """Whether the local date ``day`` is closed by this version's holidays."""
        rules = self.spec.holidays
        if day in rules.add:
            return True
        if rules.country is None or day in rules.remove:
            return False
        dates = self._holiday_years.get(day.year)
        if dates is None:
            # An observed day can belong to a neighbouring year's holiday (New Year 2022 observed
            # on 2021-12-31): ask for the neighbours and keep this year's dates.
            years = (day.year - 1, day.year, day.year + 1)
            found = holidays_lib.country_holidays(
                rules.country, subdiv=rules.subdivision, years=years
            )
            dates = frozenset(d for d in found if d.year == day.year)
            self._holiday_years[day.year] = dates
        return day in dates

    def is_business_day(self, day: date) -> bool:
        """Whether a window starts on local date ``day`` (its weekday has one, not a holiday)."""
        return bool(self.spec.week[day.weekday()]) and not self.is_holiday(day)

    def day(self, ordinal: int) -> tuple[int, tuple[Interval, ...]]:
        """``(floor, intervals)`` of local day ``ordinal``, cached.

        ``intervals`` are the day's open windows as UTC intervals, sorted by start. ``floor`` is a
        lower bound of the start of any window of this day or a later one: the earlier of the two
        readings of local midnight (a window start in a spring-forward gap moves forward, so the
        start of a later window can precede a shifted one, but never this bound).
        """
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached
        floor = min(self.wall_to_us(ordinal, 0, 0), self.wall_to_us(ordinal, 0, 1))
        intervals: tuple[Interval, ...] = ()
        day = date.fromordinal(ordinal)
        if self.is_business_day(day):
            spans = (
                (self.wall_to_us(ordinal, s), self.wall_to_us(ordinal, e))
                for s, e in self.spec.week[day.weekday()]
            )
            # A boundary in a spring-forward gap moves forward by the gap, which can empty a
            # window lying inside the gap or reorder the day's windows: drop empty ones, sort.
            intervals = tuple(sorted(span for span in spans if span[1] > span[0]))
        self._days[ordinal] = floor, intervals
        return floor, intervals

    def pieces(self, lo: int, hi: int | None, name: str) -> Iterator[Interval]:
        """This version's open intervals clipped to ``[lo, hi)``, in order of start.

        Intervals may touch or overlap (the caller makes them disjoint). Windows are produced day
        by day through a heap and released only once no later day can start earlier (``floor``),
        so overnight windows and DST shifts come out in chronological order (reference T7).

        Raises:
            CalendarExhaustedError: ``hi`` is ``None`` and no window opens for
                :data:`SEARCH_LIMIT_DAYS` consecutive days.
        """
        # A window ends less than two local days after the midnight of the day it starts on.
        ordinal = self.local_ordinal(lo) - 2
        last_open = ordinal
        pending: list[Interval] = []
        while True:
            _, intervals = self.day(ordinal)
            next_floor, _ = self.day(ordinal + 1)
            for interval in intervals:
                heapq.heappush(pending, interval)
            while pending and pending[0][0] <= next_floor:
                start, end = heapq.heappop(pending)
                start, end = max(start, lo), end if hi is None else min(end, hi)
                if start < end:
                    yield start, end
            if hi is not None and next_floor >= hi:
                return
            if intervals:
                last_open = ordinal
            elif hi is None and ordinal - last_open > SEARCH_LIMIT_DAYS:
                raise CalendarExhaustedError(name, date.fromordinal(last_open))
            ordinal += 1


def _pause_intervals(pauses: Iterable[tuple[datetime, datetime]]) -> list[Interval]:
    """Sorted, merged, non-empty pause intervals.

    Raises:
        ValueError: a pause ends before it starts, or an instant is naive.
    """
    spans: list[Interval] = []
    for index, (start, end) in enumerate(pauses):
        a, b = _to_us(start, f"pauses[{index}] start"), _to_us(end, f"pauses[{index}] end")
        if b < a:
            raise ValueError(
                f"pauses[{index}]: end {end.isoformat()} is before start {start.isoformat()}"
            )
        if b > a:
            spans.append((a, b))
    spans.sort()
    merged: list[Interval] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = merged[-1][0], max(merged[-1][1], b)
        else:
            merged.append((a, b))
    return merged


def _minus(pieces: Iterator[Interval], pauses: list[Interval]) -> Iterator[Interval]:
    """``pieces`` (disjoint, chronological) without the time covered by ``pauses`` (merged)."""
    first = 0  # pauses before `first` ended before the current piece
    for start, end in pieces:
        while first < len(pauses) and pauses[first][1] <= start:
            first += 1
        index = first
        while start < end:
            if index == len(pauses) or pauses[index][0] >= end:
                yield start, end
                break
            pause_start, pause_end = pauses[index]
            if pause_start > start:
                yield start, pause_start
            start = max(start, pause_end)
            index += 1


@dataclass(frozen=True, slots=True, repr=False)
class BusinessCalendar:
    """Working hours in an IANA zone, with holidays, possibly in effective-dated versions.

    Immutable, comparable and hashable (by name and configuration); the only mutable state is
    internal caches of computed days and holiday years, which never change a result. Build it with
    :meth:`from_config`.
    """

    name: str
    _versions: tuple[_Version, ...]
    _starts: tuple[int, ...] = field(init=False, compare=False)
    _dates: tuple[date, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Versions after the first always have a start (the parser guarantees it).
        later = self._versions[1:]
        object.__setattr__(
            self, "_starts", tuple(v.start_us for v in later if v.start_us is not None)
        )
        object.__setattr__(
            self, "_dates", tuple(v.spec.effective_from for v in later if v.spec.effective_from)
        )

    @classmethod
    def from_config(cls, mapping: object, *, name: str = "calendar") -> BusinessCalendar:
        """Build a calendar from its configuration.

        ``mapping`` is one calendar mapping (``timezone``, ``hours``, optional ``holidays`` and
        ``effective_from``), a list of such mappings (effective-dated versions, oldest first;
        only the first may omit ``effective_from``), or ``{"versions": [...]}``.

        Raises:
            CalendarConfigError: with every problem found; paths are relative to ``mapping``
                (``hours.mon``, ``versions[1].effective_from``, ``[1].timezone``).
        """
        specs = parse_calendar(mapping)
        # The first version governs all time before the second, whatever its own date says.
        later = (
            _Version(spec, (local_midnight(spec.effective_from, spec.zone) - _EPOCH) // _US)
            for spec in specs[1:]
            if spec.effective_from is not None  # always: the parser requires it after the first
        )
        versions = (_Version(specs[0], None), *later)
        return cls(name, versions)

    # ------------------------------------------------------------------ description

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of the most recent version (see :meth:`zone_at` for an instant)."""
        return self._versions[-1].spec.zone

    @property
    def timezone(self) -> str:
        """IANA name of :attr:`zone`."""
        return self.zone.key

    def zone_at(self, instant: datetime) -> ZoneInfo:
        """The time zone of the version in force at ``instant``."""
        return self._version_at(_to_us(instant, "instant")).spec.zone

    def __repr__(self) -> str:
        count = len(self._versions)
        return (
            f"<BusinessCalendar {self.name!r} {self.timezone}, {count} version{'s' * (count > 1)}>"
        )

    # ------------------------------------------------------------------ instants

    def is_open(self, instant: datetime) -> bool:
        """Whether business time runs at ``instant`` (window start inclusive, end exclusive).

        Raises:
            ValueError: ``instant`` is naive.
        """
        t = _to_us(instant, "instant")
        return next(self._pieces(t, t + 1), None) is not None

    def next_open(self, instant: datetime) -> datetime:
        """The first open instant at or after ``instant`` (``instant`` itself when open), in UTC.

        Raises:
            ValueError: ``instant`` is naive.
            CalendarExhaustedError: no open time within :data:`SEARCH_LIMIT_DAYS`.
        """
        start, _ = next(self._pieces(_to_us(instant, "instant"), None))
        return _from_us(start)

    def add(
        self, start: datetime, span: timedelta, pauses: Iterable[tuple[datetime, datetime]] = ()
    ) -> datetime:
        """The instant at which ``span`` of business time counted from ``start`` is used up.

        The clock idles while closed: a start outside open time counts from the next opening
        (reference T3, T5). A result that lands exactly on a window's end stays there (T4:
        Fri 16:00 + 1 h = Fri 17:00, not Mon 09:00). ``span == 0`` returns ``start`` unchanged
        (in UTC) even when closed: no business time is needed, and ``elapsed(start, result)``
        is 0 either way. ``pauses`` are ``(start, end)`` intervals during which the clock does not
        run; they are unioned, and closed time inside a pause is not subtracted twice (T27), so
        the result moves out by the paused business time only.

        Raises:
            ValueError: ``span`` is negative, an instant is naive, or a pause ends before it starts.
            CalendarExhaustedError: no open time within :data:`SEARCH_LIMIT_DAYS`.
        """
        t = _to_us(start, "start")
        if span < timedelta(0):
            raise ValueError(f"span must not be negative, got {span}")
        need = span // _US
        if need == 0:
            return _from_us(t)
        pieces = _minus(self._pieces(t, None), _pause_intervals(pauses))
        while True:  # _pieces never ends: it yields or raises CalendarExhaustedError
            piece_start, piece_end = next(pieces)
            if piece_end - piece_start >= need:
                return _from_us(piece_start + need)
            need -= piece_end - piece_start

    def elapsed(
        self, start: datetime, end: datetime, pauses: Iterable[tuple[datetime, datetime]] = ()
    ) -> timedelta:
        """Business time in ``[start, end)``, less the open time covered by ``pauses``.

        Exact (microseconds, no rounding): ``elapsed(s, add(s, d)) == d`` and elapsed time is
        additive over adjacent ranges.

        Raises:
            ValueError: ``end`` is before ``start``, an instant is naive, or a pause ends before
                it starts.
        """
        a, b = _to_us(start, "start"), _to_us(end, "end")
        if b < a:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        pieces = _minus(self._pieces(a, b), _pause_intervals(pauses))
        return timedelta(microseconds=sum(e - s for s, e in pieces))

    def add_business_days(self, start: datetime, n: int) -> datetime:
        """``n`` whole working days after ``start``, at the same local wall time (reference T8).

        Not ``n`` x 24 business hours: Mon 09:00 + 1 = Tue 09:00. Precisely:

        1. ``s0 = next_open(start)`` (a closed start first moves to the next opening).
        2. Anchor: the local date on which the window containing ``s0`` started (usually the date
           of ``s0``; the previous evening for the small hours of an overnight shift) and the
           local wall-clock offset of ``s0`` from that date's midnight.
        3. Step ``n`` working days forward from the anchor date (:meth:`is_business_day`).
        4. The target is that date's midnight plus the offset, read in the zone of the version in
           force on that date (``fold=0``); if it is not open, the next opening after it.

        ``n == 0`` returns ``s0``.

        Raises:
            ValueError: ``n`` is negative or ``start`` is naive.
            CalendarExhaustedError: no working day within :data:`SEARCH_LIMIT_DAYS`.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        s0 = self.next_open(start)
        if n == 0:
            return s0
        t = _to_us(s0, "start")
        version = self._version_at(t)
        local = s0.astimezone(version.spec.zone)
        # s0 is open, so a window of this version contains it; it starts at most two days back.
        anchor = next(
            ordinal
            for ordinal in range(local.toordinal(), local.toordinal() - 3, -1)
            if any(s <= t < e for s, e in version.day(ordinal)[1])
        )
        offset = local.replace(tzinfo=None) - datetime.fromordinal(anchor)
        day = date.fromordinal(anchor)
        for _ in range(n):
            day = self._next_business_day(day)
        zone = self._version_on(day).spec.zone
        target = (datetime.fromordinal(day.toordinal()) + offset).replace(tzinfo=zone)
        return self.next_open(target)

    # ------------------------------------------------------------------ local dates

    def is_business_day(self, day: date) -> bool:
        """Whether a window starts on the local date ``day`` (per the version in force that day).

        Raises:
            TypeError: ``day`` is a ``datetime`` (pass a local date).
        """
        if isinstance(day, datetime):
            raise TypeError("is_business_day takes a local date, not a datetime")
        return self._version_on(day).is_business_day(day)

    def count_business_days(self, start: date, end: date) -> int:
        """Number of working days among the local dates ``[start, end)``.

        Raises:
            ValueError: ``end`` is before ``start``.
            TypeError: a bound is a ``datetime``.
        """
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        return sum(
            self.is_business_day(date.fromordinal(o))
            for o in range(start.toordinal(), end.toordinal())
        )

    # ------------------------------------------------------------------ internals

    def _version_at(self, instant_us: int) -> _Version:
        return self._versions[bisect_right(self._starts, instant_us)]

    def _version_on(self, day: date) -> _Version:
        return self._versions[bisect_right(self._dates, day)]

    def _next_business_day(self, day: date) -> date:
        for _ in range(SEARCH_LIMIT_DAYS):
            day += _ONE_DAY
            if self.is_business_day(day):
                return day
        raise CalendarExhaustedError(self.name, day - SEARCH_LIMIT_DAYS * _ONE_DAY)

    def _pieces(self, lo: int, hi: int | None) -> Iterator[Interval]:
        """Disjoint open intervals within ``[lo, hi)`` (``hi=None``: unbounded), chronological.

        Consecutive intervals may touch (one per window, or per version): callers that add or
        sum them do not need maximal ones, and a 24x7 calendar has no maximal one at all.
        """
        reach = lo
        for index in range(bisect_right(self._starts, lo), len(self._versions)):
            version = self._versions[index]
            seg_lo = lo if version.start_us is None else max(lo, version.start_us)
            seg_hi = hi
            if index + 1 < len(self._versions):
                next_start = self._starts[index]
                seg_hi = next_start if hi is None else min(hi, next_start)
            if seg_hi is not None and seg_lo >= seg_hi:
                return
            for start, end in version.pieces(seg_lo, seg_hi, self.name):
                if end > reach:
                    yield max(start, reach), end
                    reach = end
