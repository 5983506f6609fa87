"""The endpoint server over real HTTP: status codes and JSON of /healthz and /readyz, the
Prometheus text of /metrics, errors, concurrency and shutdown."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_sync.pipeline.cycle import CycleReport
from sla_sync.runtime.health import HealthState, StoreStatus, store_check
from sla_sync.runtime.http import Server, serve
from sla_sync.runtime.metrics import Metrics
from sla_sync.store.engine import create_engine
from sla_sync.store.migrate import upgrade
from sla_sync.store.records import RunOutcome

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def get(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    """(status, content type, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["Content-Type"], exc.read()


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    status, content_type, body = get(url)
    assert content_type == "application/json"
    detail: dict[str, Any] = json.loads(body)
    return status, detail


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    return url


@pytest.fixture
def health(clock: FakeClock, store_url: str) -> Iterator[HealthState]:
    engine = create_engine(store_url)
    try:
        yield HealthState(
            {"hubspot-us": EVERY}, stale_after=3, clock=clock, store=store_check(engine)
        )
    finally:
        engine.dispose()


@pytest.fixture
def server(health: HealthState) -> Iterator[Server]:
    with serve("127.0.0.1", 0, health, Metrics()) as running:
        yield running


def test_healthz_and_readyz_follow_the_worker(
    server: Server, health: HealthState, clock: FakeClock
) -> None:
    status, detail = get_json(f"{server.url}/healthz")
    assert status == 503
    assert detail["problems"] == ["scheduler: not started"]
    status, detail = get_json(f"{server.url}/readyz")
    assert status == 503
    assert detail["store"]["ok"] is True

    health.scheduler_started()
    assert get_json(f"{server.url}/healthz")[0] == 200
    assert get_json(f"{server.url}/readyz") == (200, health.readyz()[1])

    ended = T0 + timedelta(minutes=1)
    health.cycle_finished(
        "hubspot-us",
        CycleReport("r1", "hubspot-us", T0, outcome=RunOutcome.SUCCESS, ended_at=ended),
    )
    clock.now = ended + EVERY * 3 + timedelta(seconds=1)  # cycles stopped
    status, detail = get_json(f"{server.url}/healthz")
    assert status == 503
    assert detail["status"] == "unhealthy"
    assert detail["connections"]["hubspot-us"]["last_run_id"] == "r1"
    assert detail["problems"][0].startswith("hubspot-us: last cycle finished 15m ago")
    assert get_json(f"{server.url}/readyz")[0] == 200  # ready is about the store, not cycles


def test_metrics_in_prometheus_text(health: HealthState) -> None:
    metrics = Metrics()
    metrics.observe_cycle(
        CycleReport(
            "r1",
            "hubspot-us",
            T0,
            outcome=RunOutcome.FAILED,
            ended_at=T0 + timedelta(seconds=3),
            api_calls={"search": 2},
        )
    )
    with serve("127.0.0.1", 0, health, metrics) as server:
        status, content_type, body = get(f"{server.url}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    text = body.decode()
    assert "# TYPE sla_sync_cycles_total counter" in text
    assert 'sla_sync_cycles_total{connection="hubspot-us",outcome="failed"} 1.0' in text
    assert 'sla_sync_api_calls_total{connection="hubspot-us",endpoint="search"} 2.0' in text
    assert "# TYPE sla_sync_cycle_duration_seconds histogram" in text


def test_unknown_paths_and_methods(server: Server) -> None:
    status, _, body = get(f"{server.url}/nope")
    assert status == 404
    assert json.loads(body) == {"error": "no endpoint /nope"}
    status, _, _ = get(f"{server.url}/healthz", method="POST")
    assert status == 405


def test_a_probe_that_raises_answers_503(clock: FakeClock) -> None:
    def broken() -> StoreStatus:
        raise RuntimeError("bug")

    health = HealthState({}, stale_after=1, clock=clock, store=broken)
    health.scheduler_started()
    with serve("127.0.0.1", 0, health, Metrics()) as server:
        status, detail = get_json(f"{server.url}/readyz")
        assert status == 503
        assert detail == {"status": "error", "problems": ["/readyz probe raised"]}
        assert get_json(f"{server.url}/healthz")[0] == 200  # the server lives on


def test_a_slow_probe_does_not_hold_up_the_others(clock: FakeClock) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_store() -> StoreStatus:
        entered.set()
        release.wait(10)
        return StoreStatus(ok=True, revision="x", head="x")

    health = HealthState({}, stale_after=1, clock=clock, store=slow_store)
    health.scheduler_started()
    with serve("127.0.0.1", 0, health, Metrics()) as server:
        answers: list[int] = []
        waiting = threading.Thread(target=lambda: answers.append(get(f"{server.url}/readyz")[0]))
        waiting.start()
        try:
            assert entered.wait(10)
            assert get(f"{server.url}/metrics")[0] == 200
            assert get(f"{server.url}/healthz")[0] == 200
            assert answers == []  # still waiting on the store
        finally:
            release.set()
            waiting.join(10)
        assert answers == [200]


def test_close_frees_the_port(health: HealthState) -> None:
    server = serve("127.0.0.1", 0, health, Metrics())
    port = server.port
    assert get(f"{server.url}/healthz")[0] == 503
    server.close()
    server.close()  # idempotent
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    # ... and the port can be bound again at once (a restarted worker takes it back).
    with serve("127.0.0.1", port, health, Metrics()) as again:
        assert again.port == port


def test_a_taken_port_raises(server: Server, health: HealthState) -> None:
    with pytest.raises(OSError):
        serve("127.0.0.1", server.port, health, Metrics())
