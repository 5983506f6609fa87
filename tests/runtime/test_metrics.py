"""Metrics: cycle reports and stored figures as Prometheus series, scraped over real HTTP.

Unit tests observe CycleReports built by hand; the integration test runs a real cycle against
the sandbox HubSpot emulator (the real connector over HTTP) on SQLite and PostgreSQL, scrapes
``/metrics`` from a real server and checks the numbers against the report, the run ledger and
the figures the store holds.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.cycle import CycleReport
from sla_sync.pipeline.figures import agreement_figures
from sla_sync.pipeline.pull import PullOutcome
from sla_sync.pipeline.push import PushOutcome
from sla_sync.pipeline.sync import init_schemas
from sla_sync.runtime.health import HealthState
from sla_sync.runtime.http import serve
from sla_sync.runtime.metrics import Metrics
from sla_sync.sandbox.runner import Sandbox
from sla_sync.sla.periods import Period
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import RunOutcome
from tests.pipeline.support import AS_OF, CONNECTION, TOKEN_ENV, Portal, load_test_config, sync

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def a_report(
    *,
    outcome: RunOutcome = RunOutcome.SUCCESS,
    started_at: datetime = T0,
    seconds: float = 42.0,
    connection: str = "hubspot-us",
) -> CycleReport:
    return CycleReport(
        run_id="r-1",
        connection=connection,
        started_at=started_at,
        outcome=outcome,
        ended_at=started_at + timedelta(seconds=seconds),
        pull=PullOutcome(
            records={"owners": 3, "contacts": 120, "calls": 0, "archived": 0},
            pages={"owners": 1, "contacts": 2, "calls": 1, "archived": 0},
            quarantined=1,
        ),
        push=PushOutcome(considered=50, sent=40, confirmed=38, failed=2, quarantined=1),
        api_calls={"search": 4, "batch_read": 2, "batch_write": 3},
        rate_limited=2,
    )


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` over HTTP: ``{(sample name, sorted labels): value}``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


# --------------------------------------------------------------------------- unit


def test_a_cycle_report_becomes_counters_gauges_and_a_duration() -> None:
    clock = FakeClock(T0 + timedelta(minutes=10))
    metrics = Metrics(clock=clock)
    metrics.observe_cycle(a_report())
    metrics.observe_cycle(a_report(outcome=RunOutcome.PARTIAL, started_at=T0 + timedelta(5)))
    get = metrics.registry.get_sample_value
    c = {"connection": "hubspot-us"}

    assert get("sla_sync_cycles_total", {**c, "outcome": "success"}) == 1
    assert get("sla_sync_cycles_total", {**c, "outcome": "partial"}) == 1
    assert get("sla_sync_records_pulled_total", {**c, "stream": "contacts"}) == 240
    assert get("sla_sync_records_pulled_total", {**c, "stream": "calls"}) == 0
    assert get("sla_sync_fields_written_total", c) == 76
    assert get("sla_sync_api_calls_total", {**c, "endpoint": "batch_write"}) == 6
    assert get("sla_sync_rate_limited_total", c) == 4
    assert get("sla_sync_quarantined_total", c) == 4  # 1 pulled + 1 pushed, twice
    assert get("sla_sync_cycle_duration_seconds_count", c) == 2
    assert get("sla_sync_cycle_duration_seconds_sum", c) == 84
    assert get("sla_sync_cycle_duration_seconds_bucket", {**c, "le": "30.0"}) == 0
    assert get("sla_sync_cycle_duration_seconds_bucket", {**c, "le": "60.0"}) == 2
    assert (
        get("sla_sync_last_cycle_timestamp_seconds", {**c, "outcome": "success"})
        == (T0 + timedelta(seconds=42)).timestamp()
    )

    # Lag: from the start of the last *successful* cycle that read the stream (the partial
    # one does not move it); a stream with no page (archived: not due) has no series yet.
    assert get("sla_sync_cursor_lag_seconds", {**c, "stream": "contacts"}) == 600
    assert get("sla_sync_cursor_lag_seconds", {**c, "stream": "archived"}) is None
    clock.now += timedelta(minutes=5)
    assert get("sla_sync_cursor_lag_seconds", {**c, "stream": "contacts"}) == 900


def test_a_cycle_that_raised_counts_as_failed() -> None:
    metrics = Metrics()
    metrics.observe_raised("hubspot-us", T0)
    get = metrics.registry.get_sample_value
    c = {"connection": "hubspot-us", "outcome": "failed"}
    assert get("sla_sync_cycles_total", c) == 1
    assert get("sla_sync_last_cycle_timestamp_seconds", c) == T0.timestamp()


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe_cycle(a_report())
    assert first.registry.get_sample_value(
        "sla_sync_cycles_total", {"connection": "hubspot-us", "outcome": "success"}
    )
    assert (
        second.registry.get_sample_value(
            "sla_sync_cycles_total", {"connection": "hubspot-us", "outcome": "success"}
        )
        is None
    )


def test_an_unfinished_report_is_refused() -> None:
    with pytest.raises(ValueError, match="has not finished"):
        Metrics().observe_cycle(CycleReport("r", "c", T0))


def test_lag_and_last_cycle_are_restored_from_the_run_ledger(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    runs = [  # (start, outcome, pages)
        (T0, RunOutcome.SUCCESS, {"contacts": 1, "archived": 1}),
        (T0 + timedelta(minutes=5), RunOutcome.SUCCESS, {"contacts": 1, "archived": 0}),
        (T0 + timedelta(minutes=10), RunOutcome.FAILED, {"contacts": 1}),
    ]
    with sessions() as session, session.begin():
        cid = repo.ensure_connection(session, "hubspot-us", "hubspot")
        for started_at, outcome, pages in runs:
            run_id = repo.start_run(session, kind="sync", started_at=started_at, connection_id=cid)
            repo.finish_run(
                session,
                run_id,
                outcome=outcome,
                ended_at=started_at + timedelta(seconds=30),
                counts={"pages": pages},
            )
    metrics = Metrics(clock=FakeClock(T0 + timedelta(hours=2)))
    metrics.restore(migrated_engine)
    get = metrics.registry.get_sample_value
    c = {"connection": "hubspot-us"}
    assert get("sla_sync_cursor_lag_seconds", {**c, "stream": "contacts"}) == 2 * 3600 - 300
    assert get("sla_sync_cursor_lag_seconds", {**c, "stream": "archived"}) == 2 * 3600
    assert (
        get("sla_sync_last_cycle_timestamp_seconds", {**c, "outcome": "failed"})
        == (T0 + timedelta(minutes=10, seconds=30)).timestamp()
    )
    assert (
        get("sla_sync_last_cycle_timestamp_seconds", {**c, "outcome": "success"})
        == (T0 + timedelta(minutes=5, seconds=30)).timestamp()
    )
    assert get("sla_sync_cycles_total", {**c, "outcome": "success"}) is None


# --------------------------------------------------------------------------- integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture
def config(sandbox: Sandbox) -> SlaSyncConfig:
    return load_test_config(sandbox.hubspot_url)


@pytest.fixture
def environ(sandbox: Sandbox) -> dict[str, str]:
    return {TOKEN_ENV: sandbox.hubspot_token}


@pytest.fixture
def portal(sandbox: Sandbox, config: SlaSyncConfig, environ: dict[str, str]) -> Iterator[Portal]:
    with requests.Session() as http:
        portal = Portal(url=sandbox.hubspot_url, token=sandbox.hubspot_token, http=http)
        portal.reset(leads=120)
        [report] = init_schemas(config, [CONNECTION], environ=environ)
        assert report.error is None, report.error
        yield portal


def test_a_real_cycle_shows_in_metrics_over_http(
    portal: Portal, migrated_engine: Engine, config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    report = sync(migrated_engine, config, environ)
    assert report.outcome is RunOutcome.SUCCESS, report.error
    metrics = Metrics(clock=lambda: AS_OF + timedelta(minutes=3))
    metrics.observe_cycle(report)
    metrics.observe_attainment(migrated_engine, config, AS_OF)
    health = HealthState({CONNECTION: timedelta(minutes=5)}, stale_after=3, clock=lambda: AS_OF)

    with serve("127.0.0.1", 0, health, metrics) as server:
        assert server.port > 0
        samples = scrape(server.url)

    c = {"connection": CONNECTION}
    with session_factory(migrated_engine)() as session:
        [run] = repo.recent_runs(session, kind="sync")
    counts = run.counts
    assert value(samples, "sla_sync_cycles_total", **c, outcome="success") == 1
    assert counts["records"]["contacts"] > 0
    for stream, records in counts["records"].items():
        assert value(samples, "sla_sync_records_pulled_total", **c, stream=stream) == records
    assert counts["records_written"] > 0
    assert value(samples, "sla_sync_fields_written_total", **c) == counts["records_written"]
    assert run.api_calls["calls"]
    for endpoint, calls in run.api_calls["calls"].items():
        assert value(samples, "sla_sync_api_calls_total", **c, endpoint=endpoint) == calls
    assert value(samples, "sla_sync_rate_limited_total", **c) == run.api_calls["rate_limited"]
    assert value(samples, "sla_sync_quarantined_total", **c) == counts["quarantined"]
    assert value(samples, "sla_sync_cursor_lag_seconds", **c, stream="contacts") == 180
    assert value(samples, "sla_sync_last_cycle_timestamp_seconds", **c, outcome="success") == (
        run.ended_at.timestamp() if run.ended_at else None
    )
    assert value(samples, "sla_sync_cycle_duration_seconds_count", **c) == 1

    # The attainment gauges are the store's figures for the current period, as every other
    # reader of figures (the demo, the weekly report) sees them.
    with session_factory(migrated_engine)() as session:
        cid = repo.connection_ids(session)[CONNECTION]
        for policy in config.agreement_policies():
            figures = agreement_figures(session, cid, policy, as_of=AS_OF)
            assert figures.period == Period.containing(AS_OF, policy.period, policy.timezone)
            total = figures.total
            assert total is not None and total.speed.pct is not None
            a = {"agreement": policy.id}
            for metric, pct in (
                ("speed", total.speed.pct),
                ("depth", total.depth.pct),
                ("acceptance", total.acceptance.pct),
                ("marketing", total.marketing_pct),
            ):
                shown = value(samples, "sla_sync_attainment_ratio", **a, metric=metric)
                assert shown == (None if pct is None else pytest.approx(pct / 100)), metric
            assert value(samples, "sla_sync_pace_index", **a) == (
                None if total.pace_index is None else pytest.approx(total.pace_index)
            )
