"""Parsing and validation of calendar configuration (private helper of :mod:`.calendar`).

Turns the YAML calendar mapping (or a list of effective-dated versions of it) into frozen
:class:`VersionSpec` values, collecting every problem with a path relative to the calendar
mapping, and raises one :class:`CalendarConfigError` listing them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY: Final = 24 * 60

# holidays 0.109 still knows "UK" (its class reports country "GB"), but GB is the ISO 3166 code the
# library is moving to. Normalising here makes "UK" work on any library release and makes a "UK"
# and a "GB" calendar compare equal.
COUNTRY_ALIASES: Final = {"UK": "GB"}

# Keys zoneinfo resolves that are not IANA zones but whatever the machine is set to: a calendar
# must mean the same thing on every machine.
_MACHINE_ZONES: Final = frozenset({"localtime", "posixrules"})

_VERSION_KEYS: Final = ("timezone", "hours", "holidays", "effective_from")
_HOLIDAY_KEYS: Final = ("country", "subdivision", "add", "remove")
_WINDOW_RE: Final = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")

Window = tuple[int, int]
"""(start, end) in minutes from the local midnight of the day the window starts on.

``end > start`` always; ``end > 1440`` for a window that crosses midnight.
"""

Problems = list[tuple[str, str]]


class CalendarConfigError(ValueError):
    """A calendar configuration is invalid.

    Attributes:
        problems: every problem found, as ``(path, message)`` pairs; ``path`` is relative to the
            calendar mapping (``hours.mon``, ``versions[1].timezone``, ``[0].hours`` for a bare list
            of versions; empty for the mapping itself). ``str()`` joins them with ``"; "``.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: list[tuple[str, str]] = list(problems)
        super().__init__("; ".join(f"{p}: {m}" if p else m for p, m in self.problems))


@dataclass(frozen=True, slots=True)
class HolidaySpec:
    """Closed local dates: the library's holidays of ``country``/``subdivision``, plus ``add``,
    minus ``remove``. ``country`` is ``None`` when only ``add`` applies."""

    country: str | None = None
    subdivision: str | None = None
    add: frozenset[date] = frozenset()
    remove: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """One validated calendar version.

    ``week[0]`` (Monday) .. ``week[6]`` (Sunday) hold the day's windows sorted by start, pairwise
    non-overlapping; at least one day has a window. ``effective_from`` is ``None`` only for the
    first version.
    """

    effective_from: date | None
    zone: ZoneInfo
    week: tuple[tuple[Window, ...], ...]
    holidays: HolidaySpec


def parse_calendar(raw: object) -> tuple[VersionSpec, ...]:
    """Validate a calendar mapping, a list of versions, or ``{"versions": [...]}``.

    Returns:
        The versions, oldest first.

    Raises:
        CalendarConfigError: listing every problem found.
    """
    problems: Problems = []
    items, prefix = _version_items(raw, problems)
    specs: list[tuple[str, VersionSpec]] = []
    for index, item in enumerate(items):
        path = "" if prefix is None else f"{prefix}[{index}]"
        spec = _parse_version(item, path, index, problems)
        if spec is not None:
            specs.append((path, spec))
    _check_order(specs, problems)
    if problems:
        raise CalendarConfigError(problems)
    return tuple(spec for _, spec in specs)


def _version_items(raw: object, problems: Problems) -> tuple[Sequence[object], str | None]:
    """The version mappings to parse and the path prefix of their index (``None``: no index)."""
    if isinstance(raw, Mapping) and "versions" in raw:
        problems.extend(
            (str(key), "not allowed beside versions") for key in raw if key != "versions"
        )
        return _version_list(raw["versions"], "versions", problems), "versions"
    if isinstance(raw, Mapping):
        return [raw], None
    return _version_list(raw, "", problems), ""


def _version_list(raw: object, path: str, problems: Problems) -> Sequence[object]:
    if not isinstance(raw, list | tuple):
        problems.append((path, "expected a calendar mapping or a list of calendar versions"))
        return []
    if not raw:
        problems.append((path, "needs at least one calendar version"))
    return raw


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _parse_version(item: object, path: str, index: int, problems: Problems) -> VersionSpec | None:
    if not isinstance(item, Mapping):
        problems.append((path, "expected a mapping with timezone, hours and holidays"))
        return None
    before = len(problems)
    expected = ", ".join(_VERSION_KEYS)
    problems.extend(
        (_join(path, str(key)), f"unknown key (expected {expected})")
        for key in item
        if key not in _VERSION_KEYS
    )
    zone = _parse_zone(item.get("timezone"), _join(path, "timezone"), problems)
    week = _parse_hours(item.get("hours"), _join(path, "hours"), problems)
    holidays = _parse_holidays(item.get("holidays"), _join(path, "holidays"), problems)
    effective_from = None
    if "effective_from" in item:
        effective_from = _parse_date(
            item["effective_from"], _join(path, "effective_from"), problems
        )
    elif index > 0:
        problems.append(
            (_join(path, "effective_from"), "required (only the first version may omit it)")
        )
    if len(problems) > before or zone is None or week is None or holidays is None:
        return None
    return VersionSpec(effective_from, zone, week, holidays)


def _parse_zone(value: object, path: str, problems: Problems) -> ZoneInfo | None:
    if value is None:
        problems.append((path, "required (an IANA time zone such as America/New_York)"))
        return None
    if isinstance(value, str) and value not in _MACHINE_ZONES:
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # not found; not a normalised relative key; a directory such as "America"
            pass
    problems.append((path, f"{_show(value)} is not an IANA time zone"))
    return None


# --------------------------------------------------------------------------- hours


def _parse_hours(
    value: object, path: str, problems: Problems
) -> tuple[tuple[Window, ...], ...] | None:
    if value is None:
        problems.append((path, "required (e.g. {mon-fri: [09:00-17:00]})"))
        return None
    if not isinstance(value, Mapping):
        problems.append((path, "expected a mapping of day keys (mon-fri, sat, ...) to windows"))
        return None
    before = len(problems)
    # A day may appear under several keys (the reference's T7 night shift is naturally written
    # ``mon-fri: [22:00-24:00]`` plus ``tue-sat: [00:00-06:00]``): its windows combine, and only
    # windows that overlap are an error.
    sources: list[list[tuple[Window, str]]] = [[] for _ in range(7)]
    for key, raw_windows in value.items():
        key_path = f"{path}.{key}"
        days = _parse_day_key(key, key_path, problems)
        windows = _parse_windows(raw_windows, key_path, problems)
        for day in days or ():
            sources[day].extend((window, str(key)) for window in windows or ())
    week: list[tuple[Window, ...]] = [()] * 7
    for day, entries in enumerate(sources):
        entries.sort()
        reach: tuple[Window, str] | None = None
        for window, key in entries:
            if reach is not None and window[0] < reach[0][1] and key != reach[1]:
                problems.append(
                    (
                        f"{path}.{key}",
                        (
                            f"{DAY_NAMES[day]}: window {format_window(window)} overlaps "
                            f'{format_window(reach[0])} from "{reach[1]}"'
                        ),
                    )
                )
            if reach is None or window[1] > reach[0][1]:
                reach = (window, key)
        week[day] = tuple(window for window, _ in entries)
    if len(problems) > before:
        return None
    if not any(week):
        problems.append((path, "no working time in any week"))
        return None
    return tuple(week)


def _parse_day_key(key: object, path: str, problems: Problems) -> list[int] | None:
    """``mon``, ``mon-fri`` (ranges may wrap: ``fri-mon``), ``sat,sun``, or a mix."""
    days: list[int] = []
    parts = key.lower().split(",") if isinstance(key, str) else [""]
    for part in parts:
        first, dash, last = (s.strip() for s in part.partition("-"))
        last = last if dash else first
        if first not in DAY_NAMES or last not in DAY_NAMES:
            problems.append(
                (path, "unknown day key (use mon..sun, ranges like mon-fri, lists like sat,sun)")
            )
            return None
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last)
        days.extend((start + k) % 7 for k in range((end - start) % 7 + 1))
    twice = sorted({day for day in days if days.count(day) > 1})
    if twice:
        names = ", ".join(DAY_NAMES[day] for day in twice)
        problems.append((path, f"{names} listed twice in one key"))
        return None
    return days


def _parse_windows(value: object, path: str, problems: Problems) -> tuple[Window, ...] | None:
    """A list of ``HH:MM-HH:MM`` strings (a single string or ``null`` are accepted too)."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        problems.append((path, f"{_show(value)} is not a list of HH:MM-HH:MM windows"))
        return None
    windows: list[Window] = []
    for item in items:
        window = _parse_window(item)
        if window is None:
            problems.append((path, f"{_show(item)} is not HH:MM-HH:MM"))
        else:
            windows.append(window)
    if len(windows) < len(items):
        return None
    windows.sort()
    reach: Window | None = None
    overlapping = False
    for window in windows:
        if reach is not None and window[0] < reach[1]:
            problems.append(
                (path, f"windows {format_window(reach)} and {format_window(window)} overlap")
            )
            overlapping = True
        if reach is None or window[1] > reach[1]:
            reach = window
    return None if overlapping else tuple(windows)


def _parse_window(item: object) -> Window | None:
    match = _WINDOW_RE.fullmatch(item) if isinstance(item, str) else None
    if match is None:
        return None
    start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
    if start_h > 23 or start_m > 59 or end_h > 24 or end_m > 59 or (end_h == 24 and end_m > 0):
        return None
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    # An end at or before the start crosses midnight: "22:00-06:00", "00:00-00:00" (24 h).
    return start, end if end > start else end + MINUTES_PER_DAY


def format_window(window: Window) -> str:
    """``HH:MM-HH:MM`` as it would be written in the configuration."""

    def hhmm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    start, end = window
    return f"{hhmm(start)}-{hhmm(end if end <= MINUTES_PER_DAY else end - MINUTES_PER_DAY)}"


# --------------------------------------------------------------------------- holidays


def _parse_holidays(value: object, path: str, problems: Problems) -> HolidaySpec | None:
    if value is None:
        return HolidaySpec()
    if not isinstance(value, Mapping):
        problems.append((path, "expected a mapping with country, subdivision, add, remove"))
        return None
    before = len(problems)
    expected = ", ".join(_HOLIDAY_KEYS)
    problems.extend(
        (f"{path}.{key}", f"unknown key (expected {expected})")
        for key in value
        if key not in _HOLIDAY_KEYS
    )
    country, subdivision = _parse_country(
        value.get("country"), value.get("subdivision"), path, problems
    )
    add = _parse_dates(value.get("add"), f"{path}.add", problems)
    remove = _parse_dates(value.get("remove"), f"{path}.remove", problems)
    problems.extend(
        (f"{path}.remove", f"{day.isoformat()} is also in {path}.add")
        for day in sorted(add & remove)
    )
    if remove and country is None:
        problems.append((f"{path}.remove", f"needs {path}.country (no library holidays to remove)"))
    if len(problems) > before:
        return None
    return HolidaySpec(country, subdivision, add, remove)


def _parse_country(
    country: object, subdivision: object, path: str, problems: Problems
) -> tuple[str | None, str | None]:
    """Check country and subdivision against the holidays library; return the normalised codes."""
    if subdivision is not None and not isinstance(subdivision, str):
        problems.append((f"{path}.subdivision", f"{_show(subdivision)} is not a subdivision code"))
        return None, None
    if country is None:
        if subdivision is not None:
            problems.append((f"{path}.subdivision", f"needs {path}.country"))
        return None, None
    code = country.strip().upper() if isinstance(country, str) else ""
    code = COUNTRY_ALIASES.get(code, code)
    if not code or not _library_knows(code, None):
        problems.append(
            (f"{path}.country", f"{_show(country)} is not a country the holidays library knows")
        )
        return None, None
    if subdivision is not None and not _library_knows(code, subdivision):
        problems.append(
            (
                f"{path}.subdivision",
                f'"{subdivision}" is not a subdivision of {code} the holidays library knows',
            )
        )
        return None, None
    return code, subdivision


def _library_knows(country: str, subdivision: str | None) -> bool:
    try:
        holidays_lib.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError:  # the library's answer for an unknown country or subdivision
        return False
    return True


def _parse_dates(value: object, path: str, problems: Problems) -> frozenset[date]:
    if value is None:
        return frozenset()
    if not isinstance(value, list | tuple):
        problems.append((path, "expected a list of dates (YYYY-MM-DD)"))
        return frozenset()
    found = (_parse_date(item, f"{path}[{i}]", problems) for i, item in enumerate(value))
    return frozenset(day for day in found if day is not None)


def _parse_date(value: object, path: str, problems: Problems) -> date | None:
    """A ``date`` (as YAML loads ``2026-12-24``) or an ISO string; a ``datetime`` is refused."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append((path, f"{_show(value)} is not a date (YYYY-MM-DD)"))
    return None


# --------------------------------------------------------------------------- versions


def _check_order(specs: Sequence[tuple[str, VersionSpec]], problems: Problems) -> None:
    """Versions must be listed oldest first, with distinct dates and start instants."""
    for (prev_path, prev), (path, spec) in pairwise(specs):
        if prev.effective_from is None or spec.effective_from is None:
            continue  # the first version may omit its date; a missing later one is reported
        where = _join(path, "effective_from")
        previous = f"{prev.effective_from} of {_join(prev_path, 'effective_from')}"
        if spec.effective_from == prev.effective_from:
            problems.append((where, f"{spec.effective_from} duplicates {previous}"))
        elif spec.effective_from < prev.effective_from:
            problems.append(
                (where, f"{spec.effective_from} is before {previous}: list versions oldest first")
            )
        elif local_midnight(spec.effective_from, spec.zone) <= local_midnight(
            prev.effective_from, prev.zone
        ):
            # Dates in order can still be instants out of order when the zones differ by > 1 day.
            problems.append(
                (
                    where,
                    (
                        f"{spec.effective_from} 00:00 {spec.zone.key} does not start after "
                        f"{prev.effective_from} 00:00 {prev.zone.key} of {prev_path}"
                    ),
                )
            )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The aware instant local ``day`` begins in ``zone`` (fold=0, like every local time here)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone)
