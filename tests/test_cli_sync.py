"""``sla-sync sync`` and ``sla-sync crm init`` against the HubSpot emulator (real connector)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from sla_sync.cli import main
from sla_sync.pipeline.sync import exit_code
from sla_sync.runtime.lock import lock_for
from sla_sync.sandbox.runner import Sandbox
from sla_sync.store import repositories as repo
from sla_sync.store.engine import create_engine, session_factory
from sla_sync.store.migrate import upgrade
from sla_sync.store.records import RunOutcome
from tests.pipeline.support import CONFIG_FILE, TOKEN_ENV, Portal


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture
def portal(sandbox: Sandbox) -> Iterator[Portal]:
    with requests.Session() as http:
        portal = Portal(url=sandbox.hubspot_url, token=sandbox.hubspot_token, http=http)
        portal.reset(leads=60)
        yield portal


@pytest.fixture
def config_file(portal: Portal, tmp_path: Path) -> Path:
    path = tmp_path / "sla-sync.yaml"
    text = CONFIG_FILE.read_text(encoding="utf-8").replace("http://127.0.0.1:9", portal.url)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def run(portal: Portal, *args: str, data_dir: Path | None = None) -> Result:
    env = {TOKEN_ENV: portal.token, "SLA_SYNC_DATABASE_URL": ""}
    if data_dir is not None:
        env["SLA_SYNC_DATA_DIR"] = str(data_dir)
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_exit_codes() -> None:
    assert exit_code([RunOutcome.SUCCESS, RunOutcome.SUCCESS]) == 0
    assert exit_code([RunOutcome.SUCCESS, RunOutcome.PARTIAL]) == 3
    assert exit_code([RunOutcome.PARTIAL, RunOutcome.FAILED]) == 1
    assert exit_code([]) == 0


def test_sync_refuses_a_store_without_schema(
    portal: Portal, config_file: Path, data_dir: Path
) -> None:
    result = run(portal, "sync", "--config", str(config_file), data_dir=data_dir)
    assert result.exit_code == 1
    assert "sla-sync db upgrade" in result.output


def test_crm_init_then_sync_dry_run_then_sync(
    portal: Portal, config_file: Path, data_dir: Path
) -> None:
    upgrade(f"sqlite:///{data_dir / 'sla-sync.db'}")
    planned = run(portal, "crm", "init", "--config", str(config_file), "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert "would create" in planned.output
    created = run(portal, "crm", "init", "--config", str(config_file))
    assert created.exit_code == 0, created.output
    assert "sla_sync_status" in created.output

    dry = run(portal, "sync", "--config", str(config_file), "--dry-run", data_dir=data_dir)
    assert dry.exit_code == 0, dry.output
    assert "sync (dry run): success" in dry.output
    assert "changes" in dry.output
    assert portal.count("batch/update") == 0

    real = run(portal, "sync", "--config", str(config_file), "--full", data_dir=data_dir)
    assert real.exit_code == 0, real.output
    assert "records written" in real.output
    assert portal.count("batch/update") >= 1


def test_sync_exit_3_when_the_daily_budget_runs_out(
    portal: Portal, config_file: Path, data_dir: Path
) -> None:
    upgrade(f"sqlite:///{data_dir / 'sla-sync.db'}")
    portal.control("POST", "ratelimits", {"tier": 250, "daily": 5, "search_per_second": 1000})
    result = run(portal, "sync", "--config", str(config_file), data_dir=data_dir)
    assert result.exit_code == 3, result.output
    assert "partial" in result.output


def test_sync_reports_a_missing_secret_and_an_unknown_connection(
    portal: Portal, config_file: Path, data_dir: Path
) -> None:
    upgrade(f"sqlite:///{data_dir / 'sla-sync.db'}")
    result = CliRunner().invoke(
        main,
        ["sync", "--config", str(config_file)],
        env={"SLA_SYNC_DATA_DIR": str(data_dir), TOKEN_ENV: ""},
    )
    assert result.exit_code == 1
    assert TOKEN_ENV in result.output
    unknown = run(portal, "sync", "--config", str(config_file), "--connection", "nope")
    assert unknown.exit_code == 1
    assert "no connection 'nope'" in unknown.output


def test_sync_by_hand_is_refused_while_a_worker_holds_the_store(
    portal: Portal, config_file: Path, data_dir: Path
) -> None:
    url = f"sqlite:///{data_dir / 'sla-sync.db'}"
    upgrade(url)
    worker = lock_for(url)
    assert worker is not None
    worker.acquire(wait=False)  # what `sla-sync run` holds while it runs
    try:
        refused = run(portal, "sync", "--config", str(config_file), data_dir=data_dir)
    finally:
        worker.release()
    assert refused.exit_code == 1
    assert f"another worker holds {data_dir / 'sla-sync.db.lock'}" in refused.output
    assert f"pid {os.getpid()}" in refused.output
    assert portal.count("search") == 0  # refused before any CRM call

    assert run(portal, "crm", "init", "--config", str(config_file)).exit_code == 0
    after = run(portal, "sync", "--config", str(config_file), data_dir=data_dir)
    assert after.exit_code == 0, after.output  # the worker let go: the store is free again


def test_sync_closes_a_run_a_killed_process_left_running(
    portal: Portal, config_file: Path, data_dir: Path
) -> None:
    url = f"sqlite:///{data_dir / 'sla-sync.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            killed = repo.start_run(session, kind="sync", started_at=datetime.now(UTC))
        assert run(portal, "crm", "init", "--config", str(config_file)).exit_code == 0
        assert run(portal, "sync", "--config", str(config_file), data_dir=data_dir).exit_code == 0
        with session_factory(engine)() as session:
            runs = {r.id: r for r in repo.recent_runs(session)}
    finally:
        engine.dispose()
    assert runs[killed].outcome is RunOutcome.FAILED
    assert runs[killed].error and "abandoned" in runs[killed].error
    assert [r.outcome for r in runs.values() if r.id != killed] == [RunOutcome.SUCCESS]
