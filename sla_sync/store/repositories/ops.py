"""Operations bookkeeping: sync cursors, the run ledger and quarantined records.

Cursors are written in the caller's transaction, so a page's upserts and its cursor commit (or
roll back) together. None of these functions commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sla_sync.domain import ensure_utc
from sla_sync.store.models import QuarantinedRecordRow, RunRow, SyncCursorRow
from sla_sync.store.records import (
    InvalidTransitionError,
    NotFoundError,
    QuarantinedRecord,
    RunOutcome,
    RunRecord,
)
from sla_sync.store.repositories._upsert import insert_for

# --------------------------------------------------------------------------- cursors


def get_cursor(session: Session, connection_id: int, stream: str) -> str | None:
    """The saved cursor of a stream, or ``None`` before its first page."""
    stmt = select(SyncCursorRow.value).where(
        SyncCursorRow.connection_id == connection_id, SyncCursorRow.stream == stream
    )
    return session.scalars(stmt).one_or_none()


def get_cursors(session: Session, connection_id: int) -> dict[str, str]:
    """Every saved cursor of a connection, by stream."""
    stmt = select(SyncCursorRow.stream, SyncCursorRow.value).where(
        SyncCursorRow.connection_id == connection_id
    )
    return {row.stream: row.value for row in session.execute(stmt)}


def set_cursor(
    session: Session, connection_id: int, stream: str, value: str, *, at: datetime
) -> None:
    """Save a stream's cursor in the caller's transaction (with the page it follows)."""
    ensure_utc(at, what="at")
    stmt = insert_for(session, SyncCursorRow.__table__)  # type: ignore[arg-type]
    stmt = stmt.values(connection_id=connection_id, stream=stream, value=value, updated_at=at)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["connection_id", "stream"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )


# --------------------------------------------------------------------------- runs


def start_run(
    session: Session,
    *,
    kind: str,
    started_at: datetime,
    connection_id: int | None = None,
    run_id: str | None = None,
) -> str:
    """Open a run in the ledger (outcome ``running``); returns its id (a new UUID if not given).

    Commit it on its own so the ledger shows the run while it works.
    """
    ensure_utc(started_at, what="started_at")
    run_id = run_id or str(uuid.uuid4())
    session.add(
        RunRow(
            id=run_id,
            connection_id=connection_id,
            kind=kind,
            started_at=started_at,
            outcome=RunOutcome.RUNNING.value,
            counts={},
            api_calls={},
        )
    )
    session.flush()
    return run_id


def finish_run(
    session: Session,
    run_id: str,
    *,
    outcome: RunOutcome,
    ended_at: datetime,
    counts: Mapping[str, Any] | None = None,
    api_calls: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> RunRecord:
    """Close a run with its outcome, counts and API calls (``error``: no secrets in it).

    Raises:
        NotFoundError: no run has that id.
        InvalidTransitionError: ``outcome`` is ``running``, or the run was already finished.
    """
    ensure_utc(ended_at, what="ended_at")
    row = session.get(RunRow, run_id)
    if row is None:
        raise NotFoundError(f"no run {run_id}")
    if outcome is RunOutcome.RUNNING or row.outcome != RunOutcome.RUNNING.value:
        raise InvalidTransitionError(f"run {run_id} is {row.outcome}; cannot finish as {outcome}")
    row.outcome = outcome.value
    row.ended_at = ended_at
    row.counts = dict(counts or {})
    row.api_calls = dict(api_calls or {})
    row.error = error
    session.flush()
    return _run(row)


ABANDONED_ERROR = "abandoned: its process ended without closing the run (killed or crashed)"


def close_abandoned_runs(session: Session, *, ended_at: datetime) -> int:
    """Close every run still marked ``running`` as ``failed`` with :data:`ABANDONED_ERROR`;
    returns how many.

    Call only while holding the worker lock: then no other process can be running a cycle on
    this store, so a ``running`` row belongs to a process that died (kill -9, a crash).
    """
    ensure_utc(ended_at, what="ended_at")
    rows = session.scalars(select(RunRow).where(RunRow.outcome == RunOutcome.RUNNING.value))
    count = 0
    for row in rows:
        row.outcome = RunOutcome.FAILED.value
        row.ended_at = max(ended_at, row.started_at)
        row.error = ABANDONED_ERROR
        count += 1
    session.flush()
    return count


def recent_runs(
    session: Session,
    *,
    limit: int = 20,
    connection_id: int | None = None,
    kind: str | None = None,
) -> list[RunRecord]:
    """The latest runs, newest first."""
    stmt = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id).limit(limit)
    if connection_id is not None:
        stmt = stmt.where(RunRow.connection_id == connection_id)
    if kind is not None:
        stmt = stmt.where(RunRow.kind == kind)
    return [_run(r) for r in session.scalars(stmt)]


def _run(r: RunRow) -> RunRecord:
    return RunRecord(
        id=r.id,
        kind=r.kind,
        connection_id=r.connection_id,
        started_at=r.started_at,
        ended_at=r.ended_at,
        outcome=RunOutcome(r.outcome),
        counts=dict(r.counts),
        api_calls=dict(r.api_calls),
        error=r.error,
    )


# --------------------------------------------------------------------------- quarantine


def quarantine(
    session: Session,
    *,
    connection_id: int,
    stream: str,
    crm_id: str,
    reason: str,
    payload: Mapping[str, Any] | None,
    seen_at: datetime,
) -> None:
    """Set a record aside with ``reason``, keeping the payload as received.

    Seeing the same record again updates reason, payload and ``last_seen_at``, counts the
    sighting, and re-opens it if it had been resolved.
    """
    ensure_utc(seen_at, what="seen_at")
    stmt = insert_for(session, QuarantinedRecordRow.__table__)  # type: ignore[arg-type]
    stmt = stmt.values(
        connection_id=connection_id,
        stream=stream,
        crm_id=crm_id,
        reason=reason,
        payload=None if payload is None else dict(payload),
        first_seen_at=seen_at,
        last_seen_at=seen_at,
        seen_count=1,
        resolved_at=None,
    )
    table = QuarantinedRecordRow.__table__
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["connection_id", "stream", "crm_id"],
            set_={
                "reason": stmt.excluded.reason,
                "payload": stmt.excluded.payload,
                "last_seen_at": stmt.excluded.last_seen_at,
                "seen_count": table.c.seen_count + 1,
                "resolved_at": None,
            },
        )
    )


def resolve_quarantined(
    session: Session, *, connection_id: int, stream: str, crm_id: str, resolved_at: datetime
) -> bool:
    """Mark a quarantined record resolved; ``False`` if it was not quarantined or not open."""
    ensure_utc(resolved_at, what="resolved_at")
    row = session.scalars(
        select(QuarantinedRecordRow).where(
            QuarantinedRecordRow.connection_id == connection_id,
            QuarantinedRecordRow.stream == stream,
            QuarantinedRecordRow.crm_id == crm_id,
            QuarantinedRecordRow.resolved_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return False
    row.resolved_at = resolved_at
    session.flush()
    return True


def unresolved_quarantine(
    session: Session, *, connection_id: int | None = None, limit: int | None = None
) -> list[QuarantinedRecord]:
    """Open quarantined records, oldest first."""
    stmt = (
        select(QuarantinedRecordRow)
        .where(QuarantinedRecordRow.resolved_at.is_(None))
        .order_by(QuarantinedRecordRow.first_seen_at, QuarantinedRecordRow.id)
        .limit(limit)
    )
    if connection_id is not None:
        stmt = stmt.where(QuarantinedRecordRow.connection_id == connection_id)
    return [
        QuarantinedRecord(
            connection_id=r.connection_id,
            stream=r.stream,
            crm_id=r.crm_id,
            reason=r.reason,
            payload=None if r.payload is None else dict(r.payload),
            first_seen_at=r.first_seen_at,
            last_seen_at=r.last_seen_at,
            seen_count=r.seen_count,
            resolved_at=r.resolved_at,
        )
        for r in session.scalars(stmt)
    ]


def api_calls_since(session: Session, connection_id: int, since: datetime) -> int:
    """API calls recorded by the connection's runs started at or after ``since``.

    Sums ``api_calls["total"]`` of finished runs (a run killed before it finished recorded
    none: the count is a floor, and the CRM's own daily counter still stops the connector).
    """
    ensure_utc(since, what="since")
    stmt = select(RunRow.api_calls).where(
        RunRow.connection_id == connection_id, RunRow.started_at >= since
    )
    total = 0
    for calls in session.scalars(stmt):
        value = calls.get("total") if isinstance(calls, dict) else None
        if isinstance(value, int):
            total += value
    return total
