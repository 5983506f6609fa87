"""Hour-granular time tables for the seed generator (private to :mod:`sla_sync.sandbox.seed`).

Everything is precomputed once per spec over the span, so a lead costs no time-zone conversion:
the arrival intensity (an inverse CDF over the span's hours, so lead ``i`` of ``n`` lands at
quantile ``(i + u) / n`` and creation order follows id order), which region a lead arriving in a
given hour comes from, and each team's business hours (Mon-Fri 09:00-17:00 local, DST-aware).
Instants are integer epoch seconds; the tables hold one entry per hour of the span, so memory is
bounded by the span, never by the number of leads.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sla_sync.sandbox._seed_tables import HOUR_FACTOR, MONTHLY_GROWTH, REGIONS, WEEKDAY_FACTOR

OPEN_HOUR, CLOSE_HOUR = 9, 17


class Timeline:
    """Tables over ``[start, end)`` (epoch seconds); see the module docstring."""

    def __init__(self, start: int, end: int, zones: Iterable[str]) -> None:
        self.start = start
        self.end = end
        self.base = start - start % 3600
        self.hours = (end - self.base + 3599) // 3600
        self._hour_prefix: dict[int, str] = {}
        region_zones = [ZoneInfo(zone) for _, zone, _ in REGIONS.values()]
        shares = [share for share, _, _ in REGIONS.values()]
        self.regions = tuple(REGIONS)
        self._cum: list[float] = []
        self._region_cum: list[tuple[float, ...]] = []
        total = 0.0
        for h in range(self.hours):
            instant = datetime.fromtimestamp(self.base + h * 3600, UTC)
            growth = 1.0 + MONTHLY_GROWTH * (h / (30 * 24))
            weights = []
            for share, zone in zip(shares, region_zones, strict=True):
                local = instant.astimezone(zone)
                weights.append(share * WEEKDAY_FACTOR[local.weekday()] * HOUR_FACTOR[local.hour])
            hour_total = sum(weights)
            running, cum_regions = 0.0, []
            for weight in weights:
                running += weight / hour_total
                cum_regions.append(running)
            self._region_cum.append(tuple(cum_regions))
            total += hour_total * growth
            self._cum.append(total)
        self._total = total
        self._next_open = {zone: self._open_table(ZoneInfo(zone)) for zone in set(zones)}

    def _open_table(self, zone: ZoneInfo) -> array[int]:
        """Per hour: that hour's index if it is a business hour in ``zone``, else the next one's
        (-1 when none is left in the span)."""
        table = array("i", [-1]) * self.hours
        upcoming = -1
        for h in range(self.hours - 1, -1, -1):
            local = datetime.fromtimestamp(self.base + h * 3600, UTC).astimezone(zone)
            if local.weekday() < 5 and OPEN_HOUR <= local.hour < CLOSE_HOUR:
                upcoming = h
            table[h] = upcoming
        return table

    def arrival(self, quantile: float) -> tuple[int, int]:
        """``(instant, hour index)`` at ``quantile`` (0 <= q < 1) of the arrival distribution;
        non-decreasing in ``quantile``."""
        target = quantile * self._total
        h = min(bisect_right(self._cum, target), self.hours - 1)
        before = self._cum[h - 1] if h else 0.0
        width = self._cum[h] - before
        frac = (target - before) / width if width > 0 else 0.0
        instant = self.base + h * 3600 + int(frac * 3600)
        return min(max(instant, self.start), self.end - 1), h

    def region(self, hour: int, u: float) -> str:
        """The arrival region for a lead arriving in ``hour``, given a uniform draw ``u``."""
        cum = self._region_cum[hour]
        return self.regions[min(bisect_right(cum, u), len(cum) - 1)]

    def business(self, zone: str, instant: int) -> int | None:
        """``instant`` if it falls in business hours in ``zone``, else the next opening; ``None``
        when that lies beyond the span."""
        h = (instant - self.base) // 3600
        if h < 0:
            h = 0
            instant = self.base
        if h >= self.hours:
            return None
        upcoming = self._next_open[zone][h]
        if upcoming < 0:
            return None
        return instant if upcoming == h else self.base + upcoming * 3600

    def is_open(self, zone: str, instant: int) -> bool:
        """Whether ``instant`` lies in business hours in ``zone`` (False beyond the span)."""
        return self.business(zone, instant) == instant

    def iso(self, instant: int) -> str:
        """``2026-09-01T13:05:22Z`` (the seed format's instant). Hour prefixes are cached, which
        is bounded by the hours the span touches, and joined to a fixed minute:second table."""
        hour, rest = divmod(instant, 3600)
        prefix = self._hour_prefix.get(hour)
        if prefix is None:
            prefix = datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H:")
            self._hour_prefix[hour] = prefix
        return prefix + _MINUTE_SECOND[rest]


_MINUTE_SECOND = tuple(f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60))
