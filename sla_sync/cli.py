"""The ``sla-sync`` command line.

Thin: every verb parses its options and calls one function elsewhere.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sla_sync import __version__
from sla_sync.settings import Settings

if TYPE_CHECKING:
    from sla_sync.definitions import SlaSyncConfig

DEFAULT_CONFIG = Path("config/sla-sync.example.yaml")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sla-sync")
def main() -> None:
    """Keep the sales-and-marketing SLA honest inside the CRM."""


# --------------------------------------------------------------------------- config


@main.group()
def config() -> None:
    """Check SLA definition files."""


@config.command("check")
@click.argument("file", type=click.Path(path_type=Path), default=DEFAULT_CONFIG)
def config_check(file: Path) -> None:
    """Validate FILE and report every problem with its place in the file (exit 0 only if valid)."""
    from sla_sync.definitions import check_config_file

    problems = check_config_file(file)
    if problems:
        for problem in problems:
            click.echo(f"{file}: {problem}", err=True)
        click.echo(f"{file}: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{file}: OK")


# --------------------------------------------------------------------------- database


_DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    envvar="SLA_SYNC_DATA_DIR",
    default=None,
    help="Data directory (env SLA_SYNC_DATA_DIR): the SQLite default, its lock file, reports/.",
)
_DATABASE_URL_OPTION = click.option(
    "--database-url",
    envvar="SLA_SYNC_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (env SLA_SYNC_DATABASE_URL); overrides the data directory.",
)


@main.group()
def db() -> None:
    """Manage the store (SQLite under the data directory, or PostgreSQL by URL)."""


@db.command("upgrade")
@_DATA_DIR_OPTION
@_DATABASE_URL_OPTION
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
def db_upgrade(data_dir: Path | None, database_url: str | None, revision: str) -> None:
    """Create or migrate the schema to REVISION."""
    from sla_sync.store.migrate import upgrade

    settings = _settings(data_dir, database_url)
    url = settings.effective_database_url()
    upgrade(url, revision=revision)
    click.echo(f"database at {_redact(url)} is at revision {revision}")


def _settings(data_dir: Path | None, database_url: str | None) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url:
        overrides["database_url"] = database_url
    return Settings(**overrides)  # type: ignore[arg-type]


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------- sync

_CONFIG_OPTION = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLA_SYNC_CONFIG",
    default=None,
    help="SLA definition file (env SLA_SYNC_CONFIG; default config/sla-sync.yaml).",
)
_CONNECTION_OPTION = click.option(
    "--connection", default=None, help="Only this connection (default: every one in use)."
)


def _load_config(config_file: Path | None) -> SlaSyncConfig:
    from sla_sync.definitions import ConfigError, load_config

    path = config_file or Settings().config_file
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{path}: {problem}", err=True)
        click.echo(f"{path}: not loaded (sla-sync config check {path})", err=True)
        sys.exit(1)


def _names(config: SlaSyncConfig, connection: str | None) -> list[str]:
    from sla_sync.pipeline.sync import UnknownConnectionError, connection_names

    try:
        return connection_names(config, connection)
    except UnknownConnectionError as exc:
        click.echo(f"error: {exc.args[0]}", err=True)
        sys.exit(1)


@main.command("sync")
@_CONFIG_OPTION
@_CONNECTION_OPTION
@click.option("--full", is_flag=True, help="Re-read every stream from the beginning (backfill).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Pull and evaluate into the store, but write nothing to the CRM; print the changes.",
)
@_DATA_DIR_OPTION
@_DATABASE_URL_OPTION
def sync(
    config_file: Path | None,
    connection: str | None,
    full: bool,
    dry_run: bool,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    """Run one sync cycle per connection: pull, evaluate, write SLA fields back.

    Exit status: 0 every run succeeded; 3 a run was partial (daily API budget spent: state kept,
    the next run goes on); 1 a run failed (or the config, a secret or the store is not ready).
    """
    from rich.console import Console

    from sla_sync.pipeline.render import progress_bars, render_cycle
    from sla_sync.pipeline.sync import exit_code, sync_connections
    from sla_sync.runtime.ledger import close_abandoned_runs
    from sla_sync.runtime.lock import WorkerLockError, lock_for

    config = _load_config(config_file)
    names = _names(config, connection)
    console = Console()
    settings = _settings(data_dir, database_url)
    engine = _store_engine(settings)
    # The worker's own lock: a cycle by hand next to a running worker would race it on the same
    # cursors and queues (and, on SQLite, its single writer).
    lock = lock_for(settings.effective_database_url())
    try:
        if lock is not None:
            lock.acquire(wait=False)
            close_abandoned_runs(engine, now=datetime.now(UTC))
    except WorkerLockError as exc:
        engine.dispose()
        click.echo(
            f"error: {exc}; it syncs on its own schedule (stop it to sync by hand)", err=True
        )
        sys.exit(1)
    try:
        with progress_bars(console, enabled=full and console.is_terminal) as bars:
            reports = sync_connections(
                engine,
                config,
                names,
                full=full,
                dry_run=dry_run,
                progress=(lambda _name: bars) if bars is not None else None,
            )
    finally:
        if lock is not None:
            lock.release()
        engine.dispose()
    for report in reports:
        render_cycle(console, report)
    sys.exit(exit_code([r.outcome for r in reports]))


@main.group()
def crm() -> None:
    """Prepare the CRM for sla-sync."""


@crm.command("init")
@_CONFIG_OPTION
@_CONNECTION_OPTION
@click.option("--dry-run", is_flag=True, help="Only list what would be created or updated.")
def crm_init(config_file: Path | None, connection: str | None, dry_run: bool) -> None:
    """Create the SLA fields (and their group) in each connection's CRM, idempotently.

    Exit status: 0 done (or nothing to do), 1 a connection failed.
    """
    from rich.console import Console

    from sla_sync.pipeline.render import render_schema
    from sla_sync.pipeline.sync import init_schemas

    config = _load_config(config_file)
    reports = init_schemas(config, _names(config, connection), dry_run=dry_run)
    render_schema(Console(), reports, dry_run=dry_run)
    sys.exit(1 if any(r.error for r in reports) else 0)


# --------------------------------------------------------------------------- engine


@main.group()
def sla() -> None:
    """Try SLA definitions on scenarios."""


@sla.command("explain")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="SLA definition file.",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON scenario: owners, leads with lifecycle changes, touches, reassignments.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Evaluate as of this ISO-8601 instant with a zone (default: the scenario's as_of).",
)
@click.option("--agreement", default=None, help="Only this agreement.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def sla_explain(
    config_file: Path, scenario: Path, as_of: str | None, agreement: str | None, as_json: bool
) -> None:
    """Evaluate a scenario and print each lead's cycles and the period attainment."""
    from sla_sync.explain import ExplainError, explain

    as_of_dt = _parse_instant(as_of) if as_of else None
    try:
        output = explain(
            config_file, scenario, as_of=as_of_dt, agreement=agreement, as_json=as_json
        )
    except ExplainError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(output)


def _parse_instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO-8601 instant") from None
    if value.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no time zone; add Z or an offset")
    return value


# --------------------------------------------------------------------------- sandbox


@main.group()
def sandbox() -> None:
    """Run the local HubSpot and Salesforce emulators, and generate seed data for them."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--hubspot-port", type=int, default=8081, show_default=True, help="0 = free port.")
@click.option("--salesforce-port", type=int, default=8443, show_default=True, help="0 = free port.")
@click.option(
    "--seed",
    "size",
    type=click.IntRange(min=0),
    default=None,
    help="Seed N leads: three months of lead flow ending now, so the portal looks live.",
)
def sandbox_serve(host: str, hubspot_port: int, salesforce_port: int, size: int | None) -> None:
    """Serve both emulators in the foreground until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from sla_sync.sandbox.runner import Sandbox
    from sla_sync.sandbox.seed import SeedSpec, span_ending

    # The emulators' clock runs in real time; a seed ending now gives a worker started next to
    # them a current period with fresh MQLs, open cycles, warnings and breaches to act on.
    seed = None if size is None else SeedSpec(leads=size, start=span_ending(3), months=3)

    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        with Sandbox(
            host=host, hubspot_port=hubspot_port, salesforce_port=salesforce_port, seed=seed
        ) as box:
            click.echo(box.describe())
            click.echo("Press Ctrl-C to stop.", err=True)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
    except RuntimeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("sandbox stopped", err=True)


@sandbox.command("seed")
@click.option("--size", type=click.IntRange(min=0), required=True, help="Number of leads.")
@click.option("--seed", "seed", type=click.IntRange(min=0), default=7, show_default=True)
@click.option(
    "--start", default=None, help="Span start, ISO-8601 with a zone (default 2026-08-01Z)."
)
@click.option("--months", type=click.IntRange(1, 36), default=3, show_default=True)
@click.option("--out", default="-", show_default=True, help="JSON Lines file, or - for stdout.")
@click.option(
    "--url", default=None, help="Instead: POST the generator to this emulator's base URL."
)
@click.option("--cacert", default=None, help="CA file to trust for an https --url.")
def sandbox_seed(
    size: int,
    seed: int,
    start: str | None,
    months: int,
    out: str,
    url: str | None,
    cacert: str | None,
) -> None:
    """Generate seed data as JSON Lines ({"kind", "record"} per line), or POST it to an emulator."""
    from sla_sync.sandbox.seed import SeedSpec, iter_jsonl

    kwargs: dict[str, object] = {"leads": size, "seed": seed, "months": months}
    if start is not None:
        kwargs["start"] = _parse_instant(start)
    spec = SeedSpec(**kwargs)  # type: ignore[arg-type]
    if url is not None:
        _post_seed(url, spec.to_payload(), cacert)
        return
    if out == "-":
        sys.stdout.writelines(iter_jsonl(spec))
        sys.stdout.flush()
        return
    with open(out, "w", encoding="utf-8") as handle:
        handle.writelines(iter_jsonl(spec))
    click.echo(f"wrote {size} leads to {out}", err=True)


def _post_seed(url: str, generator: dict[str, object], cacert: str | None) -> None:
    import json
    import ssl
    import urllib.error
    import urllib.request

    target = url.rstrip("/") + "/__sandbox/seed"
    request = urllib.request.Request(
        target,
        data=json.dumps({"generator": generator}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=cacert) if target.startswith("https") else None
    try:
        with urllib.request.urlopen(request, context=context) as response:
            click.echo(response.read().decode())
    except urllib.error.HTTPError as exc:
        click.echo(f"error: {target}: {exc.code} {exc.read().decode(errors='replace')}", err=True)
        sys.exit(1)
    except (urllib.error.URLError, OSError) as exc:
        click.echo(f"error: {target}: {exc}", err=True)
        sys.exit(1)


# --------------------------------------------------------------------------- demo
# (owned by the demo's author: sla_sync/demo/; kept to this one block)


@main.command("demo")
@click.option(
    "--leads",
    type=click.IntRange(min=1),
    default=None,
    help="Leads to seed into the sandbox portal (default 600).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of the demo's SQLite database, replaced each run (default .sla-sync-demo).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SLA definition (default: config/sandbox.yaml).",
)
@click.option("--keep-running", is_flag=True, help="Keep the sandbox up afterwards (Ctrl-C stops).")
def demo(
    leads: int | None, data_dir: Path | None, config_file: Path | None, keep_running: bool
) -> None:
    """Run one whole cycle against a seeded sandbox CRM and show what each side would see."""
    from dataclasses import replace

    from sla_sync.demo import DemoError, DemoOptions, make_console, run_demo

    options = DemoOptions(config_file=config_file, keep_running=keep_running)
    # Unset options keep DemoOptions' defaults (one place for them, imported only when run).
    if leads is not None:
        options = replace(options, leads=leads)
    if data_dir is not None:
        options = replace(options, data_dir=data_dir)
    try:
        code = run_demo(options, make_console())
    except DemoError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


# --------------------------------------------------------------------------- reports and close


def _agreement_ids(config: SlaSyncConfig, agreement: str | None) -> list[str]:
    ids = [policy.id for policy in config.agreement_policies()]
    if agreement is None:
        return ids
    if agreement not in ids:
        click.echo(f"error: no agreement {agreement!r} (known: {', '.join(ids)})", err=True)
        sys.exit(1)
    return [agreement]


if TYPE_CHECKING:
    from sqlalchemy import Engine


def _store_engine(settings: Settings) -> Engine:
    """An engine on the configured store, or exit 1 when it is not migrated."""
    from sla_sync.pipeline.sync import StoreNotReadyError, check_store
    from sla_sync.store.engine import create_engine

    url = settings.effective_database_url()
    try:
        check_store(url)
    except StoreNotReadyError as exc:
        click.echo(f"error: {_redact(url)}: {exc}", err=True)
        sys.exit(1)
    return create_engine(url)


@main.command("report")
@_CONFIG_OPTION
@click.option("--agreement", default=None, help="Only this agreement (default: every one).")
@click.option("--period", "period", default=None, help="A whole period, e.g. 2026-11 (to date).")
@click.option("--week", default=None, help="An ISO week, e.g. 2026-W47 (default: last week).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write to OUT/<agreement>/ (default: <data dir>/reports/<agreement>/).",
)
@click.option("--send", is_flag=True, help="Also send it to reporting.weekly_report.to.")
@_DATA_DIR_OPTION
@_DATABASE_URL_OPTION
def report(
    config_file: Path | None,
    agreement: str | None,
    period: str | None,
    week: str | None,
    out: Path | None,
    send: bool,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    """Render the status report (Markdown, HTML, PNG pacing chart) of a week or a period.

    Without --week or --period: the ISO week that ended last. Prints where the files are.
    """
    from datetime import UTC

    from sla_sync.pipeline.notify import Notifier
    from sla_sync.pipeline.reports import (
        ReportError,
        build_report,
        previous_week,
        report_dir,
        report_recipients,
        send_report,
        write_report,
    )
    from sla_sync.settings import read_secret

    if period is not None and week is not None:
        click.echo("error: give --period or --week, not both", err=True)
        sys.exit(2)
    config = _load_config(config_file)
    ids = _agreement_ids(config, agreement)
    settings = _settings(data_dir, database_url)
    notifier = Notifier.from_config(config, read_secret) if send else None
    now = datetime.now(UTC)
    engine = _store_engine(settings)
    failed = False
    try:
        for agreement_id in ids:
            policy = config.agreement_policy(agreement_id)
            chosen = week if week is not None or period is not None else previous_week(policy, now)
            try:
                built = build_report(engine, policy, now=now, week=chosen, period=period)
            except ReportError as exc:
                click.echo(f"error: {agreement_id}: {exc}", err=True)
                sys.exit(1)
            folder = out / agreement_id if out else report_dir(settings.data_dir, agreement_id)
            files = write_report(built, folder)
            click.echo(f"{agreement_id} {built.label}: {files.markdown}, {files.html}, {files.png}")
            if notifier is not None:
                recipients = report_recipients(config, agreement_id)
                if not recipients:
                    click.echo(f"  not sent: {agreement_id} has no reporting.weekly_report.to")
                elif send_report(built, files, recipients, notifier):
                    click.echo(f"  sent to {', '.join(recipients)}")
                else:
                    click.echo(f"  NOT sent to {', '.join(recipients)} (see the log)", err=True)
                    failed = True
    finally:
        engine.dispose()
    sys.exit(1 if failed else 0)


@main.group("period")
def period_group() -> None:
    """Reporting periods: close a finished one."""


@period_group.command("close")
@_CONFIG_OPTION
@click.option("--agreement", default=None, help="Only this agreement (default: every one).")
@click.option("--period", "period", default=None, help="e.g. 2026-10 (default: the last one).")
@click.option(
    "--dry-run", is_flag=True, help="Show what the close would do; store and send nothing."
)
@_DATA_DIR_OPTION
@_DATABASE_URL_OPTION
def period_close(
    config_file: Path | None,
    agreement: str | None,
    period: str | None,
    dry_run: bool,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    """Freeze a finished period's attainment, publish the next goal (with any carry-over) and
    notify its consequences once. Safe to run again: a closed period is left as it is."""
    from datetime import UTC

    from sla_sync.pipeline.close import CloseError, close_period_and_notify, describe_close
    from sla_sync.pipeline.notify import Notifier
    from sla_sync.settings import read_secret

    config = _load_config(config_file)
    ids = _agreement_ids(config, agreement)
    notifier = None if dry_run else Notifier.from_config(config, read_secret)
    engine = _store_engine(_settings(data_dir, database_url))
    failed = False
    try:
        for agreement_id in ids:
            try:
                outcome = close_period_and_notify(
                    engine,
                    config,
                    agreement_id,
                    now=datetime.now(UTC),
                    notifier=notifier,
                    period=period,
                    dry_run=dry_run,
                )
            except CloseError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(1)
            for line in describe_close(outcome):
                click.echo(line)
            failed |= any(notice.status == "failed" for notice in outcome.notices)
    finally:
        engine.dispose()
    sys.exit(1 if failed else 0)


# --------------------------------------------------------------------------- worker: run, runs
# (owned by the runtime's author: sla_sync/runtime/; kept to this one block)


@main.command("run")
@_CONFIG_OPTION
@_DATA_DIR_OPTION
@_DATABASE_URL_OPTION
@click.option(
    "--once",
    is_flag=True,
    help="Sync every connection once, run the reports and closes that are due, then exit "
    "(exit status as sla-sync sync): for a CronJob or a systemd timer.",
)
@click.option(
    "--standby/--no-standby",
    default=True,
    show_default=True,
    help="PostgreSQL: wait while another worker holds the lock, then take over "
    "(--no-standby: exit 1). SQLite never waits.",
)
@click.option(
    "--stop-timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds running cycles get to reach a checkpoint after SIGTERM.",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    envvar="SLA_SYNC_LOG_FORMAT",
    default="auto",
    show_default=True,
    help="Log lines on stderr: JSON, or console on a terminal (auto).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    envvar="SLA_SYNC_LOG_LEVEL",
    default="INFO",
    show_default=True,
)
def run(
    config_file: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    once: bool,
    standby: bool,
    stop_timeout: float,
    log_format: str,
    log_level: str,
) -> None:
    """Run the worker: sync every connection every worker.sync_every, weekly reports, period
    closes; /healthz, /readyz and /metrics on worker.health_port. Stops cleanly on SIGTERM.

    Exit status: 0 stopped by SIGTERM/SIGINT; 1 the config or store is not ready, another
    worker holds the lock, or the lock was lost. With --once: as sla-sync sync (0, 3 a run
    partial, 1 a run failed), and 0 when stopped by a signal.
    """
    from sla_sync.runtime.logging import config_secrets, configure_logging
    from sla_sync.runtime.worker import WorkerOptions, run_worker

    config = _load_config(config_file)
    settings = _settings(data_dir, database_url)
    configure_logging(
        fmt=log_format,  # type: ignore[arg-type]  # checked by click.Choice
        level=log_level,
        secrets=config_secrets(config),
    )
    options = WorkerOptions(once=once, standby=standby, stop_timeout=stop_timeout)
    path = config_file or settings.config_file
    sys.exit(run_worker(config, settings, config_path=path, options=options))


@main.command("runs")
@_DATA_DIR_OPTION
@_DATABASE_URL_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--connection", default=None, help="Only runs of this connection.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs(
    data_dir: Path | None,
    database_url: str | None,
    limit: int,
    connection: str | None,
    as_json: bool,
) -> None:
    """Show the latest runs of the ledger: start, duration, connection, kind, outcome, counts,
    API calls, error."""
    import json

    from rich.console import Console

    from sla_sync.runtime.ledger import UnknownConnectionError, as_dicts, load_runs, render_runs

    engine = _store_engine(_settings(data_dir, database_url))
    try:
        found = load_runs(engine, limit=limit, connection=connection)
    except UnknownConnectionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(as_dicts(found), indent=2))
    else:
        render_runs(Console(), found)
