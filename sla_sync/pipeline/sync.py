"""What ``sla-sync sync`` and ``sla-sync crm init`` run: cycles and schema set-up per connection.

The store must be at the schema head: :func:`check_store` refuses an empty or older database
with a message telling ops to run ``sla-sync db upgrade`` (migrating a production PostgreSQL
behind the back of a standby worker is a decision for ops, not a side effect of a sync).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from sla_sync.connectors.base import SchemaChange
from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.connect import (
    UnsupportedConnectionError,
    connector_for,
    open_connector,
)
from sla_sync.pipeline.cycle import CycleReport, run_cycle
from sla_sync.pipeline.progress import ProgressCallback
from sla_sync.settings import MissingSecretError
from sla_sync.store.migrate import current_revision, head_revision
from sla_sync.store.records import RunOutcome


class StoreNotReadyError(RuntimeError):
    """The database is not at the schema this version of sla-sync needs."""


class UnknownConnectionError(KeyError):
    """``--connection`` names no connection of the definition file."""


def check_store(url: str) -> None:
    """Raise :class:`StoreNotReadyError` unless the database at ``url`` is at the head revision."""
    current, head = current_revision(url), head_revision()
    if current != head:
        state = "has no schema" if current is None else f"is at revision {current}"
        raise StoreNotReadyError(
            f"the store {state}; this sla-sync needs revision {head}: run `sla-sync db upgrade` "
            "(with the same --data-dir / SLA_SYNC_DATABASE_URL)"
        )


def connection_names(config: SlaSyncConfig, only: str | None) -> list[str]:
    """The connections to sync: ``only``, or every connection an agreement reads."""
    known = [c.name for c in config.connections]
    if only is not None:
        if only not in known:
            raise UnknownConnectionError(
                f"no connection {only!r} in {config.source} (known: {', '.join(known)})"
            )
        return [only]
    used = {name for p in config.agreement_policies() for name in p.connections}
    return [name for name in known if name in used]


def sync_connections(
    engine: Engine,
    config: SlaSyncConfig,
    names: Sequence[str],
    *,
    now: Callable[[], datetime] | None = None,
    full: bool = False,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[str], ProgressCallback | None] | None = None,
) -> list[CycleReport]:
    """One cycle per connection in ``names``, one after the other.

    A connection that cannot be opened (missing secret, unsupported CRM) gets a ``failed``
    report without a ledger entry; the others still run. ``progress(name)`` returns the
    progress callback for that connection's cycle.
    """
    clock = now or _utc_now
    reports = []
    for name in names:
        started = clock()
        try:
            connector = connector_for(engine, config, name, now=started, environ=environ)
        except (MissingSecretError, UnsupportedConnectionError) as exc:
            reports.append(
                CycleReport(
                    run_id="",
                    connection=name,
                    started_at=started,
                    outcome=RunOutcome.FAILED,
                    ended_at=started,
                    dry_run=dry_run,
                    full=full,
                    error=str(exc),
                )
            )
            continue
        try:
            reports.append(
                run_cycle(
                    engine,
                    config,
                    name,
                    connector,
                    now=clock,
                    full=full,
                    dry_run=dry_run,
                    progress=progress(name) if progress is not None else None,
                )
            )
        finally:
            connector.close()
    return reports


@dataclass(frozen=True, slots=True)
class SchemaReport:
    """``crm init`` of one connection: the schema changes, or the error."""

    connection: str
    changes: tuple[SchemaChange, ...] = ()
    error: str | None = None


def init_schemas(
    config: SlaSyncConfig,
    names: Sequence[str],
    *,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[SchemaReport]:
    """Create (or, with ``dry_run``, list) the SLA fields each connection's CRM lacks."""
    from sla_sync.connectors.base import ConnectorError

    reports = []
    for name in names:
        try:
            connector = open_connector(config.connection(name), environ=environ)
        except (MissingSecretError, UnsupportedConnectionError) as exc:
            reports.append(SchemaReport(connection=name, error=str(exc)))
            continue
        try:
            changes = connector.ensure_schema(dry_run=dry_run)
            reports.append(SchemaReport(connection=name, changes=tuple(changes)))
        except ConnectorError as exc:
            reports.append(SchemaReport(connection=name, error=f"{type(exc).__name__}: {exc}"))
        finally:
            connector.close()
    return reports


def exit_code(outcomes: Sequence[RunOutcome]) -> int:
    """``sla-sync sync``'s exit status: 1 if a run failed, else 3 if one was partial, else 0."""
    if RunOutcome.FAILED in outcomes:
        return 1
    if RunOutcome.PARTIAL in outcomes:
        return 3
    return 0


def _utc_now() -> datetime:
    return datetime.now(UTC)
