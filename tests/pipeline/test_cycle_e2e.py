"""Whole cycles against the HubSpot emulator through the real connector, on SQLite and PostgreSQL.

Nothing of HTTP is mocked: the real ``HubSpotConnector`` (``hubspot-api-client``) talks to the
sandbox; values are checked by reading them back through HubSpot's API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hubspot import HubSpot
from sqlalchemy import Engine, func, select

from sla_sync.connectors.base import SlaField, SlaStatus
from sla_sync.definitions import SlaSyncConfig
from sla_sync.domain import LeadCycle
from sla_sync.pipeline.fields import desired_fields
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.models import ConfirmedValueRow, PushQueueRow, RunRow
from sla_sync.store.records import RunOutcome
from tests.pipeline.support import AS_OF, CONNECTION, Portal, crm_state, open_connector, sync

UPDATE_ROUTE = "batch/update"


def _cycles_by_lead(engine: Engine) -> dict[str, list[LeadCycle]]:
    with session_factory(engine)() as session:
        cid = repo.connection_ids(session)[CONNECTION]
        found: dict[str, list[LeadCycle]] = {}
        for cycle in repo.load_cycles(session, connection_id=cid):
            found.setdefault(cycle.lead_id, []).append(cycle)
        return found


def assert_crm_matches_store(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Every contact carries what its stored cycles say (read back through HubSpot's API, in
    canonical form); contacts without cycles carry nothing. Returns the raw SLA state."""
    state = crm_state(portal)
    cycles = _cycles_by_lead(store)
    connector = open_connector(store, config, environ)
    try:
        read_back = connector.read_fields(sorted(state))
    finally:
        connector.close()
    for contact in state:
        expected = desired_fields(cycles.get(contact, []), managed=False) or {}
        wanted = {k: v for k, v in expected.items() if v is not None}
        held = {k: v for k, v in read_back.get(contact, {}).items() if v is not None}
        stamp = held.pop(SlaField.UPDATED_AT, None)
        assert held == wanted, contact
        assert (stamp is not None) == bool(wanted), contact
    return state


def test_full_cycle_writes_the_sla_fields(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    report = sync(store, config, environ)

    assert report.outcome is RunOutcome.SUCCESS, report.error
    assert report.pull.records["contacts"] > 0
    assert report.evaluate.leads > 0
    assert report.push.confirmed > 0
    assert report.push.failed == 0
    state = assert_crm_matches_store(portal, store, config, environ)
    cycles = _cycles_by_lead(store)
    untouched = [c for c, values in state.items() if not values]
    assert untouched, "contacts that never became MQLs must not be written"
    statuses = {values.get("sla_sync_status") for values in state.values()} - {None}
    assert statuses <= {s.value for s in SlaStatus}
    assert len(statuses) >= 3  # a seeded portal has met, breached and open leads
    # Some hot NA leads are under both agreements: the one shown is picked deterministically.
    both = [c for c, cs in cycles.items() if {x.agreement for x in cs} == {"na", "hot"}]
    assert both
    # The ledger has the run with its counts and API calls.
    with session_factory(store)() as session:
        run = session.get(RunRow, report.run_id)
        assert run is not None
        assert run.outcome == "success"
        assert run.counts["records_written"] == report.push.confirmed
        assert run.api_calls["total"] == sum(report.api_calls.values()) > 0


def test_second_cycle_without_crm_changes_writes_nothing(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    first = sync(store, config, environ)
    assert first.push.confirmed > 0
    before = crm_state(portal)
    portal.reset_counters()

    # Later than the connector's safety lag, so the worker's own writes are in the window.
    second = sync(store, config, environ, now=portal.at(AS_OF + timedelta(minutes=2)))

    assert second.outcome is RunOutcome.SUCCESS, second.error
    # The worker's own writes came back (modification dates bumped) but changed no input ...
    assert second.pull.records["contacts"] > 0
    assert second.pull.changed_leads == 0
    # ... so nothing is written.
    assert second.push.sent == 0
    assert portal.count(UPDATE_ROUTE) == 0
    assert crm_state(portal) == before


def test_dry_run_writes_nothing_and_shows_what_a_real_run_sends(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    dry = sync(store, config, environ, dry_run=True)

    assert dry.outcome is RunOutcome.SUCCESS, dry.error
    assert dry.changes
    assert portal.count(UPDATE_ROUTE) == 0
    assert all(not values for values in crm_state(portal).values())
    with session_factory(store)() as session:
        assert session.scalar(select(func.count()).select_from(ConfirmedValueRow)) == 0
        queued = session.scalar(select(func.count()).select_from(PushQueueRow))
    assert queued == dry.push.considered  # the dry run left the push queue as it was

    real = sync(store, config, environ)
    assert sorted(u.lead_id for u in real.changes) == sorted(u.lead_id for u in dry.changes)
    assert {u.lead_id: dict(u.values) for u in real.changes} == {
        u.lead_id: dict(u.values) for u in dry.changes
    }


def test_a_write_refused_past_retries_is_sent_again_on_the_next_cycle(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    first = sync(store, config, environ)
    open_leads = [
        u.lead_id
        for u in first.changes
        if u.values.get(SlaField.STATUS) in (SlaStatus.ON_TRACK.value, SlaStatus.AT_RISK.value)
    ]
    assert open_leads
    target = open_leads[0]
    # A rep rejects the lead: its open cycles are decided, its SLA status changes.
    HubSpot(access_token=portal.token, host=portal.url).crm.contacts.basic_api.update(
        target, {"properties": {"hs_lead_status": "UNQUALIFIED"}}
    )
    later = portal.at(AS_OF + timedelta(minutes=5))
    # HubSpot keeps refusing the write (429 with Retry-After: 0, more times than the client
    # retries): the write call fails; the run says so and keeps the record queued.
    portal.control(
        "POST",
        "faults",
        {
            "kind": "status",
            "status": 429,
            "retry_after": 0,
            "path": "/crm/v3/objects/contacts/batch/update",
            "method": "POST",
            "times": 20,
        },
    )

    second = sync(store, config, environ, now=later)

    assert second.outcome is RunOutcome.PARTIAL
    assert second.error and "1 lead(s) left queued" in second.error
    [change] = second.changes
    assert change.lead_id == target
    new_status = change.values[SlaField.STATUS]
    assert new_status not in (SlaStatus.ON_TRACK.value, SlaStatus.AT_RISK.value)
    assert second.push.failed == 1
    assert crm_state(portal)[target]["sla_sync_status"] != new_status
    portal.control("DELETE", "faults")
    portal.reset_counters()

    third = sync(store, config, environ, now=portal.at(later + timedelta(minutes=2)))

    assert third.pull.changed_leads == 0
    assert [u.lead_id for u in third.changes] == [target]
    assert third.push.confirmed == 1
    assert portal.count(UPDATE_ROUTE) == 1
    assert crm_state(portal)[target]["sla_sync_status"] == new_status
    fourth = sync(store, config, environ, now=portal.at(later + timedelta(minutes=4)))
    assert fourth.push.sent == 0


def test_a_deleted_record_is_dropped_not_retried(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    dry = sync(store, config, environ, dry_run=True)
    gone = dry.changes[0].lead_id
    HubSpot(access_token=portal.token, host=portal.url).crm.contacts.basic_api.archive(gone)

    # The push finds the record gone (the pull saw nothing yet: the archive is newer than
    # the run's window); it is dropped, not retried.
    report = sync(store, config, environ)

    assert report.push.dropped == 1
    assert gone in report.push.errors
    with session_factory(store)() as session:
        assert session.scalar(select(func.count()).select_from(PushQueueRow)) == 0
    again = sync(store, config, environ, now=portal.at(AS_OF + timedelta(minutes=2)))
    assert gone not in {u.lead_id for u in again.changes}


def test_quota_spent_earlier_today_ends_the_run_partial_and_keeps_state(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    first = sync(store, config, environ)
    assert first.outcome is RunOutcome.SUCCESS
    with session_factory(store)() as session:
        cid = repo.connection_ids(session)[CONNECTION]
        cursors = repo.get_cursors(session, cid)
        # Earlier runs today spent more than the share of any daily quota.
        run_id = repo.start_run(
            session, kind="sync", started_at=AS_OF - timedelta(hours=1), connection_id=cid
        )
        repo.finish_run(
            session,
            run_id,
            outcome=RunOutcome.SUCCESS,
            ended_at=AS_OF - timedelta(hours=1),
            api_calls={"total": 5_000_000},
        )
        session.commit()
    portal.reset_counters()

    report = sync(store, config, environ, now=portal.at(AS_OF + timedelta(minutes=2)))

    assert report.outcome is RunOutcome.PARTIAL
    assert report.error is not None and "daily API budget" in report.error
    with session_factory(store)() as session:
        assert repo.get_cursors(session, cid) == cursors
        [latest] = repo.recent_runs(session, connection_id=cid, limit=1)
    assert latest.outcome is RunOutcome.PARTIAL
    # The next UTC day the budget is fresh and the run succeeds.
    tomorrow = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
    assert sync(store, config, environ, now=portal.at(tomorrow)).outcome is RunOutcome.SUCCESS


def test_deleted_and_merged_leads_cancel_their_cycles(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    first = sync(store, config, environ)
    managed = sorted(u.lead_id for u in first.changes)
    deleted, loser, survivor = managed[:3]
    portal.at(AS_OF + timedelta(minutes=1))
    portal.control("POST", "hubspot/archive", {"type": "contacts", "ids": [deleted]})
    portal.control("POST", "hubspot/merge", {"primary": survivor, "merged": loser})

    # Past the archived stream's period (it lists the recycle bin every 15 minutes).
    report = sync(store, config, environ, now=portal.at(AS_OF + timedelta(minutes=20)))

    assert report.outcome is RunOutcome.SUCCESS, report.error
    with session_factory(store)() as session:
        cid = repo.connection_ids(session)[CONNECTION]
        leads = repo.load_leads(session, cid, [deleted, loser])
    assert leads[deleted].deleted_at is not None
    assert leads[loser].merged_into == survivor
    cycles = _cycles_by_lead(store)
    for lead_id in (deleted, loser):
        assert all(c.state.value not in ("running", "paused") for c in cycles.get(lead_id, []))
    # Nothing is written on records that are gone; the survivor was re-evaluated.
    assert {deleted, loser}.isdisjoint(u.lead_id for u in report.changes)
    assert report.push.failed == 0
    assert report.evaluate.leads >= 3


def test_daily_limit_mid_pull_ends_partial_then_the_next_run_converges(
    portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    # HubSpot's own daily counter runs out after a dozen calls (the search limit is lifted:
    # the sandbox clock is frozen, its one-second windows never pass).
    portal.control("POST", "ratelimits", {"tier": 250, "daily": 12, "search_per_second": 1000})

    partial = sync(store, config, environ)

    assert partial.outcome is RunOutcome.PARTIAL, partial.error
    assert sum(partial.pull.pages.values()) > 0
    with session_factory(store)() as session:
        cid = repo.connection_ids(session)[CONNECTION]
        cursors = repo.get_cursors(session, cid)
        assert cursors  # the pages stored before the limit keep their cursors
        assert session.scalars(select(RunRow.outcome)).all() == ["partial"]
    assert portal.count(UPDATE_ROUTE) == 0  # the push waits for the next run

    portal.control("POST", "ratelimits", {"tier": "off", "reset_counters": True})
    resumed = sync(store, config, environ)

    assert resumed.outcome is RunOutcome.SUCCESS, resumed.error
    assert resumed.push.confirmed > 0
    assert_crm_matches_store(portal, store, config, environ)
    later = sync(store, config, environ, now=portal.at(AS_OF + timedelta(minutes=2)))
    assert later.push.sent == 0
