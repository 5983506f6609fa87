"""Push step: write the SLA field differences of queued leads back to the CRM.

For each lead in the push queue (in lead-id order, a page at a time): derive the desired values
from its stored cycles (:mod:`sla_sync.pipeline.fields`), compare them with the values the CRM
last *confirmed*, and send only the differences, ``capabilities.max_batch_write`` records per
call. After each call, in one transaction: the values of records the CRM answered ``ok`` become
confirmed (from the answer's ``confirmed`` values, or the values sent when it lists none) and
those records leave the queue; a failed record stays queued with its error and attempt count
(retriable), or is quarantined and dropped (refused for good), or just dropped (gone or merged
away: the next pull tells the store). Records that failed before are sent one per call, so a
record the CRM keeps refusing never holds back a batch.

A call that failed as a whole (the CRM down or throttling past every retry: every result says
``call_failed``) says nothing about its records: they stay queued as they were (no attempt
counted, still batched next time) and the step stops there, leaving the rest of the queue for
the next run; :attr:`PushOutcome.interrupted` says why. During an outage a run thus spends one
call's retries, not one per queued record.

``updated_at`` is stamped on a record only when another field changes, so an unchanged lead
costs no write: the worker's own writes that come back in the next pull change nothing.

Kill -9 safety: a record leaves the queue only in the transaction that confirms it, so a run
killed mid-push re-sends at most the batch in flight (field updates are idempotent).

Dry run: the differences are computed and returned; nothing is sent and neither the confirmed
values nor the queue change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from sla_sync.connectors.base import CrmConnector, FieldUpdate, PushResult, SlaField
from sla_sync.domain import LeadCycle, ScopeKind
from sla_sync.pipeline.fields import desired_fields, differences, format_instant
from sla_sync.pipeline.progress import Progress, ProgressCallback
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import AgreementPolicy
from sla_sync.store import repositories as repo

LEAD_OBJECT = "lead"
PAGE = 500
#: Failed attempts after which a retriable record error is quarantined instead of retried
#: (failures of the whole call, ``PushResult.call_failed``, do not count towards it).
MAX_ATTEMPTS = 10
PUSH_STREAM = "push:fields"


class CrmSchemaMissingError(RuntimeError):
    """The CRM lacks SLA fields sla-sync writes (``sla-sync crm init`` was not run).

    Checked before the first write of a push step: without it every record would be refused
    one by one and quarantined, although nothing is wrong with them.
    """


@dataclass(slots=True)
class PushOutcome:
    """What the push step did. ``changes``: every update computed (sent, or in a dry run
    what would have been sent), in lead-id order."""

    considered: int = 0
    sent: int = 0
    confirmed: int = 0
    failed: int = 0
    quarantined: int = 0
    dropped: int = 0
    calls: int = 0
    changes: list[FieldUpdate] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    interrupted: str | None = None
    #: the step stopped early because ``should_stop`` said so (the rest stays queued)
    stopped: bool = False


def push_pending(
    sessions: sessionmaker[Session],
    connection_id: int,
    connector: CrmConnector,
    policies: Sequence[AgreementPolicy],
    *,
    now: datetime,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    outcome: PushOutcome | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PushOutcome:
    """Push the differences of every queued lead (see the module docstring).

    ``should_stop`` (the worker's SIGTERM flag) is asked after each write call is recorded:
    when it answers ``True`` the step returns with ``stopped`` set and the rest of the queue
    left for the next run.

    ``outcome`` (optional) is filled in place, so a caller that catches an exception raised
    mid-push (a spent quota) still has the counts so far.

    Raises:
        CrmSchemaMissingError: there is something to write but the CRM lacks SLA fields
            (checked once, before the first write; nothing is sent).
        QuotaExhaustedError, RetriableConnectorError, FatalConnectorError: from the connector;
            the records of the call in flight stay queued.
    """
    outcome = outcome if outcome is not None else PushOutcome()
    batch_size = max(1, connector.capabilities.max_batch_write)
    with sessions() as session:
        owner_speed = _owner_speed(session, policies, now)
        agreements = frozenset(p.id for p in policies)
        backlog = repo.push_backlog(session, connection_id)
    after: str | None = None
    checked = False
    while True:
        with sessions() as session:
            queued = repo.push_batch(session, connection_id, limit=PAGE, after=after)
            if not queued:
                break
            after = queued[-1].lead_id
            fresh, retries, settled = _updates(
                session, connection_id, queued, agreements, owner_speed, now
            )
        outcome.considered += len(queued)
        outcome.changes.extend(fresh + retries)
        if dry_run:
            continue
        if settled:
            with sessions() as session, session.begin():
                repo.dequeue_push(session, connection_id, settled)
        groups = [fresh[i : i + batch_size] for i in range(0, len(fresh), batch_size)]
        groups += [[update] for update in retries]
        if groups and not checked:
            _check_schema(connector)
            checked = True
        for group in groups:
            results = connector.push_fields(group)
            outcome.calls += 1
            outcome.sent += len(group)
            with sessions() as session, session.begin():
                _record(session, connection_id, group, results, now, outcome)
            if progress is not None:
                progress(Progress(step="push", done=outcome.considered, total=backlog))
            failed_call = next((r for r in results if r.call_failed), None)
            if failed_call is not None:
                with sessions() as session:
                    left = repo.push_backlog(session, connection_id)
                outcome.interrupted = (
                    f"a write call failed ({failed_call.error or 'no answer'}); "
                    f"{left} lead(s) left queued for the next run"
                )
                return outcome
            if should_stop is not None and should_stop():
                outcome.stopped = True
                return outcome
    return outcome


def _check_schema(connector: CrmConnector) -> None:
    missing = [c for c in connector.ensure_schema(dry_run=True) if c.action != "unchanged"]
    if missing:
        names = ", ".join(f"{c.kind} {c.name} ({c.action})" for c in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise CrmSchemaMissingError(
            f"the CRM lacks SLA fields sla-sync writes: {names}{more}; run `sla-sync crm init`"
        )


def _owner_speed(
    session: Session, policies: Sequence[AgreementPolicy], now: datetime
) -> dict[tuple[str, str], float | None]:
    speed: dict[tuple[str, str], float | None] = {}
    for policy in policies:
        label = Period.containing(now, policy.period, policy.timezone).label
        for record in repo.load_attainments(session, policy.id, label, scope=ScopeKind.OWNER):
            speed[(policy.id, record.current.scope_id)] = record.current.speed.pct
    return speed


def _updates(
    session: Session,
    connection_id: int,
    queued: Sequence[repo.QueuedPush],
    agreements: frozenset[str],
    owner_speed: Mapping[tuple[str, str], float | None],
    now: datetime,
) -> tuple[list[FieldUpdate], list[FieldUpdate], list[str]]:
    """(updates of fresh records, updates of records that failed before, leads with nothing
    to send). Cycles of agreements no longer configured for the connection are ignored."""
    ids = [q.lead_id for q in queued]
    leads = repo.load_leads(session, connection_id, ids)
    confirmed = repo.load_confirmed(session, connection_id, LEAD_OBJECT, ids)
    cycles: dict[str, list[LeadCycle]] = {}
    for cycle in repo.load_cycles(session, connection_id=connection_id, lead_ids=ids):
        if cycle.agreement in agreements:
            cycles.setdefault(cycle.lead_id, []).append(cycle)
    fresh: list[FieldUpdate] = []
    retries: list[FieldUpdate] = []
    settled: list[str] = []
    for item in queued:
        lead = leads.get(item.lead_id)
        if lead is None or lead.deleted_at is not None or lead.merged_into is not None:
            settled.append(item.lead_id)  # gone from the CRM: nothing to write on
            continue
        known = confirmed.get(item.lead_id, {})
        desired = desired_fields(
            cycles.get(item.lead_id, []), managed=bool(known), owner_speed=owner_speed
        )
        diff = differences(desired, known) if desired is not None else {}
        if not diff:
            settled.append(item.lead_id)
            continue
        diff[SlaField.UPDATED_AT] = format_instant(now)
        update = FieldUpdate(lead_id=item.lead_id, values=diff)
        (retries if item.attempts else fresh).append(update)
    return fresh, retries, settled


def _record(
    session: Session,
    connection_id: int,
    sent: Sequence[FieldUpdate],
    results: Sequence[PushResult],
    now: datetime,
    outcome: PushOutcome,
) -> None:
    """Store the CRM's answers to one call (in the caller's transaction)."""
    by_id = {r.lead_id: r for r in results}
    confirmed: dict[str, dict[str, str | None]] = {}
    done: list[str] = []
    for update in sent:
        result = by_id.get(update.lead_id)
        if result is None:  # no answer for this record: as if the call had failed for it
            result = PushResult(lead_id=update.lead_id, ok=False, error="no answer", retriable=True)
        if result.ok:
            values = result.confirmed or update.values
            confirmed[update.lead_id] = {name.value: value for name, value in values.items()}
            done.append(update.lead_id)
            outcome.confirmed += 1
            continue
        error = result.error or "refused"
        outcome.errors[update.lead_id] = error
        outcome.failed += 1
        if result.gone or result.merged_into is not None:
            done.append(update.lead_id)
            outcome.dropped += 1
        elif result.call_failed:
            # An outage says nothing about the record: no attempt counted, still batched.
            continue
        elif result.retriable:
            attempts = repo.record_push_failure(
                session, connection_id, update.lead_id, error=error, at=now
            )
            if attempts >= MAX_ATTEMPTS:
                _quarantine(session, connection_id, update, f"{error} ({attempts} attempts)", now)
                done.append(update.lead_id)
                outcome.quarantined += 1
        else:
            _quarantine(session, connection_id, update, error, now)
            done.append(update.lead_id)
            outcome.quarantined += 1
    repo.confirm_values(session, connection_id, LEAD_OBJECT, confirmed, confirmed_at=now)
    repo.dequeue_push(session, connection_id, done)


def _quarantine(
    session: Session, connection_id: int, update: FieldUpdate, reason: str, now: datetime
) -> None:
    repo.quarantine(
        session,
        connection_id=connection_id,
        stream=PUSH_STREAM,
        crm_id=update.lead_id,
        reason=reason,
        payload={name.value: value for name, value in update.values.items()},
        seen_at=now,
    )
