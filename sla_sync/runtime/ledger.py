"""``sla-sync runs``: the run ledger as ops reads it (newest first)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import RunOutcome, RunRecord

_STYLE = {
    RunOutcome.SUCCESS: "green",
    RunOutcome.PARTIAL: "yellow",
    RunOutcome.FAILED: "red",
    RunOutcome.RUNNING: "cyan",
}


class UnknownConnectionError(LookupError):
    """``--connection`` names a connection the store has never run."""


@dataclass(frozen=True, slots=True)
class LedgerRun:
    """A run with its connection's name."""

    run: RunRecord
    connection: str | None


def close_abandoned_runs(engine: Engine, *, now: datetime) -> int:
    """Close the runs a dead process left ``running`` (call while holding the worker lock: see
    :func:`sla_sync.store.repositories.close_abandoned_runs`); returns how many."""
    with session_factory(engine)() as session, session.begin():
        return repo.close_abandoned_runs(session, ended_at=now)


def load_runs(engine: Engine, *, limit: int = 20, connection: str | None = None) -> list[LedgerRun]:
    """The latest ``limit`` runs (of ``connection`` only, when given), newest first.

    Raises:
        UnknownConnectionError: the store has no run of ``connection``.
    """
    with session_factory(engine)() as session:
        ids = repo.connection_ids(session)
        names = {connection_id: name for name, connection_id in ids.items()}
        connection_id = None
        if connection is not None:
            if connection not in ids:
                known = ", ".join(sorted(ids)) or "none yet"
                raise UnknownConnectionError(
                    f"no run of connection {connection!r} in the store (connections: {known})"
                )
            connection_id = ids[connection]
        runs = repo.recent_runs(session, limit=limit, connection_id=connection_id)
    return [
        LedgerRun(run, names.get(r) if (r := run.connection_id) is not None else None)
        for run in runs
    ]


def summary(counts: Mapping[str, Any]) -> str:
    """The counts of a run in a few words (``pulled 1,204 · written 37 · quarantined 2``)."""
    parts = []
    records = counts.get("records")
    if isinstance(records, Mapping):
        parts.append(f"pulled {sum(int(v) for v in records.values()):,}")
    for key, label in (
        ("leads_evaluated", "evaluated"),
        ("records_written", "written"),
        ("records_failed", "write errors"),
        ("quarantined", "quarantined"),
    ):
        value = counts.get(key)
        if isinstance(value, int) and (value or key in ("leads_evaluated", "records_written")):
            parts.append(f"{label} {value:,}")
    alerts = counts.get("alerts")
    if isinstance(alerts, Mapping):
        raised = sum(int(v) for v in alerts.values() if isinstance(v, int))
        if raised:
            parts.append(f"alerts {raised:,}")
    return " · ".join(parts)


def api_total(api_calls: Mapping[str, Any]) -> int | None:
    """Total API calls of a run (``None``: none recorded)."""
    total = api_calls.get("total")
    if isinstance(total, int):
        return total
    calls = api_calls.get("calls")
    if isinstance(calls, Mapping):
        return sum(int(v) for v in calls.values())
    return None


def as_dicts(runs: Sequence[LedgerRun]) -> list[dict[str, Any]]:
    """The runs as JSON-ready mappings (``--json``)."""
    return [
        {
            "id": item.run.id,
            "connection": item.connection,
            "kind": item.run.kind,
            "outcome": item.run.outcome.value,
            "started_at": item.run.started_at.isoformat(),
            "ended_at": item.run.ended_at.isoformat() if item.run.ended_at else None,
            "counts": dict(item.run.counts),
            "api_calls": dict(item.run.api_calls),
            "error": item.run.error,
        }
        for item in runs
    ]


def render_runs(console: Console, runs: Sequence[LedgerRun]) -> None:
    """A table of ``runs`` (times in UTC): one line of facts per run, its counts and error
    folded into the last column."""
    if not runs:
        console.print("no runs yet")
        return
    kinds = {item.run.kind for item in runs}
    table = Table(title="Recent runs (UTC, newest first)", title_justify="left", box=box.SIMPLE)
    table.add_column("started", no_wrap=True)
    table.add_column("took", no_wrap=True, justify="right")
    table.add_column("connection", no_wrap=True)
    if len(kinds) > 1:
        table.add_column("kind", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("API", no_wrap=True, justify="right")
    table.add_column("counts / error", ratio=1, overflow="fold")
    for item in runs:
        run = item.run
        details = summary(run.counts)
        if run.error:
            details = (
                f"{details}\n[red]{escape(_short(run.error))}[/]"
                if details
                else (f"[red]{escape(_short(run.error))}[/]")
            )
        cells = [
            run.started_at.strftime("%Y-%m-%d %H:%M"),
            _took(run.started_at, run.ended_at),
            item.connection or "-",
            *([run.kind] if len(kinds) > 1 else []),
            f"[{_STYLE[run.outcome]}]{run.outcome.value}[/]",
            "" if (total := api_total(run.api_calls)) is None else f"{total:,}",
            details,
        ]
        table.add_row(*cells)
    console.print(table)


def _short(error: str | None, limit: int = 120) -> str:
    """The error's first line, cut at ``limit`` characters (``--json`` has it whole)."""
    if not error:
        return ""
    line = error.strip().splitlines()[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _took(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "-"
    seconds = (end - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


__all__ = [
    "LedgerRun",
    "UnknownConnectionError",
    "api_total",
    "as_dicts",
    "load_runs",
    "render_runs",
    "summary",
]
