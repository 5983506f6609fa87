"""HealthState: what /healthz and /readyz say as the scheduler and cycles come and go.

The state is a pure component, so a fake clock drives it; readiness reads real SQLite stores
(migrated to head, to an older revision, never migrated, unreachable).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sla_sync.pipeline.cycle import CycleReport
from sla_sync.runtime.health import HealthState, store_check
from sla_sync.store.engine import create_engine
from sla_sync.store.migrate import head_revision, upgrade
from sla_sync.store.records import RunOutcome
from tests.pipeline.support import load_test_config

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def report(
    connection: str,
    ended_at: datetime,
    outcome: RunOutcome = RunOutcome.SUCCESS,
    error: str | None = None,
) -> CycleReport:
    return CycleReport(
        run_id=f"run-{connection}-{ended_at:%H%M%S}",
        connection=connection,
        started_at=ended_at - timedelta(seconds=20),
        outcome=outcome,
        ended_at=ended_at,
        error=error,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def health(clock: FakeClock) -> HealthState:
    state = HealthState({"hubspot-eu": EVERY, "hubspot-us": EVERY}, stale_after=3, clock=clock)
    state.scheduler_started()
    return state


def test_healthy_within_the_grace_period_then_unhealthy_without_a_finished_cycle(
    health: HealthState, clock: FakeClock
) -> None:
    clock.advance(EVERY * 3)
    ok, _ = health.healthz()
    assert ok

    clock.advance(timedelta(seconds=1))
    ok, detail = health.healthz()
    assert not ok
    assert detail["status"] == "unhealthy"
    assert len(detail["problems"]) == 2
    assert "hubspot-eu: no cycle finished since the scheduler started" in detail["problems"][0]


def test_unhealthy_when_cycles_stop_and_healthy_again_when_they_resume(
    health: HealthState, clock: FakeClock
) -> None:
    for _ in range(4):
        now = clock.advance(EVERY)
        health.cycle_finished("hubspot-eu", report("hubspot-eu", now))
        health.cycle_finished("hubspot-us", report("hubspot-us", now))
    assert health.healthz()[0]
    last = clock.now

    # hubspot-us keeps going; hubspot-eu stops. 15 minutes is still fine, a second more is not.
    for _ in range(3):
        now = clock.advance(EVERY)
        health.cycle_finished("hubspot-us", report("hubspot-us", now))
    assert health.healthz()[0]
    clock.advance(timedelta(seconds=1))
    ok, detail = health.healthz()
    assert not ok
    shown = last.isoformat().replace("+00:00", "Z")
    assert detail["problems"] == [f"hubspot-eu: last cycle finished 15m ago at {shown} (limit 15m)"]
    eu = detail["connections"]["hubspot-eu"]
    assert eu["ok"] is False
    assert eu["stale_after_seconds"] == 900
    assert detail["connections"]["hubspot-us"]["ok"] is True

    health.cycle_finished("hubspot-eu", report("hubspot-eu", clock.now))
    ok, detail = health.healthz()
    assert ok
    assert detail["problems"] == []
    assert detail["status"] == "ok"


def test_a_running_cycle_does_not_keep_the_worker_healthy(
    health: HealthState, clock: FakeClock
) -> None:
    health.cycle_finished("hubspot-us", report("hubspot-us", clock.now))
    health.cycle_finished("hubspot-eu", report("hubspot-eu", clock.now))
    health.cycle_started("hubspot-eu")
    started = clock.now
    clock.advance(EVERY * 3 + timedelta(seconds=1))
    health.cycle_finished("hubspot-us", report("hubspot-us", clock.now))

    ok, detail = health.healthz()
    assert not ok
    eu = detail["connections"]["hubspot-eu"]
    assert eu["running_since"] == started.isoformat().replace("+00:00", "Z")
    assert "hubspot-eu: last cycle finished" in detail["problems"][0]


def test_a_failing_run_streak_shows_in_healthz(health: HealthState, clock: FakeClock) -> None:
    error = "AuthenticationError: HubSpot rejected the token (401)"
    for n in range(1, 4):
        now = clock.advance(EVERY)
        health.cycle_finished("hubspot-us", report("hubspot-us", now))
        health.cycle_finished("hubspot-eu", report("hubspot-eu", now, RunOutcome.FAILED, error))
        ok, detail = health.healthz()
        eu = detail["connections"]["hubspot-eu"]
        assert eu["consecutive_failures"] == n
        assert eu["last_outcome"] == "failed"
        assert eu["last_error"] == error
        assert eu["last_success_at"] is None
        assert ok is (n < 3)
    assert detail["problems"] == [f"hubspot-eu: the last 3 cycles failed (last error: {error})"]

    # A partial cycle (the CRM throttling) breaks the streak: the worker does what it can.
    now = clock.advance(EVERY)
    health.cycle_finished("hubspot-eu", report("hubspot-eu", now, RunOutcome.PARTIAL, "quota"))
    health.cycle_finished("hubspot-us", report("hubspot-us", now))
    ok, detail = health.healthz()
    assert ok
    assert detail["connections"]["hubspot-eu"]["consecutive_failures"] == 0
    assert detail["connections"]["hubspot-eu"]["last_outcome"] == "partial"


def test_scheduler_not_running_is_unhealthy_and_not_ready(clock: FakeClock) -> None:
    state = HealthState({"hubspot-us": EVERY}, stale_after=3, clock=clock)
    ok, detail = state.healthz()
    assert not ok
    assert detail["problems"] == ["scheduler: not started"]
    assert state.readyz()[0] is False

    state.scheduler_started()
    state.cycle_finished("hubspot-us", report("hubspot-us", clock.now))
    assert state.healthz()[0]
    assert state.readyz()[0]  # no store check configured: the scheduler decides

    clock.advance(timedelta(seconds=30))
    state.scheduler_stopped()
    ok, detail = state.healthz()
    assert not ok
    assert detail["scheduler"]["running"] is False
    assert detail["problems"] == ["scheduler: stopped at 2026-11-23T09:00:30Z"]
    ok, detail = state.readyz()
    assert not ok
    assert detail["status"] == "not ready"


def test_a_cycle_of_an_unscheduled_connection_is_shown_but_never_stale(
    health: HealthState, clock: FakeClock
) -> None:
    health.cycle_finished("hubspot-eu", report("hubspot-eu", clock.now))
    health.cycle_finished("hubspot-us", report("hubspot-us", clock.now))
    health.cycle_finished("manual", report("manual", clock.now))
    clock.advance(EVERY * 2)
    ok, detail = health.healthz()
    assert ok
    assert detail["connections"]["manual"]["interval_seconds"] is None


def test_an_unfinished_report_is_refused(health: HealthState) -> None:
    with pytest.raises(ValueError, match="has not finished"):
        health.cycle_finished("hubspot-us", CycleReport("r1", "hubspot-us", START))


def test_reports_from_many_threads_while_probes_read(health: HealthState, clock: FakeClock) -> None:
    def work(connection: str) -> None:
        for i in range(200):
            outcome = RunOutcome.FAILED if i % 2 else RunOutcome.SUCCESS
            health.cycle_finished(connection, report(connection, clock.now, outcome))
            health.healthz()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("hubspot-eu", "x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, detail = health.healthz()
    assert detail["connections"]["hubspot-eu"]["consecutive_failures"] == 1
    assert set(detail["connections"]) == {"hubspot-eu", "hubspot-us", "x", "y"}


# --------------------------------------------------------------------------- readiness


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


def test_ready_when_the_store_is_at_head_and_the_scheduler_started(
    tmp_path: Path, clock: FakeClock
) -> None:
    url = _sqlite(tmp_path / "store.db")
    upgrade(url)
    engine = create_engine(url)
    try:
        state = HealthState({"c": EVERY}, stale_after=3, clock=clock, store=store_check(engine))
        ok, detail = state.readyz()
        assert not ok
        assert detail["problems"] == ["scheduler: not started"]
        assert detail["store"] == {
            "checked": True,
            "ok": True,
            "revision": head_revision(),
            "head": head_revision(),
            "error": None,
        }

        state.scheduler_started()
        ok, detail = state.readyz()
        assert ok
        assert detail["status"] == "ready"
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", [None, "0001"], ids=["never-migrated", "behind"])
def test_not_ready_until_the_store_is_migrated(
    tmp_path: Path, clock: FakeClock, revision: str | None
) -> None:
    url = _sqlite(tmp_path / "store.db")
    if revision is not None:
        upgrade(url, revision)
    engine = create_engine(url)
    try:
        state = HealthState({"c": EVERY}, stale_after=3, clock=clock, store=store_check(engine))
        state.scheduler_started()
        ok, detail = state.readyz()
        assert not ok
        assert detail["store"]["ok"] is False
        assert detail["store"]["revision"] == revision
        [problem] = detail["problems"]
        assert "run `sla-sync db upgrade`" in problem
        assert ("never migrated" if revision is None else f"at revision {revision}") in problem

        upgrade(url)
        assert state.readyz()[0]
    finally:
        engine.dispose()


def test_not_ready_when_the_store_does_not_answer(tmp_path: Path, clock: FakeClock) -> None:
    engine = create_engine(_sqlite(tmp_path))  # a directory: SQLite cannot open it
    try:
        state = HealthState({"c": EVERY}, stale_after=3, clock=clock, store=store_check(engine))
        state.scheduler_started()
        ok, detail = state.readyz()
        assert not ok
        assert detail["store"]["error"].startswith("OperationalError: ")
        assert detail["store"]["revision"] is None
    finally:
        engine.dispose()


def test_from_config_watches_every_connection_at_sync_every(clock: FakeClock) -> None:
    config = load_test_config("http://127.0.0.1:9")
    state = HealthState.from_config(config, clock=clock)
    state.scheduler_started()
    _, detail = state.healthz()
    names = [c.name for c in config.connections]
    assert list(detail["connections"]) == sorted(names)
    limit = (config.worker.sync_every * config.worker.stale_after).total_seconds()
    assert {c["stale_after_seconds"] for c in detail["connections"].values()} == {limit}


def test_a_cycle_that_raised_counts_as_failed(health: HealthState, clock: FakeClock) -> None:
    health.cycle_finished("hubspot-us", report("hubspot-us", clock.now))
    for _ in range(3):
        clock.advance(EVERY)
        health.cycle_started("hubspot-eu")
        health.cycle_raised("hubspot-eu", "KeyError: 'hs_object_id'")
    ok, detail = health.healthz()
    assert not ok
    eu = detail["connections"]["hubspot-eu"]
    assert eu["consecutive_failures"] == 3
    assert eu["running_since"] is None
    assert eu["last_finished_at"] == clock.now.isoformat().replace("+00:00", "Z")
    assert detail["problems"] == [
        "hubspot-eu: the last 3 cycles failed (last error: KeyError: 'hs_object_id')"
    ]
