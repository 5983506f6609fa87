"""``sla-sync run``: the unattended worker, wired.

:func:`run_worker` checks the store, takes the worker lock, builds the context (engine,
notifier, health, metrics), serves ``/healthz``, ``/readyz`` and ``/metrics``, schedules the
jobs of :func:`~sla_sync.runtime.scheduler.plan_jobs` and blocks until SIGTERM/SIGINT, then
stops taking jobs, lets the running cycles reach their next checkpoint and returns 0.

Exit status: 0 stopped by a signal (also with ``once``), or with ``once`` every run succeeded;
1 the store is not ready, another worker holds the lock (SQLite, or PostgreSQL without
standby), the lock was lost, the health port cannot be bound, or the running jobs did not stop
within ``stop_timeout``; with ``once``, 3 when a run was partial and 1 when one failed (as
``sla-sync sync``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.cycle import STOPPED_ERROR
from sla_sync.pipeline.notify import Notifier
from sla_sync.pipeline.sync import StoreNotReadyError, check_store, connection_names, exit_code
from sla_sync.runtime import jobs
from sla_sync.runtime.context import RuntimeContext, set_context, utc_now
from sla_sync.runtime.ledger import close_abandoned_runs
from sla_sync.runtime.lock import AdvisoryLock, WorkerLock, WorkerLockError, lock_for
from sla_sync.runtime.logging import get_logger
from sla_sync.runtime.runner import APSchedulerRunner, JobRunner
from sla_sync.runtime.scheduler import describe, plan_jobs, pool_size, report_written
from sla_sync.runtime.signals import install_stop_handlers
from sla_sync.settings import Settings, read_secret
from sla_sync.store.engine import create_engine
from sla_sync.store.records import RunOutcome

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How to run. ``once``: run every sync (and each report or close that is due) once, then
    exit: for a Kubernetes CronJob or a systemd timer instead of the resident worker.
    ``standby``: on PostgreSQL, wait while another worker holds the lock (else exit 1).
    ``stop_timeout``: seconds the running jobs get to reach a checkpoint after a signal.
    ``lock_check_every``: seconds between checks that the lock is still held."""

    once: bool = False
    standby: bool = True
    stop_timeout: float = 60.0
    lock_check_every: float = 10.0


def run_worker(
    config: SlaSyncConfig,
    settings: Settings,
    *,
    config_path: Path | None = None,
    options: WorkerOptions | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utc_now,
    stopping: threading.Event | None = None,
    signals: bool = True,
) -> int:
    """Run the worker until it is stopped; returns the exit status (module docstring).

    ``stopping``: the stop event (default: a new one, set by SIGTERM/SIGINT when ``signals``).
    """
    options = options or WorkerOptions()
    stopping = stopping or threading.Event()
    url = settings.effective_database_url()
    try:
        check_store(url)
    except StoreNotReadyError as exc:
        log.error("store not ready", error=str(exc))
        return 1
    restore = install_stop_handlers(stopping) if signals else None
    lock = lock_for(url)
    try:
        if lock is not None:
            try:
                wait = options.standby and isinstance(lock, AdvisoryLock)
                if not lock.acquire(wait=wait, stop=stopping):
                    log.info("stopped while waiting for the lock")
                    return 0
            except WorkerLockError as exc:
                log.error("worker lock held elsewhere", error=str(exc))
                return 1
            log.info("worker lock taken", lock=lock.where)
        return _run_locked(
            config, settings, url, lock, options, environ, clock, stopping, config_path
        )
    finally:
        if lock is not None:
            lock.release()
        if restore is not None:
            restore()


def _run_locked(
    config: SlaSyncConfig,
    settings: Settings,
    url: str,
    lock: WorkerLock | None,
    options: WorkerOptions,
    environ: Mapping[str, str] | None,
    clock: Callable[[], datetime],
    stopping: threading.Event,
    config_path: Path | None,
) -> int:
    engine = create_engine(url)
    if lock is not None:  # holding it, no other process runs a cycle here: "running" rows are dead
        closed = close_abandoned_runs(engine, now=clock())
        if closed:
            log.warning("closed runs a dead process left running", runs=closed)
    ctx = RuntimeContext(
        config=config,
        settings=settings,
        engine=engine,
        config_path=config_path,
        clock=clock,
        stopping=stopping,
        environ=environ,
        notifier=Notifier.from_config(config, read_secret, environ),
    )
    _observability(ctx)
    set_context(ctx)
    try:
        names = connection_names(config, None)
        if options.once:
            return _once(ctx, names, settings)
        return _resident(ctx, names, settings, lock, options)
    finally:
        set_context(None)
        engine.dispose()


def _observability(ctx: RuntimeContext) -> None:
    """Health and metrics (engineer O's modules; the worker runs without them if absent)."""
    try:
        from sla_sync.runtime.health import HealthState, store_check
        from sla_sync.runtime.metrics import Metrics
    except ImportError:  # pragma: no cover - present in every build
        return
    ctx.health = HealthState.from_config(ctx.config, clock=ctx.now, store=store_check(ctx.engine))
    ctx.metrics = Metrics(clock=ctx.now)
    try:
        ctx.metrics.restore(ctx.engine)
    except Exception:
        log.exception("could not restore metrics from the run ledger")


def _once(ctx: RuntimeContext, names: list[str], settings: Settings) -> int:
    outcomes = []
    for name in names:
        outcome = jobs.sync_job(name)
        if outcome != jobs.SKIPPED:
            outcomes.append(RunOutcome(outcome))
    now = ctx.now()
    for job in plan_jobs(
        ctx.config,
        now=now,
        connections=[],
        report_exists=report_written(settings.data_dir, ctx.config),
    ):
        if job.catch_up and not ctx.should_stop():
            agreement = str(job.kwargs["agreement"])
            if job.id.startswith("close:"):
                jobs.period_close_job(agreement)
            elif job.id.startswith("report:"):
                jobs.weekly_report_job(agreement)
    if ctx.should_stop():  # stopped by a signal: what is left is queued for the next run
        log.info("stopped by a signal", outcomes=[o.value for o in outcomes])
        return 0
    return exit_code(outcomes)


def _resident(
    ctx: RuntimeContext,
    names: list[str],
    settings: Settings,
    lock: WorkerLock | None,
    options: WorkerOptions,
) -> int:
    server = _serve(ctx)
    if server is False:
        return 1
    runner: JobRunner = APSchedulerRunner(max_workers=pool_size(names))
    planned = plan_jobs(
        ctx.config,
        now=ctx.now(),
        connections=names,
        report_exists=report_written(settings.data_dir, ctx.config),
    )
    for job in planned:
        runner.add(job)
    runner.start()
    if ctx.health is not None:
        ctx.health.scheduler_started()
    log.info("worker started", jobs=describe(planned), pid=os.getpid())
    late = [job.id for job in planned if job.catch_up]
    if late:
        threading.Thread(
            target=_catch_up, args=(ctx, runner, names, late), name="sla-sync-catch-up", daemon=True
        ).start()
    status = 0
    try:
        while not ctx.stopping.wait(options.lock_check_every):
            if lock is not None and not lock.check():
                log.error(
                    "worker lock lost: stopping now (another worker may lead)", lock=lock.where
                )
                ctx.stopping.set()
                status = 1
    finally:
        status = max(status, _stop(ctx, runner, options.stop_timeout))
        if server is not None:
            server.close()
    log.info("worker stopped", status=status)
    return status


def _catch_up(ctx: RuntimeContext, runner: JobRunner, names: list[str], late: list[str]) -> None:
    """Run the missed closes and reports once every connection finished its first cycle."""
    if not ctx.wait_for_cycles(names):
        return
    for job_id in late:
        log.info("catching up a missed run", job_id=job_id)
        try:
            runner.run_soon(job_id)
        except Exception:  # the scheduler stopped meanwhile
            log.exception("could not catch up", job_id=job_id)


def _serve(ctx: RuntimeContext) -> Any:
    """The health/metrics server, ``None`` when off (port 0 or no module), ``False`` when the
    port cannot be bound."""
    worker = ctx.config.worker
    if worker.health_port == 0 or ctx.health is None or ctx.metrics is None:
        return None
    try:
        from sla_sync.runtime.http import serve
    except ImportError:  # pragma: no cover
        return None
    try:
        return serve(worker.health_host, worker.health_port, ctx.health, ctx.metrics)
    except OSError as exc:
        log.error(
            "cannot serve health and metrics",
            host=worker.health_host,
            port=worker.health_port,
            error=str(exc),
        )
        return False


def _stop(ctx: RuntimeContext, runner: JobRunner, timeout: float) -> int:
    """Pause, then wait up to ``timeout`` s for the running jobs; when they do not return in
    time, exit the process at once with status 1 (nothing is lost: every step is resumable)."""
    runner.pause()
    if ctx.health is not None:
        ctx.health.scheduler_stopped()
    done = threading.Event()

    def shutdown() -> None:
        runner.shutdown(wait=True)
        done.set()

    threading.Thread(target=shutdown, name="sla-sync-shutdown", daemon=True).start()
    if done.wait(timeout):
        return 0
    log.error(
        "running jobs did not reach a checkpoint in time; exiting anyway (the next start "
        "resumes from the stored cursors and queues)",
        timeout_seconds=timeout,
        note=f"their runs stay 'running' in the ledger, not '{STOPPED_ERROR}'",
    )
    # The pool's threads are not daemons: a normal exit would wait for them. The kernel drops
    # the lock file's flock and PostgreSQL the advisory lock with the process.
    logging.shutdown()
    os._exit(1)


__all__ = ["WorkerOptions", "run_worker"]
