"""Benchmark of sla_sync.sla.calendar: calls per second of the hot operations.

Run: ``/work/.venv/bin/python tests/bench/calendar_bench.py`` (a script, not a test). Each figure is
the best of three rounds over deterministic inputs spread across 2025-2026 (so holiday years and
day caches are warm after the first round, as in a long-running worker).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sla_sync.sla.calendar import BusinessCalendar

CALENDAR = BusinessCalendar.from_config(
    {
        "timezone": "America/New_York",
        "hours": {"mon-fri": ["09:00-12:00", "13:00-17:00"]},
        "holidays": {"country": "US", "subdivision": "NY", "add": ["2025-12-24"]},
    },
    name="bench",
)
N = 10_000
BASE = datetime(2025, 1, 1, tzinfo=UTC)
STARTS = [BASE + timedelta(minutes=(i * 7919) % (2 * 365 * 24 * 60)) for i in range(N)]
SPANS = [timedelta(hours=1 + i % 40, minutes=i % 60) for i in range(N)]
PAUSES = [((s + timedelta(hours=2)), s + timedelta(days=3)) for s in STARTS]


def bench(label: str, run: Callable[[int], object], calls: int = N) -> None:
    best = min(_timed(run, calls) for _ in range(3))
    print(f"{label:<48} {calls / best:>12,.0f} calls/s  ({best * 1000:.0f} ms for {calls:,})")


def _timed(run: Callable[[int], object], calls: int) -> float:
    began = time.perf_counter()
    for i in range(calls):
        run(i)
    return time.perf_counter() - began


def main() -> None:
    bench("add, 1-40 business hours", lambda i: CALENDAR.add(STARTS[i], SPANS[i]))
    bench("add with a pause", lambda i: CALENDAR.add(STARTS[i], SPANS[i], [PAUSES[i]]))
    bench(
        "elapsed over ~1-4 weeks", lambda i: CALENDAR.elapsed(STARTS[i], STARTS[i] + SPANS[i] * 12)
    )
    bench(
        "elapsed over 6 months with a pause (T28)",
        lambda i: CALENDAR.elapsed(STARTS[i], STARTS[i] + timedelta(days=180), [PAUSES[i]]),
        calls=1_000,
    )
    bench("add_business_days, 1-10", lambda i: CALENDAR.add_business_days(STARTS[i], 1 + i % 10))
    bench("is_open", lambda i: CALENDAR.is_open(STARTS[i]))
    bench(
        "count_business_days over a month",
        lambda i: CALENDAR.count_business_days(
            date(2025, 1 + i % 12, 1), date(2025, 1 + i % 12, 28)
        ),
        calls=1_000,
    )


if __name__ == "__main__":
    main()
