"""The worker's job functions against the sandbox HubSpot emulator and a real store: a sync
job's cycle, its report to health and metrics and logs; the failure-streak notification (once
per streak, through apprise to a real HTTP receiver); reports and closes; ``sla-sync runs``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from sqlalchemy import Engine

from sla_sync.cli import main
from sla_sync.pipeline.notify import Notifier
from sla_sync.runtime import jobs
from sla_sync.runtime.context import RuntimeContext, set_context
from sla_sync.runtime.health import HealthState
from sla_sync.runtime.logging import REDACTOR, configure_logging
from sla_sync.runtime.metrics import Metrics
from sla_sync.settings import Settings, read_secret
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import RunOutcome, RunRecord
from tests.pipeline.support import AS_OF, CONNECTION, TOKEN_ENV, Portal
from tests.runtime.support import NOTIFY_ENV, Receiver, worker_config


class Ticking:
    """A clock that moves one second per reading, from the sandbox's frozen instant (runs get
    distinct start times, as in real life)."""

    def __init__(self, start: datetime = AS_OF) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(fmt="json", stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)
    logging.captureWarnings(False)
    structlog.reset_defaults()
    REDACTOR.clear()


def context(
    store: Engine, hubspot_url: str, environ: dict[str, str], tmp_path: Path
) -> RuntimeContext:
    config = worker_config(hubspot_url)
    clock = Ticking()
    ctx = RuntimeContext(
        config=config,
        settings=Settings(data_dir=tmp_path, database_url=store.url.render_as_string(False)),
        engine=store,
        clock=clock,
        environ=environ,
        rate_limits=False,
        notifier=Notifier.from_config(config, read_secret, environ),
        health=HealthState.from_config(config, clock=clock),
        metrics=Metrics(clock=clock),
    )
    set_context(ctx)
    return ctx


@pytest.fixture(autouse=True)
def _no_context_left() -> Iterator[None]:
    yield
    set_context(None)


def test_sync_job_runs_a_cycle_and_reports_it(
    portal: Portal,
    sqlite_store: Engine,
    environ: dict[str, str],
    tmp_path: Path,
    logs: io.StringIO,
) -> None:
    ctx = context(sqlite_store, portal.url, environ, tmp_path)
    assert ctx.health is not None and ctx.metrics is not None
    ctx.health.scheduler_started()

    assert jobs.sync_job(CONNECTION) == "success"

    with session_factory(sqlite_store)() as session:
        [run] = repo.recent_runs(session)
    assert run.outcome is RunOutcome.SUCCESS and run.kind == "sync"
    healthy, detail = ctx.health.healthz()
    assert healthy, detail
    cycles = ctx.metrics.registry.get_sample_value(
        "sla_sync_cycles_total", {"connection": CONNECTION, "outcome": "success"}
    )
    assert cycles == 1
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    mine = [line for line in lines if line.get("run_id") == run.id]
    assert {"sync started", "sync finished"} <= {line["event"] for line in mine}
    finished = next(line for line in mine if line["event"] == "sync finished")
    assert finished["outcome"] == "success" and finished["records_pulled"] > 0
    assert all(line["connection"] == CONNECTION for line in mine)
    assert environ[TOKEN_ENV] not in logs.getvalue()


def test_a_job_started_while_stopping_does_nothing(
    sqlite_store: Engine, environ: dict[str, str], tmp_path: Path
) -> None:
    ctx = context(sqlite_store, "http://127.0.0.1:9", environ, tmp_path)
    ctx.stopping.set()
    assert jobs.sync_job(CONNECTION) == jobs.SKIPPED
    jobs.weekly_report_job("na")
    jobs.period_close_job("na")
    with session_factory(sqlite_store)() as session:
        assert repo.recent_runs(session) == []
    assert not (tmp_path / "reports").exists()


def test_failing_runs_are_notified_once_per_streak(
    portal: Portal,
    store: Engine,
    environ: dict[str, str],
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    broken = {NOTIFY_ENV: receiver.url}  # the CRM token is missing: every run fails
    ctx = context(store, portal.url, broken, tmp_path)

    assert jobs.sync_job(CONNECTION) == "failed"
    assert receiver.messages == []  # one failure is not a streak
    assert jobs.sync_job(CONNECTION) == "failed"
    assert [m["title"] for m in receiver.messages] == [
        f"sla-sync: {CONNECTION} failed 2 runs in a row"
    ]
    body = receiver.messages[0]["message"]
    assert "secret SLA_SYNC_TEST_HUBSPOT_TOKEN is not set" in body
    assert jobs.sync_job(CONNECTION) == "failed"
    assert len(receiver.messages) == 1  # the same streak: told once

    ctx.environ = {**environ, **broken}
    assert jobs.sync_job(CONNECTION) == "success"
    ctx.environ = broken
    assert jobs.sync_job(CONNECTION) == "failed"
    assert len(receiver.messages) == 1
    assert jobs.sync_job(CONNECTION) == "failed"  # a new streak after the success
    assert len(receiver.messages) == 2

    with session_factory(store)() as session:
        runs = repo.recent_runs(session, limit=10)
    assert [r.outcome.value for r in runs] == ["failed"] * 2 + ["success"] + ["failed"] * 3


def test_an_undeliverable_streak_message_is_tried_again(
    sqlite_store: Engine, tmp_path: Path, receiver: Receiver
) -> None:
    ctx = context(sqlite_store, "http://127.0.0.1:9", {NOTIFY_ENV: "json://127.0.0.1:9/"}, tmp_path)
    jobs.sync_job(CONNECTION)
    jobs.sync_job(CONNECTION)  # the receiver at port 9 does not answer: not recorded
    ctx.notifier = Notifier({"ops": [receiver.url]})
    jobs.sync_job(CONNECTION)
    assert [m["title"] for m in receiver.messages] == [
        f"sla-sync: {CONNECTION} failed 3 runs in a row"
    ]


def run(outcome: RunOutcome, minute: int, error: str | None = None) -> RunRecord:
    start = datetime(2026, 11, 23, 9, minute, tzinfo=UTC)
    return RunRecord(
        id=f"r{minute}",
        kind="sync",
        connection_id=1,
        started_at=start,
        ended_at=start + timedelta(seconds=30),
        outcome=outcome,
        counts={},
        api_calls={},
        error=error,
    )


def test_runs_stopped_by_a_signal_neither_start_nor_break_a_streak() -> None:
    failed, partial, ok = RunOutcome.FAILED, RunOutcome.PARTIAL, RunOutcome.SUCCESS
    stopped = run(partial, 30, "stopped by signal")
    newest_first = [run(failed, 40), stopped, run(partial, 20, "pull: quota"), run(ok, 10)]
    streak, success = jobs.failure_streak(newest_first)
    assert [r.id for r in streak] == ["r20", "r40"] and success is not None
    assert success.id == "r10"
    streak, _ = jobs.failure_streak([stopped, run(failed, 20), run(ok, 10)])
    assert [r.id for r in streak] == ["r20"]
    assert jobs.failure_streak([run(RunOutcome.RUNNING, 50), run(failed, 40)])[0][0].id == "r40"


def test_report_and_close_jobs_use_the_pipeline(
    portal: Portal,
    sqlite_store: Engine,
    environ: dict[str, str],
    tmp_path: Path,
    logs: io.StringIO,
) -> None:
    context(sqlite_store, portal.url, environ, tmp_path)
    assert jobs.sync_job(CONNECTION) == "success"
    jobs.weekly_report_job("na")
    jobs.period_close_job("na")
    reports = sorted(p.name for p in (tmp_path / "reports" / "na").iterdir())
    assert reports == ["2026-W43.html", "2026-W43.md", "2026-W43.png"]
    events = [json.loads(line) for line in logs.getvalue().splitlines()]
    closed = next(e for e in events if e["event"] == "period closed")
    assert closed["period"] == "2026-09" and closed["agreement"] == "na"
    assert not [e for e in events if e["level"] == "error"]


def test_runs_command_shows_the_ledger(
    portal: Portal, sqlite_store: Engine, environ: dict[str, str], tmp_path: Path
) -> None:
    ctx = context(sqlite_store, portal.url, environ, tmp_path)
    assert jobs.sync_job(CONNECTION) == "success"
    ctx.environ = {}
    assert jobs.sync_job(CONNECTION) == "failed"
    cli = CliRunner()
    url = str(sqlite_store.url.render_as_string(hide_password=False))
    shown = cli.invoke(main, ["runs", "--database-url", url], env={"COLUMNS": "220"})
    assert shown.exit_code == 0, shown.output
    assert "Recent runs" in shown.output and CONNECTION in shown.output
    assert "success" in shown.output and "failed" in shown.output
    assert "secret SLA_SYNC_TEST_HUBSPOT_TOKEN is not set" in shown.output
    as_json = cli.invoke(main, ["runs", "--database-url", url, "--json", "--limit", "1"])
    [latest] = json.loads(as_json.output)
    assert (latest["outcome"], latest["connection"]) == ("failed", CONNECTION)
    unknown = cli.invoke(main, ["runs", "--database-url", url, "--connection", "nope"])
    assert unknown.exit_code == 1 and "no run of connection 'nope'" in unknown.output
