"""Alert tasks through whole cycles against the seeded HubSpot emulator (real HTTP, real store):
once per cycle and kind, recovered by marker after a crash, never a touch, quiet on backfills."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from sla_sync.connectors.base import QuotaExhaustedError, TaskRequest, TaskResult
from sla_sync.domain import CycleState
from sla_sync.pipeline.alerts import ALERT_HORIZON, RESOLVE_AFTER, raise_alerts, task_marker
from sla_sync.pipeline.connect import connector_for
from sla_sync.pipeline.cycle import CycleReport, run_cycle
from sla_sync.pipeline.notify import Notifier
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import AlertKind, OutboxStatus, RunOutcome
from tests.pipeline.alerts_support import alerts_config, markers_of, sla_sync_tasks
from tests.pipeline.support import AS_OF, CONNECTION, Portal, crm_state

TASKS = "/crm/v3/objects/tasks"
LATER = AS_OF + RESOLVE_AFTER + timedelta(minutes=1)


class Crash(BaseException):
    """A kill between the CRM's answer and the store's record (not an ``Exception``: nothing in
    the cycle catches it, like a SIGKILL)."""


def _sync(
    store: Engine,
    config: Any,
    environ: dict[str, str],
    portal: Portal,
    at: Any,
    wrap: Any = None,
    **options: Any,
) -> CycleReport:
    portal.at(at)
    connector = connector_for(store, config, CONNECTION, now=at, environ=environ, rate_limits=False)
    try:
        target = wrap(connector) if wrap else connector
        return run_cycle(
            store,
            config,
            CONNECTION,
            target,
            now=lambda: at,
            notifier=Notifier.disabled(),
            **options,
        )
    finally:
        connector.close()


def _task_alerts(store: Engine) -> list[Any]:
    with session_factory(store)() as session:
        return [
            a
            for a in repo.list_alerts(session)
            if a.kind in (AlertKind.WARNING, AlertKind.BREACH, AlertKind.ESCALATION)
            and a.detail.get("via") == "task"
        ]


@pytest.fixture
def alerting(sandbox: Any) -> Any:
    return alerts_config(sandbox.hubspot_url)


def test_tasks_once_per_cycle_and_kind_and_never_a_touch(
    portal: Portal, store: Engine, alerting: Any, environ: dict[str, str]
) -> None:
    first = _sync(store, alerting, environ, portal, AS_OF)
    assert first.outcome is RunOutcome.SUCCESS, first.error
    assert first.alerts.tasks_created > 0
    tasks = sla_sync_tasks(portal)
    counts = markers_of(tasks)
    assert set(counts.values()) == {1} and len(counts) == first.alerts.tasks_created
    recorded = _task_alerts(store)
    assert sorted(a.detail["task_id"] for a in recorded) == sorted(t["id"] for t in tasks)
    # Every task is on its lead's contact and assigned to the lead's owner (or left open).
    with session_factory(store)() as session:
        cycles = {
            (c.agreement, c.lead_id, c.kind.value, c.number): c
            for c in repo.load_cycles(session, connection_id=1)
        }
    for t in tasks:
        subject = t["properties"]["hs_task_subject"]
        agreement, lead, kind, number, alert = subject[subject.index("[sla-sync:") + 10 : -1].split(
            ":"
        )
        cycle = cycles[(agreement, lead, kind, int(number))]
        assert [a["id"] for a in t["associations"]["contacts"]["results"]] == [lead]
        assert t["properties"]["hs_task_priority"] == ("MEDIUM" if alert == "at_risk" else "HIGH")
        if alert == "at_risk":
            assert cycle.state is CycleState.RUNNING
        else:
            assert cycle.state is CycleState.BREACHED
            assert cycle.breached_at is not None and cycle.breached_at >= AS_OF - ALERT_HORIZON
    state = crm_state(portal)

    # The next run reads the tasks back: they change no SLA input and nothing is created.
    second = _sync(store, alerting, environ, portal, LATER)
    assert second.outcome is RunOutcome.SUCCESS, second.error
    assert second.pull.records["tasks"] >= len(tasks)
    assert second.pull.changed_leads == 0
    assert second.alerts.tasks_created == 0
    assert second.push.sent == 0
    assert markers_of(sla_sync_tasks(portal)) == counts
    assert crm_state(portal) == state


def test_backfill_alerts_only_the_recent_horizon(
    portal: Portal, store: Engine, alerting: Any, environ: dict[str, str]
) -> None:
    report = _sync(store, alerting, environ, portal, AS_OF)
    assert report.outcome is RunOutcome.SUCCESS, report.error
    with session_factory(store)() as session:
        old = [
            c
            for c in repo.load_cycles(session)
            if c.breached_at is not None and c.breached_at < AS_OF - ALERT_HORIZON
        ]
    assert old, "the seeded months hold older breaches"
    alerted = {(a.lead_id, a.cycle_kind, a.cycle_number) for a in _task_alerts(store)}
    assert not alerted & {
        (c.lead_id, c.kind.value, c.number)
        for c in old
        if c.warning_at is None or c.warning_at < AS_OF - ALERT_HORIZON
    }
    assert report.alerts.tasks_created < 40  # a day's worth, not three months'


def test_dry_run_and_tasks_off_create_none(
    portal: Portal, store: Engine, sandbox: Any, environ: dict[str, str]
) -> None:
    dry = _sync(store, alerts_config(sandbox.hubspot_url), environ, portal, AS_OF, dry_run=True)
    assert dry.outcome is RunOutcome.SUCCESS and dry.alerts.tasks_created == 0
    off = alerts_config(sandbox.hubspot_url, tasks=False)
    report = _sync(store, off, environ, portal, LATER)
    assert report.outcome is RunOutcome.SUCCESS, report.error
    assert report.alerts.tasks_created == 0
    assert sla_sync_tasks(portal) == []


def test_commit_then_fail_on_create_leaves_exactly_one_task(
    portal: Portal, store: Engine, alerting: Any, environ: dict[str, str]
) -> None:
    portal.control(
        "POST",
        "faults",
        {"kind": "commit_then_fail", "method": "POST", "path": TASKS, "status": 502, "times": 1},
    )
    first = _sync(store, alerting, environ, portal, AS_OF)
    assert first.outcome is RunOutcome.PARTIAL and "alerts" in (first.error or "")
    assert first.alerts.tasks_unknown == 1 and first.alerts.tasks_created == 0
    assert len(sla_sync_tasks(portal)) == 1  # HubSpot committed it; it was not sent again

    too_soon = _sync(store, alerting, environ, portal, AS_OF + timedelta(seconds=30))
    assert too_soon.alerts.deferred == 1 and too_soon.alerts.tasks_recovered == 0

    second = _sync(store, alerting, environ, portal, LATER)
    assert second.outcome is RunOutcome.SUCCESS, second.error
    assert second.alerts.tasks_recovered == 1
    counts = markers_of(sla_sync_tasks(portal))
    assert set(counts.values()) == {1}
    created = too_soon.alerts.tasks_created + second.alerts.tasks_created
    assert len(counts) == created + 1

    third = _sync(store, alerting, environ, portal, LATER + timedelta(minutes=5))
    assert third.alerts.tasks_created == third.alerts.tasks_recovered == 0
    assert markers_of(sla_sync_tasks(portal)) == counts


class _CrashAfterCreate:
    """The real connector, killed right after the CRM created the ``n``-th task."""

    def __init__(self, inner: Any, n: int = 2) -> None:
        self._inner, self._left = inner, n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_task(self, request: TaskRequest) -> TaskResult:
        result: TaskResult = self._inner.create_task(request)
        self._left -= 1
        if self._left == 0:
            raise Crash(request.marker)
        return result

    def find_tasks(self, markers: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = self._inner.find_tasks(markers)
        return found


def test_killed_between_create_and_record_creates_no_second_task(
    portal: Portal, store: Engine, alerting: Any, environ: dict[str, str]
) -> None:
    with pytest.raises(Crash) as crashed:
        _sync(store, alerting, environ, portal, AS_OF, wrap=_CrashAfterCreate)
    marker = str(crashed.value)
    assert markers_of(sla_sync_tasks(portal))[marker] == 1
    with session_factory(store)() as session:
        [entry] = [
            e
            for e in repo.unfinished_outbox(session, 1)
            if task_marker(e.idempotency_key) == marker
        ]
    assert entry.status is OutboxStatus.PENDING  # recorded before the call, never confirmed

    restarted = _sync(store, alerting, environ, portal, LATER)
    assert restarted.outcome is RunOutcome.SUCCESS, restarted.error
    assert restarted.alerts.tasks_recovered == 1
    counts = markers_of(sla_sync_tasks(portal))
    assert counts[marker] == 1 and set(counts.values()) == {1}
    with session_factory(store)() as session:
        assert (
            repo.get_outbox_entry(session, entry.idempotency_key).status is OutboxStatus.CONFIRMED
        )


def test_escalation_is_a_task_for_the_manager_when_the_crm_knows_one(
    portal: Portal, store: Engine, sandbox: Any, environ: dict[str, str]
) -> None:
    # A first run with tasks off decides the cycles; nothing is escalated (no recipient).
    quiet = _sync(store, alerts_config(sandbox.hubspot_url, tasks=False), environ, portal, AS_OF)
    assert quiet.outcome is RunOutcome.SUCCESS, quiet.error
    sessions = session_factory(store)
    with sessions() as session:
        escalated = [
            c
            for c in repo.load_cycles(session)
            if c.escalated_at is not None
            and c.escalated_at >= AS_OF - ALERT_HORIZON
            and c.late_by is None
            and c.cancel_reason is None
        ]
        owners = repo.load_owners(session, 1)
    assert escalated, "the seeded portal has a breach left unanswered past escalate_after"
    # HubSpot owners carry no manager; a CRM that has them (Salesforce's ManagerId) fills it.
    manager = next(
        o for o in owners.values() if o.active and o.id not in {c.owner_id for c in escalated}
    )
    with sessions() as session, session.begin():
        repo.upsert_owners(
            session,
            1,
            [
                dataclasses.replace(owners[c.owner_id], manager_id=manager.id)
                for c in escalated
                if c.owner_id in owners
            ],
        )
    config = alerts_config(sandbox.hubspot_url)
    connector = connector_for(
        store, config, CONNECTION, now=AS_OF, environ=environ, rate_limits=False
    )
    try:
        outcome = raise_alerts(
            sessions,
            1,
            connector,
            config.agreements_of(CONNECTION),
            {a.id: a.alerts for a in config.agreements},
            now=AS_OF,
            notifier=Notifier.disabled(),
        )
    finally:
        connector.close()
    assert outcome.escalations_notified == 0
    tasks = {t["properties"]["hs_task_subject"]: t for t in sla_sync_tasks(portal)}
    for c in escalated:
        marker = task_marker(f"{c.agreement}:{c.lead_id}:{c.kind.value}:{c.number}:escalation")
        [subject] = [s for s in tasks if marker in s]
        assert subject.startswith("SLA breach escalated")
        assert tasks[subject]["properties"]["hubspot_owner_id"] == manager.id
        assert tasks[subject]["properties"]["hs_task_priority"] == "HIGH"


class _QuotaOnSecondCreate(_CrashAfterCreate):
    """The daily budget runs out before the second create is sent."""

    def create_task(self, request: TaskRequest) -> TaskResult:
        self._left -= 1
        if self._left == 0:
            raise QuotaExhaustedError("daily share spent")
        result: TaskResult = self._inner.create_task(request)
        return result


def test_quota_exhausted_during_alerts_ends_partial_and_the_next_run_finishes(
    portal: Portal, store: Engine, alerting: Any, environ: dict[str, str]
) -> None:
    first = _sync(store, alerting, environ, portal, AS_OF, wrap=_QuotaOnSecondCreate)
    assert first.outcome is RunOutcome.PARTIAL and (first.error or "").startswith("alerts:")
    assert first.alerts.tasks_created == 1
    with session_factory(store)() as session:
        assert len(repo.unfinished_outbox(session, 1)) == 1  # recorded, never sent

    second = _sync(store, alerting, environ, portal, LATER)
    assert second.outcome is RunOutcome.SUCCESS, second.error
    counts = markers_of(sla_sync_tasks(portal))
    assert set(counts.values()) == {1}
    assert len(counts) == 1 + second.alerts.tasks_created
    with session_factory(store)() as session:
        assert repo.unfinished_outbox(session, 1) == []
