"""Graceful stop: a cycle asked to stop ends at its next checkpoint and loses nothing; a real
``sla-sync run`` gets SIGTERM mid-cycle, exits 0, and a following ``sla-sync sync`` ends with
the CRM exactly as after an uninterrupted run. Also: a second worker on the same SQLite store
is refused, naming the first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.cycle import STOPPED_ERROR
from sla_sync.pipeline.sync import init_schemas
from sla_sync.store import repositories as repo
from sla_sync.store.engine import create_engine, session_factory
from sla_sync.store.migrate import upgrade
from sla_sync.store.models import PushQueueRow, RunRow, SyncCursorRow
from sla_sync.store.records import RunOutcome
from tests.pipeline.support import CONNECTION, TOKEN_ENV, Portal, crm_state, sync
from tests.runtime.support import NOTIFY_ENV, worker_config_text

CLI = Path(sys.executable).with_name("sla-sync")
LEADS = 700  # enough MQLs for several write calls of 100 records
UPDATE_PATH = "/crm/v3/objects/contacts/batch/update"


class StopAfter:
    """``should_stop`` that answers True from its ``n``-th question on."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.asked = 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.asked >= self.n


def test_a_cycle_stopped_mid_pull_keeps_its_pages_and_the_next_run_converges(
    portal: Portal,
    sqlite_store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    tmp_path: Path,
) -> None:
    control_url = f"sqlite:///{tmp_path / 'control.db'}"
    upgrade(control_url)
    control_engine = create_engine(control_url)
    try:
        assert sync(control_engine, config, environ).outcome is RunOutcome.SUCCESS
    finally:
        control_engine.dispose()
    expected = crm_state(portal)
    portal.reset()
    [ready] = init_schemas(config, [CONNECTION], environ=environ)
    assert ready.error is None

    stopped = sync(sqlite_store, config, environ, should_stop=StopAfter(6))

    assert (stopped.outcome, stopped.error) == (RunOutcome.PARTIAL, STOPPED_ERROR)
    assert stopped.pull.stopped and stopped.push.calls == 0, stopped.pull.pages
    assert sum(stopped.pull.pages.values()) >= 1
    with session_factory(sqlite_store)() as session:
        [run] = repo.recent_runs(session)
        cursors = session.scalar(select(func.count()).select_from(SyncCursorRow))
    assert run.outcome is RunOutcome.PARTIAL and run.error == STOPPED_ERROR
    assert run.ended_at is not None
    assert cursors >= 1, stopped.pull.pages  # the stored pages keep their cursors

    resumed = sync(sqlite_store, config, environ)
    assert resumed.outcome is RunOutcome.SUCCESS, resumed.error
    assert crm_state(portal) == expected


def test_sigterm_mid_cycle_exits_cleanly_and_loses_nothing(
    portal: Portal,
    config: SlaSyncConfig,
    environ: dict[str, str],
    tmp_path: Path,
) -> None:
    config_file = tmp_path / "sla-sync.yaml"
    config_file.write_text(worker_config_text(portal.url), encoding="utf-8")
    env = {**os.environ, TOKEN_ENV: environ[TOKEN_ENV], "SLA_SYNC_LOG_FORMAT": "json"}
    env.pop(NOTIFY_ENV, None)  # the ops recipient is named but not configured: skipped

    # Control: an uninterrupted run of the same portal (deterministic seed), same clock source.
    portal.reset(leads=LEADS)
    _crm_init(config, environ)
    control_url = f"sqlite:///{tmp_path / 'control.db'}"
    upgrade(control_url)
    control_engine = create_engine(control_url)
    try:
        control = sync(control_engine, config, environ, now=datetime.now(UTC))
    finally:
        control_engine.dispose()
    assert control.outcome is RunOutcome.SUCCESS, control.error
    expected = crm_state(portal)

    portal.reset(leads=LEADS)
    _crm_init(config, environ)
    portal.control(
        "POST",
        "faults",
        {
            "kind": "latency",
            "latency_ms": 1000,
            "path": UPDATE_PATH,
            "method": "POST",
            "times": None,
        },
    )
    data = tmp_path / "data"
    upgrade(f"sqlite:///{data / 'sla-sync.db'}")
    worker = subprocess.Popen(
        [str(CLI), "run", "--config", str(config_file), "--data-dir", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock_file = (data / "sla-sync.db.lock").resolve()
    try:
        deadline = time.monotonic() + 60
        while not (lock_file.exists() and lock_file.read_text(encoding="utf-8").strip()):
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "the worker took no lock within 60 s"
            time.sleep(0.05)
        # A second worker on the same store, while the first one pulls.
        second = _cli("run", config_file, data, env, timeout=30)
        assert second.returncode == 1
        assert f"another worker holds {lock_file} (pid {worker.pid} on host " in second.stderr

        while portal.count("batch/update") < 1:
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "no write call within 60 s"
            time.sleep(0.05)
        time.sleep(0.2)  # a write call is in flight (1 s latency)
        sent_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
        took = time.monotonic() - sent_at
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    portal.control("DELETE", "faults")

    assert worker.returncode == 0, stderr
    assert took < 10, f"took {took:.1f} s to stop"
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "worker started" in names and "worker stopped" in names
    assert any(e["event"] == "sync stopped at a checkpoint" and e["run_id"] for e in events), stderr
    assert environ[TOKEN_ENV] not in stderr
    engine = create_engine(f"sqlite:///{data / 'sla-sync.db'}")
    try:
        with session_factory(engine)() as session:
            runs = session.scalars(select(RunRow).where(RunRow.kind == "sync")).all()
            queued = session.scalar(select(func.count()).select_from(PushQueueRow))
            cursors = session.scalar(select(func.count()).select_from(SyncCursorRow))
        assert [(r.outcome, r.error) for r in runs] == [("partial", STOPPED_ERROR)]
        assert runs[0].ended_at is not None
        assert queued > 0 and cursors > 0  # what was not written yet is still queued

        restart = _cli("sync", config_file, data, env)
        assert restart.returncode == 0, restart.stderr
        # Equal but for the stamp of when each value was written (wall clock, the worker's).
        assert _unstamped(crm_state(portal)) == _unstamped(expected)
        with session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(PushQueueRow)) == 0
    finally:
        engine.dispose()


def _cli(
    verb: str, config_file: Path, data: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), verb, "--config", str(config_file), "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _unstamped(state: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        lead: {k: v for k, v in fields.items() if k != "sla_sync_updated_at"}
        for lead, fields in state.items()
    }


def _crm_init(config: SlaSyncConfig, environ: dict[str, str]) -> None:
    [report] = init_schemas(config, [CONNECTION], environ=environ)
    assert report.error is None, report.error
