"""The alerts step: at-risk, breach and escalation tasks in the CRM, breach notifications.

:func:`raise_alerts` runs after the push step of a (non-dry) cycle, on the cycles the evaluate
step stored. Transitions, each handled once per (cycle, alert):

* ``at_risk``: the warning point was crossed and the cycle still runs -> a task for the owner,
  due at the cycle's deadline (priority MEDIUM);
* ``breach``: the deadline passed with the commitment unmet and nobody has answered since (no
  late touch, no episode end) -> a task for the owner, due one business hour from now on the
  agreement's calendar (the next opening + 1 h when closed; priority HIGH);
* ``escalation``: the breach is still unanswered ``escalate_after`` later (the engine sets
  ``escalated_at``) -> a task for the owner's manager (``Owner.manager_id``) when the CRM knows
  one; otherwise (HubSpot owners have no manager) a notification to ``alerts.escalate_to``;
* breach notification: the agreement's new breaches of this run, in one message per agreement,
  to ``alerts.breaches_to``.

Exactly once: a task's idempotency key ``<agreement>:<lead>:<cycle kind>:<number>:<alert>`` is
recorded in the outbox (committed) *before* the CRM call, and the task's subject carries the
marker ``[sla-sync:<key>]``. After the CRM answers, the outbox entry is confirmed with the task
id and the alert recorded (one transaction). A run that crashed in between leaves the entry
pending; the next run asks the CRM for the marker (:meth:`CrmConnector.find_tasks`) before
creating anything, and records what it finds. CRM search lags writes by seconds, so an entry
younger than :data:`RESOLVE_AFTER` waits for a later run. A create that failed with an unknown
outcome (5xx, timeout) is treated the same way. A task the CRM refuses (a gone contact) is
marked failed and not tried again.

No spam: only transitions within :data:`ALERT_HORIZON` of now are considered, so a first sync
(a backfill of past months) alerts only about the last day. Notifications are recorded only
when delivered (a channel that is down is tried again on the next run, within the horizon).
Created tasks carry the marker, so the pull maps them to ``Touch.by_sla_sync`` and they never
count as a touch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sla_sync.connectors.base import (
    CrmConnector,
    RetriableConnectorError,
    SkippableRecordError,
    TaskPriority,
    TaskRequest,
)
from sla_sync.definitions.operations import AlertsSpec
from sla_sync.domain import CycleKind, CycleState, Lead, LeadCycle, Owner
from sla_sync.pipeline.notify import Notifier
from sla_sync.sla.policy import AgreementPolicy
from sla_sync.store import repositories as repo
from sla_sync.store.records import AlertKind, OutboxEntry, OutboxStatus
from sla_sync.store.repositories.alerting import recent_transition_cycles

log = logging.getLogger(__name__)

Sessions = Callable[[], Session]

#: Transitions older than this are history, not news: never alerted (backfills stay quiet).
ALERT_HORIZON = timedelta(hours=24)
#: An unresolved task intent is looked up in the CRM only this long after it was recorded:
#: search lags writes, and a look-up that misses a just-created task would create a second one.
RESOLVE_AFTER = timedelta(minutes=2)
#: A breach task is due this much business time from now.
BREACH_DUE = timedelta(hours=1)
OPERATION = "create_task"


class AlertType(StrEnum):
    """The task alerts; the last part of an idempotency key."""

    AT_RISK = "at_risk"
    BREACH = "breach"
    ESCALATION = "escalation"


_RECORDED_AS = {
    AlertType.AT_RISK: AlertKind.WARNING,
    AlertType.BREACH: AlertKind.BREACH,
    AlertType.ESCALATION: AlertKind.ESCALATION,
}


@dataclass(slots=True)
class AlertOutcome:
    """What the alerts step did in one run.

    ``tasks_created``: tasks created now; ``tasks_recovered``: tasks a crashed run had created,
    found by their marker and recorded; ``tasks_unknown``: creates whose outcome is unknown
    (resolved on a later run); ``tasks_failed``: tasks the CRM refused; ``deferred``: intents
    too recent to look up; ``notifications``: messages delivered; ``breaches_notified`` /
    ``escalations_notified``: cycles those messages covered; ``interrupted``: why the task
    step stopped early (the CRM failing), ``None`` otherwise.
    """

    tasks_created: int = 0
    tasks_recovered: int = 0
    tasks_unknown: int = 0
    tasks_failed: int = 0
    deferred: int = 0
    notifications: int = 0
    breaches_notified: int = 0
    escalations_notified: int = 0
    interrupted: str | None = None
    task_ids: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The run ledger's ``alerts`` counts."""
        return {
            "tasks_created": self.tasks_created,
            "tasks_recovered": self.tasks_recovered,
            "tasks_unknown": self.tasks_unknown,
            "tasks_failed": self.tasks_failed,
            "deferred": self.deferred,
            "notifications": self.notifications,
            "breaches_notified": self.breaches_notified,
            "escalations_notified": self.escalations_notified,
        }


def idempotency_key(cycle: LeadCycle, alert: AlertType) -> str:
    """``<agreement>:<lead>:<cycle kind>:<number>:<alert>``."""
    return f"{cycle.agreement}:{cycle.lead_id}:{cycle.kind.value}:{cycle.number}:{alert.value}"


def task_marker(key: str) -> str:
    """The marker a task carries in its subject: ``[sla-sync:<key>]``."""
    return f"[sla-sync:{key}]"


def raise_alerts(
    sessions: Sessions,
    connection_id: int,
    connector: CrmConnector,
    policies: Sequence[AgreementPolicy],
    alerts: Mapping[str, AlertsSpec],
    *,
    now: datetime,
    notifier: Notifier,
    outcome: AlertOutcome | None = None,
) -> AlertOutcome:
    """Raise the alerts due for ``connection_id`` (see the module docstring); never in a dry run.

    ``alerts`` maps an agreement id to its ``alerts:`` settings (missing: the defaults).
    ``outcome`` is filled in as the step goes (so a caller keeps the counts of a step that
    raised).

    Raises:
        QuotaExhaustedError: the daily budget ran out (intents stay pending; the next run
            resolves them).
        FatalConnectorError: the CRM refused the credential or the permission.
    """
    out = outcome if outcome is not None else AlertOutcome()
    by_id = {p.id: p for p in policies}
    since = now - ALERT_HORIZON
    with sessions() as session:
        cycles = [
            c
            for c in recent_transition_cycles(session, connection_id, since=since)
            if c.agreement in by_id
        ]
        leads = {c.lead_id for c in cycles}
        raised = {
            (a.agreement, a.kind, a.lead_id, a.cycle_kind, a.cycle_number)
            for a in repo.list_alerts(session, connection_id=connection_id, lead_ids=leads)
        }
        owners = repo.load_owners(session, connection_id)
        lead_records = repo.load_leads(session, connection_id, leads)
        unfinished = [
            e
            for e in repo.unfinished_outbox(
                session,
                connection_id,
                statuses=(OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.FAILED),
            )
            if e.operation == OPERATION
        ]

    def done(cycle: LeadCycle, kind: AlertKind) -> bool:
        return (cycle.agreement, kind, cycle.lead_id, cycle.kind.value, cycle.number) in raised

    settings = {a: alerts.get(a, AlertsSpec()) for a in by_id}
    # Notifications first: they cost no API call, so a CRM outage does not hold them back.
    _notify_breaches(sessions, connection_id, cycles, settings, by_id, done, now, notifier, out)
    creates = connector.capabilities.creates_tasks
    tasks: list[tuple[LeadCycle, AlertType, str | None]] = []
    escalate_by_note: list[LeadCycle] = []
    for cycle in cycles:
        makes_tasks = settings[cycle.agreement].tasks and creates
        for alert in _transitions(cycle, since):
            if done(cycle, _RECORDED_AS[alert]):
                continue
            assignee = _assignee(cycle, alert, owners)
            if alert is AlertType.ESCALATION and (assignee is None or not makes_tasks):
                escalate_by_note.append(cycle)  # no manager to give a task to
            elif makes_tasks:
                tasks.append((cycle, alert, assignee))
    _notify_escalations(
        sessions, connection_id, escalate_by_note, settings, by_id, now, notifier, out
    )
    if not creates:
        return out
    pending_keys = {e.idempotency_key for e in unfinished}
    _resolve_unfinished(sessions, connector, unfinished, now, out)
    if out.interrupted:
        return out
    for cycle, alert, assignee in tasks:
        key = idempotency_key(cycle, alert)
        if key in pending_keys:
            continue  # resolved above, deferred, or refused for good
        request = _task_request(
            cycle, alert, assignee, by_id[cycle.agreement], lead_records.get(cycle.lead_id), now
        )
        payload = _payload(cycle, alert, request)
        with sessions() as session, session.begin():
            entry = repo.record_intent(
                session,
                connection_id=connection_id,
                idempotency_key=key,
                operation=OPERATION,
                payload=payload,
                at=now,
            )
            if entry.status is OutboxStatus.CONFIRMED:  # created before; only the record is new
                _record(session, connection_id, entry, now)
                continue
        if not _create(sessions, connector, connection_id, key, request, now, out):
            return out
    return out


# --------------------------------------------------------------------------- transitions


def _transitions(cycle: LeadCycle, since: datetime) -> list[AlertType]:
    """The task alerts ``cycle`` calls for now (recent transitions only)."""
    found: list[AlertType] = []
    if (
        cycle.state is CycleState.RUNNING
        and cycle.warning_at is not None
        and cycle.warning_at >= since
    ):
        found.append(AlertType.AT_RISK)
    if _unanswered_breach(cycle) and cycle.breached_at is not None and cycle.breached_at >= since:
        found.append(AlertType.BREACH)
    if _unanswered_breach(cycle) and cycle.escalated_at is not None and cycle.escalated_at >= since:
        found.append(AlertType.ESCALATION)
    return found


def _unanswered_breach(cycle: LeadCycle) -> bool:
    """Breached, and neither a late touch/decision nor an episode end closed it since."""
    return (
        cycle.state is CycleState.BREACHED and cycle.cancel_reason is None and cycle.late_by is None
    )


def _new_breach(cycle: LeadCycle, since: datetime) -> bool:
    return (
        cycle.state is CycleState.BREACHED
        and cycle.breached_at is not None
        and cycle.breached_at >= since
    )


def _assignee(cycle: LeadCycle, alert: AlertType, owners: Mapping[str, Owner]) -> str | None:
    """Who gets the task: the owner (an inactive owner's manager, else nobody: an unassigned
    task); for an escalation the owner's manager (``None``: the CRM knows no manager)."""
    owner = owners.get(cycle.owner_id) if cycle.owner_id else None
    if alert is AlertType.ESCALATION:
        return owner.manager_id if owner is not None else None
    if owner is None:
        return cycle.owner_id
    return owner.id if owner.active else owner.manager_id


# --------------------------------------------------------------------------- tasks


def _task_request(
    cycle: LeadCycle,
    alert: AlertType,
    assignee: str | None,
    policy: AgreementPolicy,
    lead: Lead | None,
    now: datetime,
) -> TaskRequest:
    marker = task_marker(idempotency_key(cycle, alert))
    zone = ZoneInfo(policy.timezone)
    label = _lead_label(cycle.lead_id, lead)
    headline = {
        AlertType.AT_RISK: f"SLA at risk: {label}",
        AlertType.BREACH: f"SLA breached: {label}",
        AlertType.ESCALATION: f"SLA breach escalated: {label}",
    }[alert]
    if alert is AlertType.AT_RISK and cycle.deadline_at is not None and cycle.deadline_at > now:
        due = cycle.deadline_at
    else:
        due = _business_hour_from(now, policy, cycle)
    lines = [
        f"Lead: {label} (CRM id {cycle.lead_id})",
        f"Agreement: {cycle.agreement}; commitment: {cycle.kind.value} (cycle {cycle.number})",
    ]
    if cycle.tier:
        lines.append(f"Tier: {cycle.tier}")
    if cycle.deadline_at is not None:
        lines.append(f"Deadline: {_local(cycle.deadline_at, zone)}")
    if alert is AlertType.AT_RISK:
        lines.append(f"Time left: {_span(cycle.deadline_at - now) if cycle.deadline_at else '?'}")
    elif cycle.breached_at is not None:
        late = _span(now - cycle.breached_at)
        lines.append(f"Late by: {late} (breached {_local(cycle.breached_at, zone)})")
    if alert is AlertType.ESCALATION:
        lines.append(f"Owner: {cycle.owner_id or 'unassigned'} has not acted on the breach.")
    lines.append(f"To do: {_what_to_do(cycle)}")
    lines.append("This task was created by sla-sync; it never counts as a touch.")
    return TaskRequest(
        marker=marker,
        lead_id=cycle.lead_id,
        subject=f"{headline} {marker}",
        body="\n".join(lines),
        due_at=due,
        owner_id=assignee,
        priority=TaskPriority.MEDIUM if alert is AlertType.AT_RISK else TaskPriority.HIGH,
    )


def _what_to_do(cycle: LeadCycle) -> str:
    if cycle.kind is CycleKind.SPEED:
        return "make the first touch now (call, e-mail or meeting) and log it on the contact."
    if cycle.kind is CycleKind.DEPTH:
        left = max(0, (cycle.attempts_required or 0) - cycle.attempts)
        return f"make the remaining {left} contact attempt(s) and log them on the contact."
    return "accept or reject the lead (set its lead status)."


def _business_hour_from(now: datetime, policy: AgreementPolicy, cycle: LeadCycle) -> datetime:
    """One business hour from ``now`` on the calendar the cycle is measured on (the team's)."""
    sales = policy.sales
    if sales is None:
        return now + BREACH_DUE
    calendar = sales.team_calendars.get(cycle.team or "", sales.calendar)
    try:
        return calendar.add(now, BREACH_DUE)
    except Exception:  # a calendar with no open time ahead: fall back to wall-clock time
        return now + BREACH_DUE


def _payload(cycle: LeadCycle, alert: AlertType, request: TaskRequest) -> dict[str, Any]:
    """Everything a later run needs to record or re-create the task."""
    return {
        "agreement": cycle.agreement,
        "lead_id": cycle.lead_id,
        "cycle_kind": cycle.kind.value,
        "cycle_number": cycle.number,
        "alert": alert.value,
        "marker": request.marker,
        "subject": request.subject,
        "body": request.body,
        "due_at": request.due_at.isoformat(),
        "owner_id": request.owner_id,
        "priority": request.priority.value,
    }


def _request_of(payload: Mapping[str, Any]) -> TaskRequest:
    return TaskRequest(
        marker=payload["marker"],
        lead_id=payload["lead_id"],
        subject=payload["subject"],
        body=payload["body"],
        due_at=datetime.fromisoformat(payload["due_at"]),
        owner_id=payload.get("owner_id"),
        priority=TaskPriority(payload["priority"]),
    )


def _create(
    sessions: Sessions,
    connector: CrmConnector,
    connection_id: int,
    key: str,
    request: TaskRequest,
    now: datetime,
    out: AlertOutcome,
) -> bool:
    """Create one task whose intent is committed; ``False`` when the step must stop."""
    try:
        result = connector.create_task(request)
    except SkippableRecordError as exc:
        with sessions() as session, session.begin():
            repo.mark_failed(session, key, error=exc.reason[:500], at=now)
        out.tasks_failed += 1
        log.warning("alert task %s refused by the CRM: %s", key, exc.reason)
        return True
    except RetriableConnectorError as exc:
        # The task may exist: never sent again blindly; a later run looks for its marker.
        with sessions() as session, session.begin():
            repo.mark_sent(session, key, at=now)
        out.tasks_unknown += 1
        out.interrupted = f"task create failed ({exc}); resolved by marker on a later run"
        return False
    with sessions() as session, session.begin():
        entry = repo.mark_confirmed(session, key, at=now, created_crm_id=result.task_id)
        _record(session, connection_id, entry, now)
    out.tasks_created += 1
    out.task_ids.append(result.task_id)
    return True


def _resolve_unfinished(
    sessions: Sessions,
    connector: CrmConnector,
    entries: Sequence[OutboxEntry],
    now: datetime,
    out: AlertOutcome,
) -> None:
    """Settle the task intents earlier runs left pending or sent: record the task the CRM has
    for the marker, or create it when there is none. Failed ones stay failed."""
    ripe = [
        e
        for e in entries
        if e.status in (OutboxStatus.PENDING, OutboxStatus.SENT)
        and now - e.updated_at >= RESOLVE_AFTER
    ]
    out.deferred += sum(1 for e in entries if e.status is not OutboxStatus.FAILED and e not in ripe)
    if not ripe:
        return
    try:
        found = connector.find_tasks([e.payload["marker"] for e in ripe])
    except RetriableConnectorError as exc:  # search down: nothing is created without it
        out.deferred += len(ripe)
        out.interrupted = f"task look-up failed ({exc}); tried again on the next run"
        return
    for entry in ripe:
        task_id = found.get(entry.payload["marker"])
        if task_id is not None:
            with sessions() as session, session.begin():
                confirmed = repo.mark_confirmed(
                    session, entry.idempotency_key, at=now, created_crm_id=task_id
                )
                _record(session, entry.connection_id, confirmed, now)
            out.tasks_recovered += 1
            out.task_ids.append(task_id)
            continue
        request = _request_of(entry.payload)
        if not _create(
            sessions,
            connector,
            entry.connection_id,
            entry.idempotency_key,
            request,
            now,
            out,
        ):
            return


def _record(session: Session, connection_id: int, entry: OutboxEntry, now: datetime) -> None:
    p = entry.payload
    repo.record_cycle_alert(
        session,
        agreement=p["agreement"],
        connection_id=connection_id,
        lead_id=p["lead_id"],
        cycle_kind=CycleKind(p["cycle_kind"]),
        cycle_number=int(p["cycle_number"]),
        kind=_RECORDED_AS[AlertType(p["alert"])],
        raised_at=now,
        detail={"via": "task", "task_id": entry.created_crm_id, "owner_id": p.get("owner_id")},
    )


# --------------------------------------------------------------------------- notifications


def _notify_breaches(
    sessions: Sessions,
    connection_id: int,
    cycles: Sequence[LeadCycle],
    settings: Mapping[str, AlertsSpec],
    policies: Mapping[str, AgreementPolicy],
    done: Callable[[LeadCycle, AlertKind], bool],
    now: datetime,
    notifier: Notifier,
    out: AlertOutcome,
) -> None:
    """One message per agreement listing its breaches not notified before."""
    since = now - ALERT_HORIZON
    for agreement, spec in settings.items():
        if not spec.breaches_to or not notifier.resolves(spec.breaches_to):
            continue
        new = [
            c
            for c in cycles
            if c.agreement == agreement
            and _new_breach(c, since)
            and not done(c, AlertKind.BREACH_NOTICE)
        ]
        if not new:
            continue
        zone = ZoneInfo(policies[agreement].timezone)
        count = len(new)
        title = f"{count} new SLA breach{'es' if count > 1 else ''} in {agreement}"
        body = "\n".join(
            f"- lead {c.lead_id}: {c.kind.value} #{c.number}"
            f"{f' ({c.tier})' if c.tier else ''}, owner {c.owner_id or 'unassigned'}, "
            f"deadline {_local(c.breached_at or now, zone)}"
            for c in new
        )
        if notifier.send(spec.breaches_to, title, body):
            _record_notes(sessions, connection_id, new, AlertKind.BREACH_NOTICE, now)
            out.notifications += 1
            out.breaches_notified += count


def _notify_escalations(
    sessions: Sessions,
    connection_id: int,
    cycles: Sequence[LeadCycle],
    settings: Mapping[str, AlertsSpec],
    policies: Mapping[str, AgreementPolicy],
    now: datetime,
    notifier: Notifier,
    out: AlertOutcome,
) -> None:
    """Escalations with no manager to give a task to: one message per agreement to
    ``alerts.escalate_to`` (nothing is recorded when nobody is configured: nothing was done)."""
    for agreement, spec in settings.items():
        mine = [c for c in cycles if c.agreement == agreement]
        if not mine or not spec.escalate_to or not notifier.resolves(spec.escalate_to):
            continue
        zone = ZoneInfo(policies[agreement].timezone)
        title = f"{len(mine)} SLA breach{'es' if len(mine) > 1 else ''} escalated in {agreement}"
        body = "\n".join(
            f"- lead {c.lead_id}: {c.kind.value} #{c.number}, owner {c.owner_id or 'unassigned'}, "
            f"breached {_local(c.breached_at or now, zone)}, still unanswered"
            for c in mine
        )
        if notifier.send(spec.escalate_to, title, body):
            _record_notes(sessions, connection_id, mine, AlertKind.ESCALATION, now)
            out.notifications += 1
            out.escalations_notified += len(mine)


def _record_notes(
    sessions: Sessions,
    connection_id: int,
    cycles: Iterable[LeadCycle],
    kind: AlertKind,
    now: datetime,
) -> None:
    with sessions() as session, session.begin():
        for c in cycles:
            repo.record_cycle_alert(
                session,
                agreement=c.agreement,
                connection_id=connection_id,
                lead_id=c.lead_id,
                cycle_kind=c.kind,
                cycle_number=c.number,
                kind=kind,
                raised_at=now,
                detail={"via": "notification"},
            )


# --------------------------------------------------------------------------- text


def _lead_label(lead_id: str, lead: Lead | None) -> str:
    if lead is not None:
        fields = lead.fields
        name = " ".join(v for v in (fields.get("firstname"), fields.get("lastname")) if v)
        if name:
            return name
        if fields.get("email"):
            return fields["email"]
    return f"contact {lead_id}"


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)
