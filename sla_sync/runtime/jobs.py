"""The worker's job functions: module-level, primitive arguments, the rest from the context.

Each job catches its own errors and logs them (a job that raises would only reach APScheduler's
log); each binds ``job`` and its subject (``connection`` / ``agreement``, and the ``run_id`` of a
sync) to every log line it causes, stdlib ones included.

* :func:`sync_job`: one cycle of a connection (``run_cycle`` with the worker's stop flag), the
  outcome reported to health and metrics, then the failure-streak notification.
* :func:`weekly_report_job` / :func:`period_close_job`: the pipeline's report and close.

A job started after SIGTERM does nothing (``skipped``).

On SQLite the jobs run one at a time (:func:`store_turn`): SQLite has a single writer, and a
transaction that reads before it writes cannot wait for another writer (its ``BEGIN`` is
deferred: SQLite answers "database is locked" at once rather than deadlock), so two jobs
writing side by side would fail each other. On PostgreSQL they run in parallel.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from structlog.contextvars import bound_contextvars

from sla_sync.domain import ScopeKind
from sla_sync.pipeline.connect import UnsupportedConnectionError, connector_for
from sla_sync.pipeline.cycle import RUN_KIND, STOPPED_ERROR, CycleReport, run_cycle
from sla_sync.runtime.context import RuntimeContext, get_context
from sla_sync.runtime.logging import get_logger
from sla_sync.settings import MissingSecretError
from sla_sync.store import repositories as repo
from sla_sync.store.engine import is_sqlite, session_factory
from sla_sync.store.records import AlertKind, RunOutcome, RunRecord

log = get_logger(__name__)

SKIPPED = "skipped"
#: How many of a connection's latest runs the failure streak looks at.
STREAK_WINDOW = 100

_SQLITE_TURN = threading.Lock()


@contextlib.contextmanager
def store_turn(ctx: RuntimeContext) -> Iterator[bool]:
    """Hold the store's turn for one job: on SQLite one job at a time (see the module), on
    PostgreSQL no wait. Yields whether the job should go on (``False``: the worker started
    stopping while it waited)."""
    if not is_sqlite(ctx.engine):
        yield not ctx.should_stop()
        return
    with _SQLITE_TURN:
        yield not ctx.should_stop()


# --------------------------------------------------------------------------- sync


def sync_job(connection: str) -> str:
    """One sync cycle of ``connection``; returns its outcome (``success``, ``partial``,
    ``failed``, or ``skipped`` when the worker is stopping)."""
    ctx = get_context()
    if ctx.should_stop():
        log.info("sync skipped: the worker is stopping", connection=connection)
        return SKIPPED
    run_id = str(uuid.uuid4())
    with (
        bound_contextvars(job="sync", connection=connection, run_id=run_id),
        store_turn(ctx) as go,
    ):
        if not go:
            log.info("sync skipped: the worker is stopping")
            return SKIPPED
        log.info("sync started")
        try:
            report = _cycle(ctx, connection, run_id)
        finally:
            ctx.cycle_finished(connection)
        _observe(ctx, connection, report)
        _log_report(report)
        try:
            notify_failure_streak(ctx, connection)
        except Exception:
            log.exception("failure-streak check failed")
    return report.outcome.value


def _cycle(ctx: RuntimeContext, connection: str, run_id: str) -> CycleReport:
    started = ctx.now()
    if ctx.health is not None:
        ctx.health.cycle_started(connection, started)
    try:
        connector = connector_for(
            ctx.engine,
            ctx.config,
            connection,
            now=started,
            environ=ctx.environ,
            rate_limits=ctx.rate_limits,
        )
    except (MissingSecretError, UnsupportedConnectionError) as exc:
        return _unopened(ctx, connection, run_id, started, str(exc))
    except Exception as exc:
        log.exception("could not open the connector")
        return _unopened(ctx, connection, run_id, started, f"{type(exc).__name__}: {exc}")
    try:
        return run_cycle(
            ctx.engine,
            ctx.config,
            connection,
            connector,
            now=ctx.now,
            notifier=ctx.notifier,
            should_stop=ctx.should_stop,
            run_id=run_id,
        )
    except Exception as exc:  # a bug: run_cycle recorded it in the ledger before raising
        log.exception("sync cycle raised")
        return CycleReport(
            run_id=run_id,
            connection=connection,
            started_at=started,
            outcome=RunOutcome.FAILED,
            ended_at=ctx.now(),
            error=f"{type(exc).__name__}: {exc}",
        )
    finally:
        connector.close()


def _unopened(
    ctx: RuntimeContext, connection: str, run_id: str, started: datetime, error: str
) -> CycleReport:
    """A cycle that could not start (a missing secret): recorded in the ledger as ``failed``
    so ``sla-sync runs``, health and the failure streak see it."""
    report = CycleReport(
        run_id=run_id,
        connection=connection,
        started_at=started,
        outcome=RunOutcome.FAILED,
        ended_at=started,
        error=error,
    )
    try:
        spec = ctx.config.connection(connection)
        with session_factory(ctx.engine)() as session, session.begin():
            connection_id = repo.ensure_connection(session, connection, spec.crm.value)
            repo.start_run(
                session,
                kind=RUN_KIND,
                started_at=started,
                connection_id=connection_id,
                run_id=run_id,
            )
            repo.finish_run(
                session, run_id, outcome=RunOutcome.FAILED, ended_at=started, error=error
            )
    except Exception:
        log.exception("could not record the failed run")
    return report


def _observe(ctx: RuntimeContext, connection: str, report: CycleReport) -> None:
    if ctx.health is not None:
        try:
            ctx.health.cycle_finished(connection, report)
        except Exception:
            log.exception("health update failed")
    if ctx.metrics is not None:
        try:
            ctx.metrics.observe_cycle(report)
            ctx.metrics.observe_attainment(ctx.engine, ctx.config, ctx.now())
        except Exception:
            log.exception("metrics update failed")


def _log_report(report: CycleReport) -> None:
    counts = report.counts()
    fields: dict[str, Any] = {
        "outcome": report.outcome.value,
        "seconds": round((report.ended_at - report.started_at).total_seconds(), 3)
        if report.ended_at is not None
        else None,
        "records_pulled": sum(counts["records"].values()),
        "leads_evaluated": counts["leads_evaluated"],
        "records_written": counts["records_written"],
        "quarantined": counts["quarantined"],
        "api_calls": sum(report.api_calls.values()),
        "rate_limited": report.rate_limited,
    }
    if report.error:
        fields["error"] = report.error
    if report.outcome is RunOutcome.SUCCESS:
        log.info("sync finished", **fields)
    elif report.error == STOPPED_ERROR:
        log.info("sync stopped at a checkpoint", **fields)
    else:
        log.warning("sync finished", **fields)


# --------------------------------------------------------------------------- failure streak


def failure_streak(runs: Sequence[RunRecord]) -> tuple[list[RunRecord], RunRecord | None]:
    """From a connection's runs (newest first): the current streak of ``failed``/``partial``
    runs (oldest first) and the latest ``success`` before it (``None``: not in ``runs``).

    Runs still ``running`` (or left so by a killed worker) and runs stopped by a signal are
    neither failures nor successes: a deploy's restart does not start or break a streak.
    """
    streak: list[RunRecord] = []
    for run in runs:
        if run.outcome is RunOutcome.RUNNING or run.error == STOPPED_ERROR:
            continue
        if run.outcome is RunOutcome.SUCCESS:
            return streak[::-1], run
        streak.append(run)
    return streak[::-1], None


def streak_subject(connection: str) -> str:
    """The ``agreement`` column of a connection's failure-streak alerts (not an agreement id:
    ids cannot hold ``:``)."""
    return f"connection:{connection}"


def notify_failure_streak(ctx: RuntimeContext, connection: str) -> bool:
    """Tell ``worker.notify_failures`` when ``connection``'s last two runs (or more) failed or
    went partial, once per streak; returns whether a message went out now.

    A streak is notified when no failure-streak alert of the connection was recorded since
    the success before it; the alert is recorded (keyed by the streak's first run) only after
    the message was accepted, so a notification that could not be delivered is tried again
    after the next run of the streak.
    """
    now = ctx.now()
    sessions = session_factory(ctx.engine)
    with sessions() as session:
        ids = repo.connection_ids(session)
        if connection not in ids:
            return False
        runs = repo.recent_runs(
            session, limit=STREAK_WINDOW, connection_id=ids[connection], kind=RUN_KIND
        )
        streak, last_success = failure_streak(runs)
        if len(streak) < 2:
            return False
        alerts = repo.list_alerts(session, agreement=streak_subject(connection))
    notified = [a for a in alerts if a.kind is AlertKind.RUN_FAILURES]
    if notified and (last_success is None or notified[-1].raised_at >= last_success.started_at):
        return False
    recipients = ctx.config.worker.notify_failures
    log.warning(
        "runs failing in a row",
        connection=connection,
        runs=len(streak),
        recipients=list(recipients),
    )
    if not recipients or ctx.notifier is None:
        return False
    title = f"sla-sync: {connection} failed {len(streak)} runs in a row"
    if not ctx.notifier.send(list(recipients), title, _streak_body(connection, streak, ctx)):
        return False
    with sessions() as session, session.begin():
        repo.record_period_alert(
            session,
            agreement=streak_subject(connection),
            period="runs",
            scope=ScopeKind.AGREEMENT,
            scope_id=connection,
            name=streak[0].id,
            raised_at=now,
            kind=AlertKind.RUN_FAILURES,
            detail={"runs": [r.id for r in streak], "last_error": streak[-1].error},
        )
    return True


def _streak_body(connection: str, streak: Sequence[RunRecord], ctx: RuntimeContext) -> str:
    lines = [
        f"The last {len(streak)} sync runs of connection **{connection}** did not succeed:",
        "",
    ]
    for run in streak[-5:]:
        when = run.started_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"- {when}: {run.outcome.value}: {run.error or 'no error recorded'}")
    every = ctx.config.worker.sync_every
    lines += [
        "",
        (
            f"The worker keeps trying every {every}; what was pulled and queued is kept. "
            f"See `sla-sync runs --connection {connection}`."
        ),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- reports and close


def weekly_report_job(agreement: str) -> None:
    """Render, save and send the weekly report of ``agreement`` for the week that ended last
    (``pipeline.reports.send_weekly_report``)."""
    ctx = get_context()
    if ctx.should_stop():
        return
    with bound_contextvars(job="report", agreement=agreement), store_turn(ctx) as go:
        if not go:
            return
        try:
            from sla_sync.pipeline.reports import send_weekly_report
        except ImportError:  # the report module is optional while it is being built
            log.warning("weekly reports are not available in this build")
            return
        try:
            sent = send_weekly_report(
                ctx.engine,
                ctx.config,
                agreement,
                now=ctx.now(),
                data_dir=ctx.data_dir,
                notifier=ctx.notifier,
            )
        except Exception:
            log.exception("weekly report failed")
            return
        files = getattr(sent, "files", None)
        log.info(
            "weekly report saved",
            file=str(getattr(files, "markdown", "")),
            sent=bool(getattr(sent, "sent", False)),
        )


def period_close_job(agreement: str) -> None:
    """Close the period of ``agreement`` that ended last, publish the next goal and notify the
    consequences (``pipeline.close.close_period_and_notify``; idempotent)."""
    ctx = get_context()
    if ctx.should_stop():
        return
    with bound_contextvars(job="close", agreement=agreement), store_turn(ctx) as go:
        if not go:
            return
        try:
            from sla_sync.pipeline.close import close_period_and_notify
        except ImportError:
            log.warning("the period close is not available in this build")
            return
        try:
            outcome = close_period_and_notify(
                ctx.engine, ctx.config, agreement, now=ctx.now(), notifier=ctx.notifier
            )
        except Exception:
            log.exception("period close failed")
            return
        log.info(
            "period closed",
            period=getattr(outcome, "period", None),
            already_closed=getattr(outcome, "already_closed", None),
            consequences=len(getattr(outcome, "consequences", ()) or ()),
        )


__all__ = [
    "SKIPPED",
    "failure_streak",
    "notify_failure_streak",
    "period_close_job",
    "sync_job",
    "weekly_report_job",
]
