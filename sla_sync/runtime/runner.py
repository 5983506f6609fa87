"""The one interface the worker schedules through (:class:`JobRunner`) and its APScheduler 3.11
implementation (:class:`APSchedulerRunner`).

Jobs are module-level functions named by a textual reference (``"sla_sync.runtime.jobs:
sync_job"``) with primitive keyword arguments, so another engine (procrastinate workers on
PostgreSQL, for many CRM accounts) can run the same functions by implementing this protocol in
one module.

Configuration and why:

* ``BackgroundScheduler(timezone=UTC)``: the main thread stays free for signals and waits for
  the stop event; per-agreement time zones live on the cron triggers (see
  :mod:`sla_sync.runtime.scheduler`), never on the scheduler.
* a thread pool (the CRM SDKs are synchronous and the work is I/O-bound), one thread per
  connection plus two for reports and closes: a slow report never delays a sync.
* ``coalesce=True``: a backlog of missed fire times collapses into one run; ``max_instances=1``:
  a job never overlaps itself (a cycle still running when its next tick comes is skipped, with a
  warning); ``misfire_grace_time=None``: a late run is never dropped for being late (the
  default of 1 s silently skips runs when the pool is busy).
* the default in-memory job store: jobs are rebuilt from the configuration at every start, and
  nothing is persisted, so there is no pickled state to go stale. Missed runs after downtime are
  caught up by the longer window (a sync reads from its stored cursors), not by replaying fires;
  the scheduler adds a single catch-up run where a fire was due (see
  :func:`~sla_sync.runtime.scheduler.plan_jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One scheduled job.

    ``func``: ``"module:function"``; ``kwargs``: primitive arguments; ``trigger``: an
    APScheduler trigger; ``run_at``: the first run (``None``: the trigger's next fire time),
    e.g. the start instant for a sync. ``catch_up``: a fire was missed while the worker was
    down; the worker runs the job once more as soon as every connection finished its first
    cycle (:meth:`JobRunner.run_soon`), so it works on fresh data.
    """

    id: str
    func: str
    kwargs: Mapping[str, str | int]
    trigger: BaseTrigger
    description: str
    run_at: datetime | None = None
    catch_up: bool = False


class JobRunner(Protocol):
    """What the worker needs of a job engine."""

    def add(self, job: JobSpec) -> None:
        """Schedule ``job`` (replacing a job with the same id)."""

    def remove(self, job_id: str) -> None:
        """Unschedule ``job_id`` (a running instance finishes)."""

    def job_ids(self) -> list[str]:
        """The ids of the scheduled jobs."""

    def next_run(self, job_id: str) -> datetime | None:
        """When ``job_id`` runs next (aware UTC; ``None``: paused or unknown)."""

    def run_soon(self, job_id: str) -> None:
        """Run ``job_id`` as soon as a thread is free (then on its trigger again)."""

    def start(self) -> None:
        """Start running jobs (returns at once: jobs run on the runner's threads)."""

    def pause(self) -> None:
        """Take no new job from now on; running ones go on."""

    def shutdown(self, wait: bool = True) -> None:
        """Stop; with ``wait``, return only after the running jobs returned."""

    @property
    def running(self) -> bool:
        """Started and not shut down."""


class APSchedulerRunner:
    """:class:`JobRunner` on APScheduler 3.11's ``BackgroundScheduler`` (see the module)."""

    def __init__(self, *, max_workers: int) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._scheduler.add_listener(
            self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )
        self.max_workers = max_workers

    def add(self, job: JobSpec) -> None:
        options: dict[str, Any] = {}
        if job.run_at is not None:
            options["next_run_time"] = job.run_at
        self._scheduler.add_job(
            job.func,
            trigger=job.trigger,
            kwargs=dict(job.kwargs),
            id=job.id,
            name=job.description,
            replace_existing=True,
            **options,
        )

    def remove(self, job_id: str) -> None:
        self._scheduler.remove_job(job_id)

    def job_ids(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()]

    def next_run(self, job_id: str) -> datetime | None:
        job = self._scheduler.get_job(job_id)
        when = getattr(job, "next_run_time", None) if job is not None else None
        return when.astimezone(UTC) if isinstance(when, datetime) else None

    def run_soon(self, job_id: str) -> None:
        self._scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    def start(self) -> None:
        self._scheduler.start()

    def pause(self) -> None:
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning(
                "job %s still running at its next fire time: this run is skipped", event.job_id
            )
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its fire time", event.job_id)
        elif event.code == EVENT_JOB_ERROR:
            # The jobs catch their own errors; this is a bug in a job function itself.
            log.error(
                "job %s raised %s",
                event.job_id,
                type(getattr(event, "exception", None)).__name__,
                exc_info=getattr(event, "exception", None),
            )


__all__ = ["APSchedulerRunner", "JobRunner", "JobSpec"]
