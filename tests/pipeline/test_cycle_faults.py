"""Whole cycles under vendor faults, on SQLite and PostgreSQL.

The real ``HubSpotConnector`` talks over real HTTP to the sandbox emulator, whose fault API
injects 429 storms, 5xx bursts, commit-then-fail writes and expired tokens; records are also
changed through the API while a run pages through them. Every test compares what a user sees
(the SLA properties read back through HubSpot's API, the store, the run ledger) with a
fault-free control run on the same deterministic portal.

The connector is built here as :func:`sla_sync.pipeline.connect.open_connector` builds it (the
token re-read through ``read_secret`` on every 401), with millisecond backoffs and, where a test
needs several pages, a small search page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from sla_sync.connectors.base import SlaField, SlaStatus
from sla_sync.connectors.hubspot.connector import HubSpotConnector
from sla_sync.connectors.hubspot.pull import PullSettings
from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.connect import quota_spent_today
from sla_sync.pipeline.cycle import CycleReport, run_cycle
from sla_sync.pipeline.progress import Progress
from sla_sync.pipeline.sync import init_schemas
from sla_sync.settings import read_secret
from sla_sync.store import repositories as repo
from sla_sync.store.engine import create_engine, session_factory
from sla_sync.store.migrate import upgrade
from sla_sync.store.models import (
    ConfirmedValueRow,
    LeadCycleRow,
    LeadRow,
    OwnerRow,
    PushQueueRow,
    QuarantinedRecordRow,
    TouchRow,
)
from sla_sync.store.records import RunOutcome, RunRecord
from tests.pipeline.support import AS_OF, CONNECTION, TOKEN_ENV, Portal, crm_state

SEARCH_PATH = "/crm/v3/objects/*/search"
UPDATE_PATH = "/crm/v3/objects/contacts/batch/update"
UPDATE_ROUTE = "batch/update"
OPEN = (SlaStatus.ON_TRACK.value, SlaStatus.AT_RISK.value)
MAX_ATTEMPTS = 4
# Milliseconds, so a test with a dozen retries spends no visible time waiting.
FAST_RETRY: dict[str, float] = {"backoff_base": 0.001, "backoff_cap": 0.01, "max_wait": 10.0}


# --------------------------------------------------------------------------- helpers


def cycle(
    store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    *,
    now: datetime = AS_OF,
    page_size: int = 200,
    progress: Callable[[Progress], None] | None = None,
    **options: Any,
) -> CycleReport:
    """One cycle through a connector built like ``open_connector`` builds it (token re-read
    from ``environ`` -- a dict the test may change -- on a 401), with tiny retry backoffs."""
    spec = config.connection(CONNECTION)
    variable = spec.token_env

    def token_source() -> str:
        return read_secret(variable, environ)

    connector = HubSpotConnector(
        token_source=token_source,
        base_url=spec.base_url,
        api_tier=spec.api_tier,
        daily_quota_share=spec.daily_quota_share,
        spent_today_before=quota_spent_today(store, CONNECTION, now=now),
        rate_limits=False,  # the emulator's limits are off; faults are injected instead
        pull_settings=PullSettings(
            lead_fields=config.lead_fields(CONNECTION),
            history_fields=config.history_fields(CONNECTION),
            page_size=page_size,
        ),
        connection=spec.name,
        max_attempts=MAX_ATTEMPTS,
        **FAST_RETRY,
    )
    try:
        return run_cycle(
            store, config, CONNECTION, connector, now=lambda: now, progress=progress, **options
        )
    finally:
        connector.close()


def snapshot(engine: Engine) -> dict[str, Any]:
    """What the store holds about the CRM and the SLA outcome (ids and bookkeeping instants
    left out): comparable across SQLite and PostgreSQL."""
    with session_factory(engine)() as session:
        leads = {
            r.crm_id: (
                r.owner_crm_id,
                r.stage,
                r.status,
                tuple(sorted(r.fields.items())),
                r.created_at,
                r.merged_into,
                r.deleted_at,
                r.modified_at,
            )
            for r in session.scalars(select(LeadRow))
        }
        cycles = {
            (r.lead_crm_id, r.agreement, r.kind, r.number): (
                r.state,
                r.started_at,
                r.tier,
                r.deadline_at,
                r.first_touch_at,
                r.breached_at,
                r.stopped_at,
                r.attempts,
                r.cancel_reason,
            )
            for r in session.scalars(select(LeadCycleRow))
        }
        touches = {
            r.crm_id: (r.lead_crm_id, r.occurred_at) for r in session.scalars(select(TouchRow))
        }
        confirmed = {
            (r.crm_id, r.field): r.value for r in session.scalars(select(ConfirmedValueRow))
        }
        owners = set(session.scalars(select(OwnerRow.crm_id)))
        queued = session.scalar(select(func.count()).select_from(PushQueueRow))
    return {
        "owners": owners,
        "leads": leads,
        "cycles": cycles,
        "touches": touches,
        "confirmed": confirmed,
        "push_queue": queued,
    }


def ledger_entry(store: Engine, run_id: str) -> RunRecord:
    """The run's ledger entry, as ops reads it (``recent_runs``)."""
    with session_factory(store)() as session:
        cid = repo.connection_ids(session)[CONNECTION]
        runs = repo.recent_runs(session, connection_id=cid, limit=50)
    [entry] = [r for r in runs if r.id == run_id]
    return entry


def canonical_crm(
    store: Engine, config: SlaSyncConfig, environ: dict[str, str], lead_ids: list[str]
) -> dict[str, dict[SlaField, str]]:
    """The SLA fields HubSpot holds (canonical form, ``updated_at`` and empty ones left out)."""
    spec = config.connection(CONNECTION)
    connector = HubSpotConnector(
        token_source=lambda: read_secret(spec.token_env, environ),
        base_url=spec.base_url,
        rate_limits=False,
        connection=spec.name,
    )
    try:
        held = connector.read_fields(lead_ids)
    finally:
        connector.close()
    return {
        lead: {f: v for f, v in values.items() if v is not None and f is not SlaField.UPDATED_AT}
        for lead, values in held.items()
    }


def crm_init(config: SlaSyncConfig, environ: dict[str, str]) -> None:
    [report] = init_schemas(config, [CONNECTION], environ=environ)
    assert report.error is None, report.error


def fresh_store(tmp_path: Path, name: str) -> Engine:
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    return create_engine(url)


@dataclass(frozen=True)
class Control:
    """A fault-free cycle at ``AS_OF`` on the freshly seeded portal (fresh SQLite store)."""

    crm: dict[str, dict[str, Any]]
    store: dict[str, Any]
    api_calls: dict[str, Any]
    written: int


_CONTROL: list[Control] = []


@pytest.fixture
def control(
    portal: Portal,
    config: SlaSyncConfig,
    environ: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Control:
    """The control run (computed once per session: the seed is deterministic), with the portal
    seeded again afterwards for the test."""
    if not _CONTROL:
        engine = fresh_store(tmp_path_factory.mktemp("control"), "control.db")
        try:
            report = cycle(engine, config, environ)
            assert report.outcome is RunOutcome.SUCCESS, report.error
            assert report.push.confirmed > MAX_ATTEMPTS
            _CONTROL.append(
                Control(
                    crm=crm_state(portal),
                    store=snapshot(engine),
                    api_calls=dict(ledger_entry(engine, report.run_id).api_calls),
                    written=report.push.confirmed,
                )
            )
        finally:
            engine.dispose()
        portal.reset()
        crm_init(config, environ)
    return _CONTROL[0]


def open_leads(control: Control) -> list[str]:
    """Leads whose SLA clock is running in the control run, by ascending numeric id."""
    found = [c for c, v in control.crm.items() if v.get("sla_sync_status") in OPEN]
    return sorted(found, key=int)


def assert_converged(portal: Portal, store: Engine, control: Control) -> None:
    assert crm_state(portal) == control.crm
    assert snapshot(store) == control.store


def total_retries(api_calls: dict[str, Any]) -> int:
    return sum(api_calls["retries"].values())


# --------------------------------------------------------------------------- 429 storms


@pytest.mark.parametrize("retry_after", [None, 1], ids=["no-retry-after", "retry-after"])
def test_429_storm_during_pull_is_ridden_out(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    control: Control,
    retry_after: int | None,
) -> None:
    storm = 3  # in a row: the first search call is refused three times, then answered
    portal.control(
        "POST",
        "faults",
        {
            "kind": "status",
            "status": 429,
            "retry_after": retry_after,
            "path": SEARCH_PATH,
            "method": "POST",
            "times": storm,
        },
    )

    started = time.monotonic()
    report = cycle(store, config, environ)
    elapsed = time.monotonic() - started

    assert report.outcome is RunOutcome.SUCCESS, report.error
    assert portal.control("GET", "faults")["faults"] == []  # the storm really happened
    if retry_after is not None:
        assert elapsed >= storm * retry_after  # HubSpot's Retry-After was honoured
    assert_converged(portal, store, control)
    # The ledger shows the storm: the refused attempts and their retries, on search.
    entry = ledger_entry(store, report.run_id)
    assert entry.outcome is RunOutcome.SUCCESS
    assert entry.api_calls["rate_limited"] == storm
    assert entry.api_calls["retries"].get("search") == storm
    assert total_retries(entry.api_calls) == storm
    assert entry.api_calls["calls"]["search"] == control.api_calls["calls"]["search"] + storm
    assert entry.api_calls["total"] == control.api_calls["total"] + storm
    assert control.api_calls["rate_limited"] == 0


# --------------------------------------------------------------------------- 5xx


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [(SEARCH_PATH, "search"), (UPDATE_PATH, "write")],
    ids=["search", "update"],
)
def test_5xx_burst_is_retried_and_the_cycle_succeeds(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    control: Control,
    path: str,
    endpoint: str,
) -> None:
    burst = MAX_ATTEMPTS - 1  # one call fails all but its last attempt
    portal.control(
        "POST",
        "faults",
        [
            {"kind": "status", "status": status, "path": path, "method": "POST", "times": 1}
            for status in (500, 502, 503)[:burst]
        ],
    )

    report = cycle(store, config, environ)

    assert report.outcome is RunOutcome.SUCCESS, report.error
    assert report.push.failed == 0
    assert_converged(portal, store, control)
    entry = ledger_entry(store, report.run_id)
    assert entry.api_calls["retries"] == {endpoint: burst}
    assert entry.api_calls["total"] == control.api_calls["total"] + burst


def test_persistent_5xx_on_write_fails_the_records_then_the_next_run_converges(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    control: Control,
) -> None:
    portal.control(
        "POST",
        "faults",
        {"kind": "status", "status": 503, "path": UPDATE_PATH, "method": "POST", "times": None},
    )

    failing = cycle(store, config, environ)

    # The CRM refuses every write: the run stops at the first failed call, says so, and ends
    # partial; the rest of the queue waits (an outage costs one call's retries, not one per lead).
    assert failing.outcome is RunOutcome.PARTIAL
    assert failing.error and "write call failed" in failing.error
    assert f"{control.written} lead(s) left queued" in failing.error
    assert failing.push.calls == 1
    assert failing.push.confirmed == 0
    assert failing.push.failed == failing.push.sent == min(100, control.written)
    assert all(
        f"HubSpot connection '{CONNECTION}'" in e and "503" in e
        for e in failing.push.errors.values()
    )
    entry = ledger_entry(store, failing.run_id)
    assert entry.outcome is RunOutcome.PARTIAL
    assert entry.counts["records_written"] == 0
    # The one write call was tried MAX_ATTEMPTS times and given up on.
    assert portal.count(UPDATE_ROUTE) == MAX_ATTEMPTS
    # Nothing the CRM did not confirm counts as written; every record stays queued, and an
    # outage counts no failed attempt against the records (they are not to blame).
    assert all(not values for values in crm_state(portal).values())
    with session_factory(store)() as session:
        assert session.scalar(select(func.count()).select_from(ConfirmedValueRow)) == 0
        queue = session.scalars(select(PushQueueRow)).all()
    assert len(queue) == control.written
    assert all(q.attempts == 0 for q in queue)

    # The outage lasts many cycles: nothing is ever quarantined for it.
    for _ in range(3):
        outage = cycle(store, config, environ)
        assert outage.outcome is RunOutcome.PARTIAL
        assert outage.push.confirmed == outage.push.quarantined == 0
    with session_factory(store)() as session:
        assert session.scalar(select(func.count()).select_from(PushQueueRow)) == control.written
        assert session.scalar(select(func.count()).select_from(QuarantinedRecordRow)) == 0

    portal.control("DELETE", "faults")
    portal.reset_counters()
    retry = cycle(store, config, environ)

    assert retry.outcome is RunOutcome.SUCCESS, retry.error
    assert retry.push.confirmed == control.written
    assert retry.push.failed == 0
    # Still batched after the outage: ceil(written / 100) calls.
    assert portal.count(UPDATE_ROUTE) == -(-control.written // 100)
    assert_converged(portal, store, control)
    portal.reset_counters()
    later = cycle(store, config, environ, now=portal.at(AS_OF + timedelta(minutes=2)))
    assert later.push.sent == 0
    assert portal.count(UPDATE_ROUTE) == 0


# --------------------------------------------------------------------------- commit then fail


def test_write_applied_but_answered_5xx_is_not_confirmed_and_converges(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    control: Control,
) -> None:
    # HubSpot applies the first write call every time but answers 502 each time, until the
    # client gives up on that call: its records' values are in the CRM, unconfirmed.
    portal.control(
        "POST",
        "faults",
        {
            "kind": "commit_then_fail",
            "status": 502,
            "path": UPDATE_PATH,
            "method": "POST",
            "times": MAX_ATTEMPTS,
        },
    )

    first = cycle(store, config, environ)

    # The first write call outlived its retries: the run stops there and ends partial.
    assert first.outcome is RunOutcome.PARTIAL
    unanswered = sorted(first.push.errors)
    assert len(unanswered) == first.push.failed == first.push.sent == min(100, control.written)
    assert first.push.confirmed == 0
    held = crm_state(portal)
    assert all(held[lead] == control.crm[lead] for lead in unanswered)  # the CRM has them ...
    with session_factory(store)() as session:
        cid = repo.connection_ids(session)[CONNECTION]
        confirmed = repo.load_confirmed(session, cid, "lead", unanswered)
    assert confirmed == {}  # ... but nothing was confirmed without an answer

    portal.reset_counters()
    second = cycle(store, config, environ)

    assert second.outcome is RunOutcome.SUCCESS, second.error
    # Every queued lead is sent once: the unanswered ones again, the others for the first time.
    assert len(second.changes) == control.written
    assert set(unanswered) <= {u.lead_id for u in second.changes}
    assert second.push.confirmed == control.written
    assert portal.count(UPDATE_ROUTE) == -(-control.written // 100)
    assert_converged(portal, store, control)
    portal.reset_counters()
    third = cycle(store, config, environ, now=portal.at(AS_OF + timedelta(minutes=2)))
    assert third.push.sent == 0  # no endless re-sends
    assert portal.count(UPDATE_ROUTE) == 0


# --------------------------------------------------------------------------- tokens


@pytest.fixture
def token_file(portal: Portal, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """The worker's own token (not the demo token the test's helpers read with), registered in
    the emulator and handed over as ``<VAR>_FILE``."""
    token = f"pat-na1-worker-{secrets.token_hex(8)}"
    portal.control("POST", "hubspot/tokens", {"token": token})
    path = tmp_path / "hubspot-token"
    path.write_text(token + "\n", encoding="utf-8")
    yield {f"{TOKEN_ENV}_FILE": str(path)}, path


def _on_contacts_page(
    action: Callable[[], None], after_pages: int = 1
) -> Callable[[Progress], None]:
    """A progress hook running ``action`` once, after ``after_pages`` contacts pages were
    stored (the next page is read after it)."""
    seen = [0]

    def hook(event: Progress) -> None:
        if event.step == "pull" and event.stream == "contacts":
            seen[0] += 1
            if seen[0] == after_pages:
                action()

    return hook


def test_token_rotated_on_disk_mid_run_lets_the_run_continue(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    control: Control,
    token_file: tuple[dict[str, str], Path],
) -> None:
    environ, path = token_file
    old = path.read_text(encoding="utf-8").strip()
    new = f"pat-na1-rotated-{secrets.token_hex(8)}"

    def rotate() -> None:
        portal.control("POST", "hubspot/tokens", {"token": new})
        path.write_text(new + "\n", encoding="utf-8")
        portal.control("POST", f"hubspot/tokens/{old}/revoke")

    report = cycle(store, config, environ, page_size=25, progress=_on_contacts_page(rotate))

    assert report.outcome is RunOutcome.SUCCESS, report.error
    assert report.pull.pages["contacts"] > 2
    assert_converged(portal, store, control)
    # One 401, answered by re-reading the secret file and trying again with the new token.
    entry = ledger_entry(store, report.run_id)
    assert total_retries(entry.api_calls) == 1


def test_token_expired_mid_run_fails_keeps_state_and_recovers(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    control: Control,
    token_file: tuple[dict[str, str], Path],
) -> None:
    environ, path = token_file
    token = path.read_text(encoding="utf-8").strip()
    stored_before: list[int] = []

    def expire() -> None:
        with session_factory(store)() as session:
            stored_before.append(session.scalar(select(func.count()).select_from(LeadRow)) or 0)
        portal.control("POST", f"hubspot/tokens/{token}/expire")

    failed = cycle(store, config, environ, page_size=25, progress=_on_contacts_page(expire, 2))

    assert failed.outcome is RunOutcome.FAILED
    assert failed.error is not None
    entry = ledger_entry(store, failed.run_id)
    assert entry.outcome is RunOutcome.FAILED
    assert entry.error == failed.error
    assert f"'{CONNECTION}'" in failed.error  # names the connection ...
    assert "token" in failed.error.lower()  # ... says what to fix ...
    assert token not in failed.error  # ... and never shows the credential
    assert token not in str(entry.counts) + str(entry.api_calls)
    # What was stored before the token expired stays, with its cursor; nothing was written.
    [before] = stored_before
    assert 0 < before < len(control.store["leads"])
    with session_factory(store)() as session:
        assert session.scalar(select(func.count()).select_from(LeadRow)) == before
        assert session.scalar(select(func.count()).select_from(OwnerRow)) > 0
        cid = repo.connection_ids(session)[CONNECTION]
        assert "contacts" in repo.get_cursors(session, cid)
    assert portal.count(UPDATE_ROUTE) == 0
    assert all(not values for values in crm_state(portal).values())

    # Ops rotates the secret; the next run resumes where the failed one stopped.
    new = f"pat-na1-rotated-{secrets.token_hex(8)}"
    portal.control("POST", "hubspot/tokens", {"token": new})
    path.write_text(new + "\n", encoding="utf-8")
    resumed = cycle(store, config, environ, page_size=25)

    assert resumed.outcome is RunOutcome.SUCCESS, resumed.error
    assert_converged(portal, store, control)


# --------------------------------------------------------------------------- changes mid-run


def test_records_changed_between_pages_are_all_in_the_next_cycle(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    control: Control,
    tmp_path: Path,
) -> None:
    candidates = open_leads(control)
    changed: dict[str, str] = {}

    def reject_two_leads() -> None:
        # One lead already stored by this run, one it has not reached yet: a rep rejects both.
        with session_factory(store)() as session:
            cid = repo.connection_ids(session)[CONNECTION]
            stored = set(repo.load_leads(session, cid, candidates))
        if changed or not stored or len(stored) == len(candidates):
            return
        early = max(stored, key=int)
        late = max(set(candidates) - stored, key=int)
        for lead in (early, late):
            resp = portal.http.patch(
                f"{portal.url}/crm/v3/objects/contacts/{lead}",
                json={"properties": {"hs_lead_status": "UNQUALIFIED"}},
                headers={"Authorization": f"Bearer {portal.token}"},
                timeout=30,
            )
            assert resp.status_code == 200, resp.text
        changed[early], changed[late] = "early", "late"

    def hook(event: Progress) -> None:
        if event.step == "pull" and event.stream == "contacts":
            reject_two_leads()

    first = cycle(store, config, environ, page_size=25, progress=hook)

    assert first.outcome is RunOutcome.SUCCESS, first.error
    assert changed, "the changes were never made between pages"
    leads = sorted(changed)
    [early] = [k for k, v in changed.items() if v == "early"]
    [late] = [k for k, v in changed.items() if v == "late"]
    after_first = snapshot(store)["leads"]
    # Both changes are newer than this run's window; its leads were judged as they were.
    later = portal.at(AS_OF + timedelta(minutes=2))
    # The reference: a fresh full sync of the portal as it is now (a dry run: it writes nothing,
    # and it reads before the next cycle's own writes bump the modification dates).
    reference_engine = fresh_store(tmp_path, "reference.db")
    try:
        reference = cycle(reference_engine, config, environ, now=later, dry_run=True)
        assert reference.outcome is RunOutcome.SUCCESS, reference.error
        reference_store = snapshot(reference_engine)
    finally:
        reference_engine.dispose()
    assert set(changed) <= set(reference_store["leads"])
    # The first run skipped nothing behind the records that moved: it has every lead but the
    # one modified (out of its window) before it got there, and the early one as it was.
    assert set(after_first) == set(reference_store["leads"]) - {late}
    assert after_first[early] != reference_store["leads"][early]

    second = cycle(store, config, environ, page_size=25, now=later)

    assert second.outcome is RunOutcome.SUCCESS, second.error
    assert set(leads) <= {u.lead_id for u in second.changes}
    # The store and the CRM hold what the reference gives: nothing was lost.
    mine = snapshot(store)
    assert mine["leads"] == reference_store["leads"]
    assert mine["touches"] == reference_store["touches"]
    wanted = {
        u.lead_id: {
            f: v for f, v in u.values.items() if v is not None and f is not SlaField.UPDATED_AT
        }
        for u in reference.changes
    }
    held = canonical_crm(store, config, environ, sorted(wanted))
    assert held == wanted
    for lead in leads:
        assert held[lead][SlaField.STATUS] not in OPEN
        assert control.crm[lead]["sla_sync_status"] in OPEN
    assert mine["push_queue"] == 0
