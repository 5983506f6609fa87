"""Property tests of sla_sync.sla.calendar (hypothesis): add and elapsed are inverse, monotonic,
additive, pause-aware and always answer in UTC, on calendars with DST, overnight shifts, split
shifts, holidays and effective-dated versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sla_sync.sla.calendar import BusinessCalendar

CALENDARS = {
    "ny-9-17-us": BusinessCalendar.from_config(
        {
            "timezone": "America/New_York",
            "hours": {"mon-fri": ["09:00-17:00"]},
            "holidays": {"country": "US"},
        }
    ),
    "ny-overnight": BusinessCalendar.from_config(
        {
            "timezone": "America/New_York",
            "hours": {"mon-fri": ["22:00-06:00"], "sat": ["00:00-02:30"]},
        }
    ),
    "london-split-uk": BusinessCalendar.from_config(
        {
            "timezone": "Europe/London",
            "hours": {"mon-fri": ["08:30-12:00", "13:00-17:30"], "sat": ["10:00-14:00"]},
            "holidays": {"country": "UK", "add": ["2025-12-24"]},
        }
    ),
    "berlin-24x7": BusinessCalendar.from_config(
        {"timezone": "Europe/Berlin", "hours": {"mon-sun": ["00:00-24:00"]}}
    ),
    # DST-edge windows: one inside the spring-forward gap hour, one in the repeated fall-back hour.
    "ny-dst-edges": BusinessCalendar.from_config(
        {
            "timezone": "America/New_York",
            "hours": {"sun": ["01:00-02:30", "03:00-04:00"], "wed": ["12:00-13:00"]},
        }
    ),
    "versions": BusinessCalendar.from_config(
        [
            {"timezone": "America/New_York", "hours": {"mon-fri": ["09:00-17:00"]}},
            {
                "timezone": "Europe/London",
                "hours": {"mon-fri": ["22:00-02:00"]},
                "effective_from": "2025-03-10",
            },
            {
                "timezone": "Asia/Tokyo",
                "hours": {"tue-sat": ["09:00-18:00"]},
                "effective_from": "2025-11-03",
            },
        ]
    ),
}

calendars = st.sampled_from(list(CALENDARS.values()))
# Instants across 2024-2026, which include both DST transitions of every zone above (and the
# version changes), at microsecond resolution.
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds with `timezones`
    max_value=datetime(2026, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=200))
pauses = st.lists(st.tuples(instants, spans).map(lambda p: (p[0], p[0] + p[1])), max_size=4)

SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(calendars, instants, spans)
def test_elapsed_inverts_add(calendar: BusinessCalendar, start: datetime, span: timedelta) -> None:
    deadline = calendar.add(start, span)
    assert deadline.tzinfo is UTC
    assert deadline >= start
    assert calendar.elapsed(start, deadline) == span


@SETTINGS
@given(calendars, instants, spans)
def test_open_start(calendar: BusinessCalendar, instant: datetime, span: timedelta) -> None:
    start = calendar.next_open(instant)
    assert start.tzinfo is UTC
    assert calendar.is_open(start)
    assert calendar.elapsed(instant, start) == timedelta(0)
    assert calendar.elapsed(start, calendar.add(start, span)) == span


@SETTINGS
@given(calendars, instants, spans, spans)
def test_add_is_monotonic(
    calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    small, large = sorted((a, b))
    assert calendar.add(start, small) <= calendar.add(start, large)


@SETTINGS
@given(calendars, instants, spans, spans)
def test_elapsed_is_additive(
    calendar: BusinessCalendar, a: datetime, ab: timedelta, bc: timedelta
) -> None:
    b, c = a + ab, a + ab + bc
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)
    assert calendar.elapsed(a, c) <= c - a


@SETTINGS
@given(calendars, instants, spans, pauses)
def test_pauses_only_slow_the_clock(
    calendar: BusinessCalendar,
    start: datetime,
    span: timedelta,
    paused: list[tuple[datetime, datetime]],
) -> None:
    end = start + span
    assert calendar.elapsed(start, end, paused) <= calendar.elapsed(start, end)
    deadline = calendar.add(start, span, paused)
    assert deadline.tzinfo is UTC
    assert deadline >= calendar.add(start, span)
    assert calendar.elapsed(start, deadline, paused) == span


@SETTINGS
@given(calendars, instants, st.integers(min_value=0, max_value=15))
def test_business_days_land_on_open_time(
    calendar: BusinessCalendar, start: datetime, n: int
) -> None:
    result = calendar.add_business_days(start, n)
    assert result.tzinfo is UTC
    assert calendar.is_open(result)
    assert result >= calendar.next_open(start)
