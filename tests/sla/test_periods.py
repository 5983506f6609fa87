"""Reporting periods: labels, boundaries in the reporting time zone, parsing, ISO weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sla_sync.domain import NaiveDatetimeError
from sla_sync.sla.periods import Period, local_midnight, zone
from sla_sync.sla.policy import PeriodKind

MONTH, QUARTER, WEEK = PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.WEEK
NY = "America/New_York"
LA = "America/Los_Angeles"


@pytest.mark.parametrize(
    ("kind", "day", "label", "start", "end"),
    [
        (MONTH, date(2026, 11, 17), "2026-11", date(2026, 11, 1), date(2026, 12, 1)),
        (MONTH, date(2026, 12, 31), "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        (QUARTER, date(2026, 11, 17), "2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        (QUARTER, date(2025, 2, 28), "2025-Q1", date(2025, 1, 1), date(2025, 4, 1)),
        (WEEK, date(2026, 11, 17), "2026-W47", date(2026, 11, 16), date(2026, 11, 23)),
        # ISO week-numbering years differ from calendar years around New Year.
        (WEEK, date(2026, 12, 31), "2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
        (WEEK, date(2027, 1, 1), "2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
        (WEEK, date(2027, 1, 4), "2027-W01", date(2027, 1, 4), date(2027, 1, 11)),
        (WEEK, date(2024, 12, 31), "2025-W01", date(2024, 12, 30), date(2025, 1, 6)),
    ],
)
def test_period_of_gives_label_and_bounds(
    kind: PeriodKind, day: date, label: str, start: date, end: date
) -> None:
    period = Period.of(kind, day, NY)
    assert (period.label, period.start, period.end) == (label, start, end)
    assert str(period) == label
    assert Period.parse(label, NY) == period
    assert period.days == (end - start).days


def test_t25_m9_reporting_timezone_decides_the_month() -> None:
    # T25 / M9: 2025-03-31 23:30 America/Los_Angeles is 2025-04-01 06:30Z.
    mql = datetime(2025, 3, 31, 23, 30, tzinfo=ZoneInfo(LA))
    assert mql.astimezone(UTC) == datetime(2025, 4, 1, 6, 30, tzinfo=UTC)
    assert Period.containing(mql, MONTH, LA).label == "2025-03"
    assert Period.containing(mql, MONTH, "UTC").label == "2025-04"
    assert Period.parse("2025-03", LA).contains(mql)
    assert not Period.parse("2025-03", "UTC").contains(mql)
    assert Period.parse("2025-04", "UTC").contains(mql)


def test_utc_bounds_follow_the_offset_at_each_end() -> None:
    march = Period.parse("2025-03", NY)  # EST at the start, EDT at the end
    assert march.utc_start == datetime(2025, 3, 1, 5, tzinfo=UTC)
    assert march.utc_end == datetime(2025, 4, 1, 4, tzinfo=UTC)
    assert march.contains(datetime(2025, 3, 1, 5, tzinfo=UTC))
    assert not march.contains(datetime(2025, 3, 1, 4, 59, 59, tzinfo=UTC))
    assert not march.contains(march.utc_end)  # end exclusive
    assert march.local_date(datetime(2025, 4, 1, 3, 59, tzinfo=UTC)) == date(2025, 3, 31)


def test_local_midnight_in_a_gap_is_the_transition_instant() -> None:
    # America/Santiago springs forward at 00:00 on 2024-09-08: local midnight does not exist,
    # and the day starts at the transition (04:00Z).
    assert local_midnight(date(2024, 9, 8), ZoneInfo("America/Santiago")) == datetime(
        2024, 9, 8, 4, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("label", "following", "preceding"),
    [
        ("2026-12", "2027-01", "2026-11"),
        ("2025-01", "2025-02", "2024-12"),
        ("2026-Q4", "2027-Q1", "2026-Q3"),
        ("2026-Q1", "2026-Q2", "2025-Q4"),
        ("2026-W53", "2027-W01", "2026-W52"),
        ("2027-W01", "2027-W02", "2026-W53"),
        ("2025-W01", "2025-W02", "2024-W52"),
    ],
)
def test_next_and_previous(label: str, following: str, preceding: str) -> None:
    period = Period.parse(label, NY)
    assert period.next().label == following
    assert period.previous().label == preceding
    assert period.next().previous() == period


@pytest.mark.parametrize(
    ("label", "weeks"),
    [
        ("2027-02", ["2027-W05", "2027-W06", "2027-W07", "2027-W08"]),  # Mon 1 .. Sun 28
        (
            "2024-12",
            ["2024-W48", "2024-W49", "2024-W50", "2024-W51", "2024-W52", "2025-W01"],
        ),
        ("2026-W10", ["2026-W10"]),
    ],
)
def test_weeks_intersecting_a_period(label: str, weeks: list[str]) -> None:
    period = Period.parse(label, NY)
    found = period.weeks()
    assert [week.label for week in found] == weeks
    assert all(week.kind is WEEK and week.timezone == NY for week in found)
    assert found[0].start <= period.start < found[0].end
    assert found[-1].start < period.end <= found[-1].end


def test_quarter_weeks_cover_the_quarter() -> None:
    weeks = Period.parse("2025-Q1", NY).weeks()
    assert weeks[0].label == "2025-W01" and weeks[-1].label == "2025-W14"
    assert len(weeks) == 14


def test_overlap_and_contains_date() -> None:
    march = Period.parse("2025-03", NY)
    week = Period.parse("2025-W14", NY)  # Mon 31 Mar .. Sun 6 Apr
    assert march.overlap(week) == (date(2025, 3, 31), date(2025, 4, 1))
    assert march.overlap(Period.parse("2025-W16", NY)) is None
    assert march.contains_date(date(2025, 3, 31))
    assert not march.contains_date(date(2025, 4, 1))


@pytest.mark.parametrize(
    ("label", "fragment"),
    [
        ("2026-13", "month must be in 1..12"),
        ("2026-00", "month must be in 1..12"),
        ("2026-Q5", "quarter 5 is not 1..4"),
        ("2026-Q0", "quarter 0 is not 1..4"),
        ("2025-W53", "week"),  # 2025 has 52 ISO weeks
        ("2026-W00", "week"),
        ("2026/11", "expected YYYY-MM"),
        ("", "expected YYYY-MM"),
        ("November 2026", "expected YYYY-MM"),
    ],
)
def test_parse_rejects_bad_labels(label: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=f"bad period label {label!r}") as info:
        Period.parse(label, NY)
    assert fragment in str(info.value)


def test_parse_tolerates_surrounding_space() -> None:
    assert Period.parse(" 2026-11 ", NY).label == "2026-11"


def test_constructor_checks_the_fields() -> None:
    with pytest.raises(ValueError, match="does not start a month"):
        Period(MONTH, date(2026, 11, 2), date(2026, 12, 1), NY)
    with pytest.raises(ValueError, match="ends 2026-12-01, not 2026-12-02"):
        Period(MONTH, date(2026, 11, 1), date(2026, 12, 2), NY)
    with pytest.raises(ValueError, match="does not start a week"):
        Period(WEEK, date(2026, 11, 17), date(2026, 11, 24), NY)
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Olympus'"):
        Period.of(MONTH, date(2026, 11, 1), "Mars/Olympus")
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        zone("../etc/passwd")


def test_naive_instants_are_rejected() -> None:
    naive = datetime(2025, 3, 31, 23, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(NaiveDatetimeError):
        Period.containing(naive, MONTH, LA)
    with pytest.raises(NaiveDatetimeError):
        Period.parse("2025-03", LA).contains(naive)
    with pytest.raises(NaiveDatetimeError):
        Period.parse("2025-03", LA).local_date(naive)


ZONES = st.sampled_from(
    [
        "UTC",
        NY,
        LA,
        "Europe/London",
        "America/Santiago",  # DST changes at midnight
        "America/Havana",  # DST changes at midnight
        "Asia/Kolkata",
        "Australia/Lord_Howe",  # 30-minute DST shift
        "Pacific/Apia",  # skipped 2011-12-30 entirely
        "Pacific/Kiritimati",
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(1995, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(instant=INSTANTS, kind=st.sampled_from(list(PeriodKind)), tz=ZONES)
def test_containing_agrees_with_contains(instant: datetime, kind: PeriodKind, tz: str) -> None:
    period = Period.containing(instant, kind, tz)
    assert period.contains(instant)
    assert not period.next().contains(instant)
    assert not period.previous().contains(instant)
    assert period.utc_start <= instant < period.utc_end
    assert Period.parse(period.label, tz) == period


@given(instant=INSTANTS, kind=st.sampled_from(list(PeriodKind)), tz=ZONES)
def test_periods_tile_time(instant: datetime, kind: PeriodKind, tz: str) -> None:
    period = Period.containing(instant, kind, tz)
    assert period.next().utc_start == period.utc_end
    assert period.previous().utc_end == period.utc_start
    assert period.utc_end - period.utc_start > timedelta(days=5)
