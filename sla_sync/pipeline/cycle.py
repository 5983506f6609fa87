"""One sync cycle for one CRM connection: pull, evaluate, push, recorded in the run ledger.

:func:`run_cycle` is the job function (the CLI's ``sync`` and, later, the scheduler call it).
The run is opened in the ledger and committed on its own (ops sees it while it works), and
closed with its outcome:

* ``success``: every step finished;
* ``partial``: the daily API budget ran out (:class:`~sla_sync.connectors.base.
  QuotaExhaustedError`), or a write call failed past its retries (the CRM down or throttling:
  the push step stops and leaves the rest queued). Pages stored so far and their cursors stay;
  when the pull ran out, the evaluate step still runs on what was stored (it needs no API call)
  and the push waits for the next run (its queue keeps every lead);
* ``failed``: a connector error (bad credentials, retries exhausted), SLA fields missing in the
  CRM (``sla-sync crm init`` not run), or a bug; state is kept
  (cursors, queues), the error text is recorded, and a bug is re-raised after recording.

Stopping (the worker's SIGTERM, ``should_stop``): the step under way stops at its next
checkpoint (after the pulled page or the write call in flight is stored), the steps after it
are left to the next run, and the run ends ``partial`` with the error :data:`STOPPED_ERROR`.
Nothing is lost: cursors only move with stored pages and the evaluation and push queues keep
what was not done.

The evaluation instant is the run's start (``as_of``): the pull reads up to that instant, so
the engine never judges a deadline it has not seen the inputs for (a touch logged after the
run started is pulled next time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from sla_sync.connectors.base import (
    ApiUsage,
    ConnectorError,
    CrmConnector,
    FieldUpdate,
    QuotaExhaustedError,
)
from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.alerts import AlertOutcome, raise_alerts
from sla_sync.pipeline.evaluate import EvaluateOutcome, evaluate_pending
from sla_sync.pipeline.notify import Notifier
from sla_sync.pipeline.progress import ProgressCallback
from sla_sync.pipeline.pull import PullOutcome, pull_streams
from sla_sync.pipeline.push import CrmSchemaMissingError, PushOutcome, push_pending
from sla_sync.settings import read_secret
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import RunOutcome

RUN_KIND = "sync"
DRY_RUN_KIND = "sync-dry-run"
#: The error of a run that ended early because the worker was asked to stop (SIGTERM).
STOPPED_ERROR = "stopped by signal"


@dataclass(slots=True)
class CycleReport:
    """What one cycle did.

    ``records`` / ``pages``: per pull stream. ``changes``: the field updates computed by the
    push step (sent; in a dry run, what would have been sent). ``api_calls``: the connector's
    calls per endpoint class; ``rate_limited``: the answers among them that were 429s.
    ``error``: why the run is partial or failed.
    """

    run_id: str
    connection: str
    started_at: datetime
    outcome: RunOutcome = RunOutcome.RUNNING
    ended_at: datetime | None = None
    dry_run: bool = False
    full: bool = False
    pull: PullOutcome = field(default_factory=PullOutcome)
    evaluate: EvaluateOutcome = field(default_factory=EvaluateOutcome)
    push: PushOutcome = field(default_factory=PushOutcome)
    alerts: AlertOutcome = field(default_factory=AlertOutcome)
    api_calls: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    error: str | None = None

    @property
    def changes(self) -> list[FieldUpdate]:
        """The field updates of the push step."""
        return self.push.changes

    def counts(self) -> dict[str, Any]:
        """The run ledger's ``counts``."""
        return {
            "records": dict(self.pull.records),
            "pages": dict(self.pull.pages),
            "leads_changed": self.pull.changed_leads,
            "quarantined": self.pull.quarantined + self.push.quarantined,
            "leads_evaluated": self.evaluate.leads,
            "cycles": self.evaluate.cycles,
            "push_considered": self.push.considered,
            "records_written": self.push.confirmed,
            "records_failed": self.push.failed,
            "changes": len(self.push.changes),
            "alerts": self.alerts.counts(),
        }


def run_cycle(
    engine: Engine,
    config: SlaSyncConfig,
    connection_name: str,
    connector: CrmConnector,
    *,
    now: Callable[[], datetime],
    full: bool = False,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    notifier: Notifier | None = None,
    should_stop: Callable[[], bool] | None = None,
    run_id: str | None = None,
) -> CycleReport:
    """Run one cycle of ``connection_name`` through ``connector`` and return its report.

    Args:
        engine: the store (migrated to head).
        config: the definition; the agreements whose ``connections`` name this connection are
            evaluated.
        connector: an open connector for the connection (the caller closes it).
        now: the clock (aware UTC); tests pass the sandbox's.
        full: re-read every stream from the beginning (cursors are ignored, then saved anew).
        dry_run: pull and evaluate into the store as usual, but write nothing to the CRM and
            leave the push queue and confirmed values as they are; ``report.changes`` lists
            what a real run would send now.
        progress: called with each step's progress.
        notifier: where alert notifications go; ``None``: the definition's recipients, URLs
            read from the environment (``read_secret``).
        should_stop: asked at each checkpoint (after a stored page, a recorded write call,
            between steps); ``True`` ends the run ``partial`` with :data:`STOPPED_ERROR`.
        run_id: the ledger id to use (the worker binds it to its log lines before the run
            starts); default: a new UUID.

    Raises:
        KeyError: no connection ``connection_name`` in ``config``.
        Exception: a bug (not a connector error) is recorded in the ledger, then re-raised.
    """
    spec = config.connection(connection_name)
    policies = config.agreements_of(connection_name)
    sessions = session_factory(engine)
    started_at = _utc(now())
    with sessions() as session, session.begin():
        connection_id = repo.ensure_connection(session, connection_name, spec.crm.value)
        run_id = repo.start_run(
            session,
            kind=DRY_RUN_KIND if dry_run else RUN_KIND,
            started_at=started_at,
            connection_id=connection_id,
            run_id=run_id,
        )
    report = CycleReport(
        run_id=run_id,
        connection=connection_name,
        started_at=started_at,
        dry_run=dry_run,
        full=full,
    )
    pulled = False
    try:
        try:
            pull_streams(
                sessions,
                connection_id,
                connector,
                started_at=started_at,
                now=now,
                full=full,
                progress=progress,
                outcome=report.pull,
                should_stop=should_stop,
            )
            pulled = not report.pull.stopped
        except QuotaExhaustedError as exc:
            report.outcome, report.error = RunOutcome.PARTIAL, f"pull: {exc}"
        if report.pull.stopped:  # the evaluation queue keeps what the pull changed
            report.outcome, report.error = RunOutcome.PARTIAL, STOPPED_ERROR
        else:
            report.evaluate = evaluate_pending(
                sessions, connection_id, policies, as_of=started_at, progress=progress
            )
        if pulled and _asked(should_stop):
            pulled = False
            report.outcome, report.error = RunOutcome.PARTIAL, STOPPED_ERROR
        if pulled:
            try:
                push_pending(
                    sessions,
                    connection_id,
                    connector,
                    policies,
                    now=_utc(now()),
                    dry_run=dry_run,
                    progress=progress,
                    outcome=report.push,
                    should_stop=should_stop,
                )
            except QuotaExhaustedError as exc:
                report.outcome, report.error = RunOutcome.PARTIAL, f"push: {exc}"
            if report.push.stopped and report.outcome is RunOutcome.RUNNING:
                report.outcome, report.error = RunOutcome.PARTIAL, STOPPED_ERROR
            if report.push.interrupted and report.outcome is RunOutcome.RUNNING:
                report.outcome, report.error = (
                    RunOutcome.PARTIAL,
                    f"push: {report.push.interrupted}",
                )
        # ---- alerts (engineer A): after a complete push, never in a dry run. A push that
        # stopped early leaves the alerts to the next run (their horizon is a day).
        if pulled and report.outcome is RunOutcome.RUNNING and _asked(should_stop):
            report.outcome, report.error = RunOutcome.PARTIAL, STOPPED_ERROR
        if pulled and not dry_run and report.outcome is RunOutcome.RUNNING:
            try:
                raise_alerts(
                    sessions,
                    connection_id,
                    connector,
                    policies,
                    {a.id: a.alerts for a in config.agreements if a.id in {p.id for p in policies}},
                    now=_utc(now()),
                    notifier=notifier or Notifier.from_config(config, read_secret),
                    outcome=report.alerts,
                )
            except QuotaExhaustedError as exc:
                report.outcome, report.error = RunOutcome.PARTIAL, f"alerts: {exc}"
            if report.alerts.interrupted and report.outcome is RunOutcome.RUNNING:
                report.outcome, report.error = (
                    RunOutcome.PARTIAL,
                    f"alerts: {report.alerts.interrupted}",
                )
        # ---- end alerts
        if report.outcome is RunOutcome.RUNNING:
            report.outcome = RunOutcome.SUCCESS
    except (ConnectorError, CrmSchemaMissingError) as exc:
        report.outcome, report.error = RunOutcome.FAILED, f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        report.outcome, report.error = RunOutcome.FAILED, f"{type(exc).__name__}: {exc}"
        _finish(sessions, report, connector.usage(), now)
        raise
    _finish(sessions, report, connector.usage(), now)
    return report


def _finish(
    sessions: Any, report: CycleReport, usage: ApiUsage, now: Callable[[], datetime]
) -> None:
    report.api_calls = {name: int(count) for name, count in usage.calls.items()}
    report.rate_limited = int(usage.rate_limited)
    report.ended_at = _utc(now())
    with sessions() as session, session.begin():
        repo.finish_run(
            session,
            report.run_id,
            outcome=report.outcome,
            ended_at=report.ended_at,
            counts=report.counts(),
            api_calls=api_calls_record(usage),
            error=report.error,
        )


def api_calls_record(usage: ApiUsage) -> dict[str, Any]:
    """The ledger's ``api_calls`` of a run: calls and retries per endpoint class, 429s,
    ``total`` (what :func:`~sla_sync.store.repositories.api_calls_since` adds up) and the
    daily quota as the CRM last reported it."""
    calls: Mapping[str, int] = usage.calls
    return {
        "calls": dict(calls),
        "retries": dict(usage.retries),
        "rate_limited": usage.rate_limited,
        "total": sum(calls.values()),
        "daily_limit": usage.daily_limit,
        "daily_remaining": usage.daily_remaining,
    }


def _asked(should_stop: Callable[[], bool] | None) -> bool:
    return should_stop is not None and should_stop()


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("now() must return an aware datetime")
    return value.astimezone(UTC)
