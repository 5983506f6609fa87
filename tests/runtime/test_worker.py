"""The worker wired (``run_worker``) against the sandbox: a resident worker syncs at start,
catches up the missed close and report only after that first cycle, serves /healthz, and stops
with status 0; ``--once`` does the same work and exits with the sync's status."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sla_sync.definitions import load_config_text
from sla_sync.runtime.context import set_context
from sla_sync.runtime.worker import WorkerOptions, run_worker
from sla_sync.settings import Settings
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import RunOutcome
from tests.pipeline.support import CONFIG_FILE, Portal
from tests.runtime.support import worker_config_text


@pytest.fixture(autouse=True)
def _no_context_left() -> Iterator[None]:
    yield
    set_context(None)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_resident_worker_syncs_then_catches_up_then_stops_cleanly(
    portal: Portal, store: Engine, environ: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    config = load_config_text(worker_config_text(portal.url, port=port), source=str(CONFIG_FILE))
    settings = Settings(data_dir=tmp_path, database_url=store.url.render_as_string(False))
    stopping = threading.Event()
    status: list[int] = []
    worker = threading.Thread(
        target=lambda: status.append(
            run_worker(
                config,
                settings,
                options=WorkerOptions(lock_check_every=0.2),
                environ=environ,
                stopping=stopping,
                signals=False,
            )
        )
    )
    worker.start()
    try:
        report = tmp_path / "reports" / "na"
        deadline = time.monotonic() + 60
        while not (report.exists() and len(list(report.iterdir())) == 3):
            assert worker.is_alive() and time.monotonic() < deadline, "no catch-up report"
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            health = json.load(answer)
        assert health["status"] == "ok"
    finally:
        stopping.set()
        worker.join(30)
    assert status == [0]
    with session_factory(store)() as session:
        [run] = repo.recent_runs(session)
        closed = repo.load_attainments(session, "na", "2026-10")
    assert run.outcome is RunOutcome.SUCCESS and run.ended_at is not None
    # The catch-up waited for the first cycle: the report was written after the run ended.
    written = min(p.stat().st_mtime for p in report.iterdir())
    assert written >= run.ended_at.timestamp() - 1
    assert closed and all(r.closed_at is not None for r in closed)


def test_once_runs_everything_due_then_exits_with_the_sync_status(
    portal: Portal, sqlite_store: Engine, environ: dict[str, str], tmp_path: Path
) -> None:
    config = load_config_text(worker_config_text(portal.url), source=str(CONFIG_FILE))
    settings = Settings(data_dir=tmp_path, database_url=sqlite_store.url.render_as_string(False))
    once = WorkerOptions(once=True)
    assert run_worker(config, settings, options=once, environ=environ, signals=False) == 0
    assert len(list((tmp_path / "reports" / "hot").iterdir())) == 3
    assert run_worker(config, settings, options=once, environ={}, signals=False) == 1
    with session_factory(sqlite_store)() as session:
        assert [r.outcome for r in repo.recent_runs(session)] == [
            RunOutcome.FAILED,
            RunOutcome.SUCCESS,
        ]
