"""Which jobs the worker runs and when: the plan built from the configuration.

* ``sync:<connection>``: :func:`~sla_sync.runtime.jobs.sync_job` every ``worker.sync_every``
  (an :class:`IntervalTrigger`), the first run at start. After downtime nothing is replayed: the
  first cycle reads everything since the stored cursors (the longer window).
* ``report:<agreement>``: :func:`~sla_sync.runtime.jobs.weekly_report_job` every week on
  ``reporting.weekly_report.day`` at ``.at``, local time of ``reporting.timezone``.
* ``close:<agreement>``: :func:`~sla_sync.runtime.jobs.period_close_job` on day
  ``reporting.close.day`` at ``.at`` (local) of each month after a period (months 1, 4, 7, 10
  for quarters); week periods close weekly on the weekly report's day at ``close.at``.

Cron triggers carry the agreement's :class:`~zoneinfo.ZoneInfo`, so 08:00 stays 08:00 local
across DST changes (the UTC instant moves). A local time that happens twice (the hour the
clocks go back) fires once (:class:`LocalCronTrigger`); one that does not exist (the hour they
go forward) fires at the same offset after the change (02:30 -> 03:30).

Catch-up, one run, never a replay: when the worker starts after a fire time it missed, the job
runs once more (``JobSpec.catch_up``) if its work for the last period was due and is not done:
a close whose period ended and whose close time passed (closing is idempotent: an
already-closed period costs one query), a weekly report whose file for the last week is missing
under the data dir. The worker runs these only after every connection finished its first cycle,
so a period is never closed (nor reported) on the data the store had before the downtime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sla_sync.definitions import SlaSyncConfig
from sla_sync.definitions.models import AgreementSpec
from sla_sync.definitions.operations import clock_time
from sla_sync.runtime.runner import JobSpec
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import PeriodKind

SYNC_JOB = "sla_sync.runtime.jobs:sync_job"
REPORT_JOB = "sla_sync.runtime.jobs:weekly_report_job"
CLOSE_JOB = "sla_sync.runtime.jobs:period_close_job"

#: Threads beyond one per connection: reports and closes never wait for a sync.
EXTRA_THREADS = 2


class LocalCronTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler ships no types
    """A cron trigger in a local time zone that fires once per local time: when the clocks go
    back, the repeated wall-clock time fires on its first occurrence only (a weekly report at
    01:30 on that Sunday is sent once, not twice)."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        if fire is None or previous_fire_time is None:
            return fire
        local_previous = previous_fire_time.astimezone(self.timezone).replace(tzinfo=None)
        if fire.astimezone(self.timezone).replace(tzinfo=None) == local_previous:
            # Arithmetic in UTC: local wall-clock arithmetic would drop the fold and land
            # before ``fire`` again.
            after = fire.astimezone(UTC) + timedelta(seconds=1)
            later: datetime | None = super().get_next_fire_time(fire, after)
            return later
        return fire


def sync_trigger(every: timedelta) -> IntervalTrigger:
    """Every ``every`` (UTC; an interval has no local time)."""
    return IntervalTrigger(seconds=max(1, int(every.total_seconds())), timezone=UTC)


def weekly_report_trigger(agreement: AgreementSpec) -> LocalCronTrigger:
    """The weekly report's day and local time in the agreement's reporting zone."""
    spec = agreement.reporting.weekly_report
    at = clock_time(spec.at)
    return LocalCronTrigger(
        day_of_week=spec.day,
        hour=at.hour,
        minute=at.minute,
        timezone=ZoneInfo(agreement.reporting.timezone),
    )


def close_trigger(agreement: AgreementSpec) -> LocalCronTrigger:
    """The period close's local schedule (see the module docstring)."""
    reporting = agreement.reporting
    at = clock_time(reporting.close.at)
    tz = ZoneInfo(reporting.timezone)
    if reporting.period is PeriodKind.WEEK:
        day = reporting.weekly_report.day
        return LocalCronTrigger(day_of_week=day, hour=at.hour, minute=at.minute, timezone=tz)
    months = "1,4,7,10" if reporting.period is PeriodKind.QUARTER else "*"
    return LocalCronTrigger(
        month=months, day=reporting.close.day, hour=at.hour, minute=at.minute, timezone=tz
    )


def last_fire(trigger: CronTrigger, now: datetime, *, horizon: timedelta) -> datetime | None:
    """The trigger's latest fire time at or before ``now`` within ``horizon`` (``None``: none)."""
    latest = None
    previous = None
    cursor = now - horizon
    while True:
        fire: datetime | None = trigger.get_next_fire_time(previous, cursor)
        if fire is None or fire > now:
            return latest
        latest = previous = fire
        cursor = fire.astimezone(UTC) + timedelta(seconds=1)


def close_due(agreement: AgreementSpec, now: datetime) -> bool:
    """Whether the close of the period that ended last was due before ``now`` (its scheduled
    close time passed): the worker then closes at start (idempotent if it was done)."""
    period = Period.containing(now, agreement.reporting.period, agreement.reporting.timezone)
    ended = period.previous()
    fired = last_fire(close_trigger(agreement), now, horizon=timedelta(days=120))
    return fired is not None and fired >= ended.utc_end


def report_due(
    agreement: AgreementSpec, now: datetime, exists: Callable[[str, datetime], bool]
) -> bool:
    """Whether this week's report time passed and ``exists(agreement, now)`` says the report
    of the week that ended last was not written."""
    week = Period.containing(now, PeriodKind.WEEK, agreement.reporting.timezone)
    fired = last_fire(weekly_report_trigger(agreement), now, horizon=timedelta(days=8))
    return fired is not None and fired >= week.utc_start and not exists(agreement.id, now)


def report_written(data_dir: Path, config: SlaSyncConfig) -> Callable[[str, datetime], bool]:
    """``exists(agreement, now)``: whether the report of the week before ``now`` is under
    ``data_dir`` (True when the report module is not available: nothing to catch up with)."""

    def exists(agreement: str, now: datetime) -> bool:
        try:
            from sla_sync.pipeline.reports import previous_week, report_dir
        except ImportError:
            return True
        label = previous_week(config.agreement_policy(agreement), now)
        return (report_dir(data_dir, agreement) / f"{label}.md").exists()

    return exists


def plan_jobs(
    config: SlaSyncConfig,
    *,
    now: datetime,
    connections: list[str],
    report_exists: Callable[[str, datetime], bool] | None = None,
) -> list[JobSpec]:
    """Every job of the worker for ``config`` as of ``now`` (the start instant).

    ``connections``: the connections to sync (those an agreement reads). ``report_exists``:
    see :func:`report_due` (``None``: weekly reports are not caught up).
    """
    jobs = [
        JobSpec(
            id=f"sync:{name}",
            func=SYNC_JOB,
            kwargs={"connection": name},
            trigger=sync_trigger(config.worker.sync_every),
            description=f"sync {name} every {config.worker.sync_every}",
            run_at=now,
        )
        for name in connections
    ]
    for agreement in config.agreements:
        report_late = report_exists is not None and report_due(agreement, now, report_exists)
        weekly = agreement.reporting.weekly_report
        jobs.append(
            JobSpec(
                id=f"report:{agreement.id}",
                func=REPORT_JOB,
                kwargs={"agreement": agreement.id},
                trigger=weekly_report_trigger(agreement),
                description=(
                    f"weekly report of {agreement.id} ({weekly.day} {weekly.at} "
                    f"{agreement.reporting.timezone})"
                ),
                catch_up=report_late,
            )
        )
        jobs.append(
            JobSpec(
                id=f"close:{agreement.id}",
                func=CLOSE_JOB,
                kwargs={"agreement": agreement.id},
                trigger=close_trigger(agreement),
                description=f"period close of {agreement.id}",
                catch_up=close_due(agreement, now),
            )
        )
    return jobs


def pool_size(connections: list[str]) -> int:
    """Threads of the runner: one per connection plus :data:`EXTRA_THREADS`."""
    return len(connections) + EXTRA_THREADS


def describe(jobs: list[JobSpec]) -> list[dict[str, Any]]:
    """The plan as log fields."""
    return [{"id": j.id, "what": j.description, "catch_up": j.catch_up} for j in jobs]


__all__ = [
    "CLOSE_JOB",
    "REPORT_JOB",
    "SYNC_JOB",
    "LocalCronTrigger",
    "close_due",
    "close_trigger",
    "plan_jobs",
    "pool_size",
    "report_due",
    "report_written",
    "sync_trigger",
    "weekly_report_trigger",
]
