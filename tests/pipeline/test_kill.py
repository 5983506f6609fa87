"""Kill -9 during the write-back, restart: the CRM ends as after an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.sync import init_schemas
from sla_sync.store.engine import create_engine, session_factory
from sla_sync.store.migrate import upgrade
from sla_sync.store.models import PushQueueRow, RunRow
from sla_sync.store.records import RunOutcome
from tests.pipeline.support import AS_OF, CONNECTION, TOKEN_ENV, Portal, crm_state, sync

CHILD = Path(__file__).with_name("cycle_child.py")
KILL_LEADS = 700  # enough MQLs for several write calls of 100 records
UPDATE_PATH = "/crm/v3/objects/contacts/batch/update"


def test_kill_during_write_back_then_restart_converges(
    portal: Portal,
    store: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    migrated_url: str,
    tmp_path: Path,
) -> None:
    portal.reset(leads=KILL_LEADS)
    _crm_init(config, environ)
    # Control: an uninterrupted cycle on a fresh store.
    control_url = f"sqlite:///{tmp_path / 'control.db'}"
    upgrade(control_url)
    control_engine = create_engine(control_url)
    try:
        control = sync(control_engine, config, environ)
    finally:
        control_engine.dispose()
    assert control.outcome is RunOutcome.SUCCESS
    assert control.push.calls >= 2, "the test needs several write calls to kill between"
    expected = crm_state(portal)

    # Same portal again (deterministic seed), a slow write endpoint, a worker killed after
    # its first write call answered, while the next is in flight.
    portal.reset(leads=KILL_LEADS)
    _crm_init(config, environ)
    portal.control(
        "POST",
        "faults",
        {
            "kind": "latency",
            "latency_ms": 700,
            "path": UPDATE_PATH,
            "method": "POST",
            "times": None,
        },
    )
    child = subprocess.Popen(
        [sys.executable, str(CHILD), migrated_url, portal.url, AS_OF.isoformat()],
        env={**os.environ, TOKEN_ENV: environ[TOKEN_ENV]},
    )
    try:
        deadline = time.monotonic() + 60
        while portal.count("batch/update") < 1:
            assert child.poll() is None, "the cycle ended before it could be killed"
            assert time.monotonic() < deadline, "no write call within 60 s"
            time.sleep(0.05)
        time.sleep(0.2)  # the next write call is in flight (700 ms latency)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    portal.control("DELETE", "faults")
    with session_factory(store)() as session:
        assert session.scalar(select(func.count()).select_from(PushQueueRow)) > 0
        killed = session.scalars(select(RunRow.outcome)).all()
    assert killed == ["running"]  # the ledger shows a run that never finished

    restart = sync(store, config, environ)

    assert restart.outcome is RunOutcome.SUCCESS, restart.error
    assert restart.push.confirmed > 0
    assert crm_state(portal) == expected
    with session_factory(store)() as session:
        assert session.scalar(select(func.count()).select_from(PushQueueRow)) == 0
    again = sync(store, config, environ)
    assert again.push.sent == 0
    assert again.connection == CONNECTION


def _crm_init(config: SlaSyncConfig, environ: dict[str, str]) -> None:
    [report] = init_schemas(config, [CONNECTION], environ=environ)
    assert report.error is None, report.error
