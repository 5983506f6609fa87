"""Orchestration of ``sla-sync demo``: sandbox, store, ``crm init``, one full cycle, the read-back.

Contract of :func:`run_demo`:

* the sandbox (both emulators, one clock) runs in this process on free ports; its clock is set to
  the end of the seed's span before seeding, so the portal is a snapshot taken "now", and the
  cycle's clock is the emulators' own (figures, due times and the CRM's modification dates agree);
* the store is SQLite under ``data_dir`` (``SLA_SYNC_DATABASE_URL`` is ignored: the demo never
  touches a configured database). A re-run replaces the database an earlier demo left there; a
  directory holding a database the demo did not create is refused, never cleaned;
* the ``sandbox-hubspot`` connection of ``config/sandbox.yaml`` is used as written except
  ``base_url`` (the emulator's URL), and its token variable is set to the sandbox token in the
  environment the connector is opened with;
* ``crm init`` and the cycle are :func:`~sla_sync.pipeline.sync.init_schemas` and
  :func:`~sla_sync.pipeline.sync.sync_connections` (``full=True``), what ``sla-sync crm init``
  and ``sla-sync sync`` run: the demo has no code path of its own between the CRM and the store.

Returns the exit code of ``sla-sync sync`` (0 success, 1 failed, 3 partial).
Raises :class:`DemoError` for what the user must fix (a refused data directory, a missing or
invalid definition file).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.status import Status
from sqlalchemy import Engine

from sla_sync.connectors.base import CrmConnector, SlaField
from sla_sync.definitions import ConfigError, HubSpotConnection, SlaSyncConfig, load_config
from sla_sync.demo import view
from sla_sync.demo.figures import sample_leads
from sla_sync.demo.result import CONNECTION, ContactReadBack, DemoOptions, DemoResult, Setup
from sla_sync.domain import Owner
from sla_sync.pipeline.connect import open_connector
from sla_sync.pipeline.figures import AgreementFigures, agreement_figures
from sla_sync.pipeline.progress import Progress, ProgressCallback
from sla_sync.pipeline.push import LEAD_OBJECT
from sla_sync.pipeline.sync import exit_code, init_schemas, sync_connections
from sla_sync.sandbox.clock import SandboxClock
from sla_sync.sandbox.runner import Sandbox
from sla_sync.sandbox.seed import SeedSpec
from sla_sync.settings import DATABASE_FILE_NAME, Settings
from sla_sync.store.engine import create_engine, session_factory
from sla_sync.store.migrate import upgrade
from sla_sync.store.repositories import connection_ids, load_confirmed, load_owners

CONFIG_NAME = Path("config/sandbox.yaml")
#: Written into a data directory the demo created; only such a directory is ever cleaned.
MARKER_FILE = ".sla-sync-demo"
#: The seed's span ends on Wednesday 2026-11-18 at noon in New York: the current month then holds
#: two and a half weeks of MQLs (pacing has something to say) and most teams are at work.
SEED_START = datetime(2026, 8, 18, 17, 0, tzinfo=UTC)
SEED_MONTHS = 3
#: Fewer reps than the generator's default, so each rep's figures rest on several leads.
SEED_OWNERS = 12


class DemoError(Exception):
    """Something the user must fix before the demo can run; the message says what."""


def run_demo(options: DemoOptions, console: Console) -> int:
    """Run the demo and print it on ``console``; returns the exit code (module docstring)."""
    config_path = find_config(options.config_file)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise DemoError(str(exc)) from None
    connection = _hubspot_connection(config, config_path)
    database_url, note = prepare_data_dir(options.data_dir)
    setup = Setup(options=options, config_path=config_path, database_url=database_url, note=note)
    spec = SeedSpec(
        leads=options.leads,
        seed=options.seed,
        start=SEED_START,
        months=SEED_MONTHS,
        owners=SEED_OWNERS,
    )
    clock = SandboxClock()
    clock.set(spec.end, frozen=False)
    timings: dict[str, float] = {}
    seeding = console.status(f"seeding a sandbox portal with {spec.leads} leads")
    with seeding, _timed(timings, "seed"):
        box = Sandbox(seed=spec, clock=clock).start()
    try:
        result = _run(box, setup, config, connection, console, timings)
        view.show(console, result)
        if options.keep_running:
            view.show_running(console, result, box.describe())
            _wait_for_interrupt()
    finally:
        box.stop()
    return exit_code([result.report.outcome])


def _run(
    box: Sandbox,
    setup: Setup,
    config: SlaSyncConfig,
    connection: HubSpotConnection,
    console: Console,
    timings: dict[str, float],
) -> DemoResult:
    """Migrate, ``crm init``, one full cycle on the sandbox's clock (the functions behind
    ``sla-sync db upgrade``, ``crm init`` and ``sync``), then read the results."""
    with _timed(timings, "migrate"):
        upgrade(setup.database_url)
    live = connection.model_copy(update={"base_url": box.hubspot_url})
    config = dataclasses.replace(
        config, connections=tuple(live if c.name == live.name else c for c in config.connections)
    )
    environ = {**os.environ, connection.token_env: box.hubspot_token}
    with console.status("crm init: creating the SLA properties"), _timed(timings, "crm init"):
        (schema,) = init_schemas(config, [CONNECTION], environ=environ)
    if schema.error is not None:
        raise DemoError(f"crm init failed: {schema.error}")
    engine = create_engine(setup.database_url)
    try:
        status = console.status("one cycle: pull, evaluate, write back")
        with status, _timed(timings, "cycle"):
            (report,) = sync_connections(
                engine,
                config,
                [CONNECTION],
                now=box.clock.now,
                full=True,
                environ=environ,
                progress=lambda name: _progress(status),
            )
        with _timed(timings, "read back"):
            connector = open_connector(live, environ=environ)
            try:
                figures, owners, contacts = _read_results(
                    engine, config, connector, report.started_at
                )
            finally:
                connector.close()
    finally:
        engine.dispose()
    return DemoResult(
        setup=setup,
        now=report.started_at,
        seeded=dict(box.seeded.get("hubspot", {})),
        schema=list(schema.changes),
        report=report,
        figures=figures,
        owners=owners,
        contacts=contacts,
        hubspot_url=box.hubspot_url,
        hubspot_token=box.hubspot_token,
        token_env=connection.token_env,
        timings=timings,
    )


def _progress(status: Status) -> ProgressCallback:
    def show(progress: Progress) -> None:
        total = f"/{progress.total}" if progress.total is not None else ""
        stream = f" {progress.stream}" if progress.stream else ""
        status.update(f"one cycle: {progress.step}{stream} {progress.done}{total}")

    return show


def _read_results(
    engine: Engine, config: SlaSyncConfig, connector: CrmConnector, as_of: datetime
) -> tuple[list[AgreementFigures], dict[str, Owner], list[ContactReadBack]]:
    """The figures per agreement, the owners, and a few contacts read back from the CRM."""
    with session_factory(engine)() as session:
        connection_id = connection_ids(session)[CONNECTION]
        figures = [
            agreement_figures(session, connection_id, policy, as_of=as_of)
            for policy in config.agreements_of(CONNECTION)
        ]
        owners = load_owners(session, connection_id)
        lead_ids = sample_leads(figures)
        confirmed = load_confirmed(session, connection_id, LEAD_OBJECT, lead_ids)
    crm = connector.read_fields(lead_ids)
    contacts = [
        ContactReadBack(
            lead_id=lead_id,
            crm=crm.get(lead_id, {}),
            confirmed={SlaField(k): v for k, v in confirmed.get(lead_id, {}).items()},
        )
        for lead_id in lead_ids
    ]
    return figures, owners, contacts


# --------------------------------------------------------------------------- set-up helpers


def find_config(explicit: Path | None) -> Path:
    """``explicit``, else ``config/sandbox.yaml`` in the working directory, else the one in the
    source tree this package was installed from (an editable install).

    Raises:
        DemoError: none of them exists.
    """
    if explicit is not None:
        if not explicit.is_file():
            raise DemoError(f"{explicit}: no such file")
        return explicit
    for candidate in (CONFIG_NAME, Path(__file__).resolve().parents[2] / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    raise DemoError(f"{CONFIG_NAME} not found: run the demo from the repository or pass --config")


def _hubspot_connection(config: SlaSyncConfig, path: Path) -> HubSpotConnection:
    try:
        connection = config.connection(CONNECTION)
    except KeyError:
        raise DemoError(f"{path} has no connection named {CONNECTION!r}") from None
    if not isinstance(connection, HubSpotConnection):
        raise DemoError(f"{path}: connection {CONNECTION!r} must be kind: hubspot")
    return connection


def prepare_data_dir(data_dir: Path) -> tuple[str, str]:
    """Make ``data_dir`` ready for a fresh demo database; returns its URL and a note saying
    whether an earlier demo's database was replaced.

    Raises:
        DemoError: ``data_dir`` holds a database the demo did not create (never deleted).
    """
    database = data_dir / DATABASE_FILE_NAME
    marker = data_dir / MARKER_FILE
    if database.exists() and not marker.exists():
        raise DemoError(
            f"{database} was not created by the demo and is left alone; "
            "pass --data-dir with an empty directory or an earlier demo's"
        )
    replaced = False
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            path.unlink()
            replaced = True
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(
        "Created by `sla-sync demo`, which replaces the database here on every run.\n",
        encoding="utf-8",
    )
    # Explicit arguments beat SLA_SYNC_* variables: the demo never opens a configured database.
    url = Settings(data_dir=data_dir, database_url=None).effective_database_url()
    return url, "replaced the previous demo's database" if replaced else "new database"


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - started


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM (a SIGTERM handler is installable on the main thread only)."""
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
