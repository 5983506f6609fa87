"""When the worker's jobs fire: local times across the 2026 DST changes, catch-up at start.

The triggers are APScheduler's own (with the agreement's zone); their ``get_next_fire_time`` is
the schedule the real scheduler follows.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla_sync.definitions import SlaSyncConfig, load_config_text
from sla_sync.runtime.scheduler import (
    CLOSE_JOB,
    REPORT_JOB,
    SYNC_JOB,
    close_due,
    close_trigger,
    plan_jobs,
    pool_size,
    report_due,
    sync_trigger,
    weekly_report_trigger,
)

CONFIG = """\
connections:
  - {name: hs, kind: hubspot, token_env: HS_TOKEN}
  - {name: hs2, kind: hubspot, token_env: HS_TOKEN}
calendars:
  c: {timezone: UTC, hours: {mon-fri: ["09:00-17:00"]}}
agreements:
  - id: ny
    parties: {provider: m, recipient: s}
    reporting:
      timezone: America/New_York
      weekly_report: {day: mon, at: "08:00"}
      close: {day: 1, at: "06:00"}
    connections: [hs]
    calendar: c
    sales: {acceptance: {within: 1 business_days}}
  - id: london
    parties: {provider: m, recipient: s}
    reporting:
      period: quarter
      timezone: Europe/London
      weekly_report: {day: sun, at: "01:30"}
      close: {day: 2, at: "08:00"}
    connections: [hs2]
    calendar: c
    sales: {acceptance: {within: 1 business_days}}
  - id: weekly
    parties: {provider: m, recipient: s}
    reporting: {period: week, timezone: America/New_York, close: {at: "07:00"}}
    connections: [hs]
    calendar: c
    sales: {acceptance: {within: 1 business_days}}
worker: {sync_every: 2 minutes}
"""


@pytest.fixture(scope="module")
def config() -> SlaSyncConfig:
    return load_config_text(CONFIG)


def fires(trigger: object, start: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times after ``start``, as the scheduler computes them."""
    out: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)  # type: ignore[attr-defined]
        assert fire is not None
        out.append(fire)
        previous, now = fire, fire.astimezone(UTC) + timedelta(microseconds=1)
    return out


def test_weekly_report_stays_at_8_local_across_new_york_dst(config: SlaSyncConfig) -> None:
    trigger = weekly_report_trigger(config.agreement_spec("ny"))
    ny = ZoneInfo("America/New_York")
    # Spring forward: Sunday 2026-03-08; fall back: Sunday 2026-11-01.
    spring = fires(trigger, datetime(2026, 2, 25, tzinfo=UTC), 3)
    fall = fires(trigger, datetime(2026, 10, 20, tzinfo=UTC), 3)
    for fire in spring + fall:
        local = fire.astimezone(ny)
        assert (local.weekday(), local.time()) == (0, time(8, 0))
    utc_hours = [f.astimezone(UTC).hour for f in spring + fall]
    # 8:00 EST is 13:00Z; 8:00 EDT (from 8 March to 1 November) is 12:00Z.
    assert utc_hours == [13, 12, 12, 12, 13, 13]
    assert [f.astimezone(UTC).date().isoformat() for f in spring] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
    ]


def test_close_stays_at_local_time_across_london_dst(config: SlaSyncConfig) -> None:
    trigger = close_trigger(config.agreement_spec("london"))
    london = ZoneInfo("Europe/London")
    found = fires(trigger, datetime(2026, 1, 1, tzinfo=UTC), 4)
    assert found == [
        datetime(2026, 1, 2, 8, 0, tzinfo=london),
        datetime(2026, 4, 2, 8, 0, tzinfo=london),  # BST (UK clocks went forward on 2026-03-29)
        datetime(2026, 7, 2, 8, 0, tzinfo=london),
        datetime(2026, 10, 2, 8, 0, tzinfo=london),  # still BST (back on 2026-10-25)
    ]
    assert [f.astimezone(UTC).hour for f in found] == [8, 7, 7, 7]
    after = fires(trigger, datetime(2026, 10, 3, tzinfo=UTC), 1)
    assert after[0].astimezone(UTC) == datetime(2027, 1, 2, 8, 0, tzinfo=UTC)


def test_monthly_close_across_new_york_fall_back(config: SlaSyncConfig) -> None:
    # 2026-11-01 is the fall-back Sunday itself: 06:00 EST is 11:00Z (10:00Z the month before).
    found = fires(close_trigger(config.agreement_spec("ny")), datetime(2026, 9, 15, tzinfo=UTC), 3)
    assert [f.astimezone(UTC) for f in found] == [
        datetime(2026, 10, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 11, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
    ]


def test_week_periods_close_weekly_on_the_report_day(config: SlaSyncConfig) -> None:
    trigger = close_trigger(config.agreement_spec("weekly"))
    found = fires(trigger, datetime(2026, 3, 1, tzinfo=UTC), 2)
    ny = ZoneInfo("America/New_York")
    assert found == [datetime(2026, 3, 2, 7, 0, tzinfo=ny), datetime(2026, 3, 9, 7, 0, tzinfo=ny)]
    assert [f.astimezone(UTC).hour for f in found] == [12, 11]  # EST, then EDT from 8 March


def test_a_repeated_local_time_fires_once_and_a_missing_one_fires_after_the_change(
    config: SlaSyncConfig,
) -> None:
    # Sunday 01:30 in London: 2026-10-25 has it twice (BST, then GMT), 2026-03-29 never.
    trigger = weekly_report_trigger(config.agreement_spec("london"))
    fall = fires(trigger, datetime(2026, 10, 20, tzinfo=UTC), 3)
    assert [f.astimezone(UTC) for f in fall] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # the first 01:30 (BST) only
        datetime(2026, 11, 1, 1, 30, tzinfo=UTC),
        datetime(2026, 11, 8, 1, 30, tzinfo=UTC),
    ]
    spring = fires(trigger, datetime(2026, 3, 25, tzinfo=UTC), 2)
    assert [f.astimezone(UTC) for f in spring] == [
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # 02:30 BST, one hour after 01:30 GMT
        datetime(2026, 4, 5, 0, 30, tzinfo=UTC),
    ]


def test_sync_runs_at_start_then_every_interval(config: SlaSyncConfig) -> None:
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    jobs = {j.id: j for j in plan_jobs(config, now=start, connections=["hs", "hs2"])}
    sync = jobs["sync:hs"]
    assert (sync.func, dict(sync.kwargs), sync.run_at) == (SYNC_JOB, {"connection": "hs"}, start)
    trigger = sync_trigger(config.worker.sync_every)
    following = trigger.get_next_fire_time(start, start + timedelta(seconds=1))
    assert following == start + timedelta(minutes=2)
    assert set(jobs) == {
        "sync:hs",
        "sync:hs2",
        "report:ny",
        "report:london",
        "report:weekly",
        "close:ny",
        "close:london",
        "close:weekly",
    }
    assert jobs["report:ny"].func == REPORT_JOB and jobs["close:ny"].func == CLOSE_JOB
    assert dict(jobs["close:london"].kwargs) == {"agreement": "london"}
    assert pool_size(["hs", "hs2"]) == 4


def test_close_is_caught_up_at_start_only_once_its_time_passed(config: SlaSyncConfig) -> None:
    ny = config.agreement_spec("ny")
    # 1 December 05:59 New York: November ended, its close (06:00) is not due yet.
    assert not close_due(ny, datetime(2026, 12, 1, 10, 59, tzinfo=UTC))
    assert close_due(ny, datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    # A worker down from 30 November to 3 December closes November when it starts.
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert close_due(ny, start)
    jobs = {j.id: j for j in plan_jobs(config, now=start, connections=["hs"])}
    assert jobs["close:ny"].catch_up and jobs["close:ny"].run_at is None
    assert not jobs["sync:hs"].catch_up and jobs["sync:hs"].run_at == start
    # The quarter agreement: mid-November its last close (2 October) is long done; still
    # "due" (idempotent: the close finds the quarter closed and does nothing).
    assert close_due(config.agreement_spec("london"), start)


def test_weekly_report_caught_up_only_when_its_file_is_missing(config: SlaSyncConfig) -> None:
    ny = config.agreement_spec("ny")
    tuesday = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    sunday = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    assert report_due(ny, tuesday, lambda agreement, now: False)
    assert not report_due(ny, tuesday, lambda agreement, now: True)
    # Monday 07:59 New York: this week's report is not due yet.
    assert not report_due(ny, datetime(2026, 11, 23, 12, 59, tzinfo=UTC), lambda a, n: False)
    assert report_due(ny, datetime(2026, 11, 23, 13, 0, tzinfo=UTC), lambda a, n: False)
    assert report_due(ny, sunday, lambda agreement, now: False)  # last Monday's was due
    jobs = {
        j.id: j
        for j in plan_jobs(config, now=tuesday, connections=[], report_exists=lambda a, n: True)
    }
    assert not jobs["report:ny"].catch_up
    jobs = {
        j.id: j
        for j in plan_jobs(config, now=tuesday, connections=[], report_exists=lambda a, n: False)
    }
    assert jobs["report:ny"].catch_up
