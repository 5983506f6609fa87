"""Work queues of the sync pipeline and the MQL entries marketing's figures are counted from.

* The **evaluation queue** holds leads whose inputs changed; it is written in the transaction of
  the pulled page that changed them and emptied in the transaction that saves their cycles.
* The **push queue** holds leads whose SLA fields may differ from what the CRM confirmed; it is
  written with the cycles that may change them and emptied once the CRM confirmed the
  differences. A record-level failure stays queued with its error and attempt count.
* **MQL entries** (``lead_mqls``) are each lead's MQL instants under an agreement, replaced per
  lead like its cycles.

Both queues make a killed run resumable: nothing that was pulled goes unevaluated, nothing that
was evaluated goes unpushed. None of these functions commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sla_sync.domain import ensure_utc
from sla_sync.store.models import EvaluationQueueRow, LeadMqlRow, PushQueueRow
from sla_sync.store.repositories._upsert import chunks, insert_for

# --------------------------------------------------------------------------- evaluation queue


def enqueue_evaluation(
    session: Session, connection_id: int, lead_ids: Iterable[str], *, at: datetime
) -> None:
    """Queue leads for re-evaluation (already queued ones stay queued)."""
    _enqueue(session, EvaluationQueueRow, connection_id, lead_ids, at=at, extra={})


def evaluation_batch(session: Session, connection_id: int, *, limit: int) -> list[str]:
    """Up to ``limit`` queued lead ids, in id order (a stable order: a resumed run goes on
    where a killed one stopped)."""
    stmt = (
        select(EvaluationQueueRow.lead_crm_id)
        .where(EvaluationQueueRow.connection_id == connection_id)
        .order_by(EvaluationQueueRow.lead_crm_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def dequeue_evaluation(session: Session, connection_id: int, lead_ids: Iterable[str]) -> None:
    """Remove leads from the evaluation queue (their cycles are saved in this transaction)."""
    _dequeue(session, EvaluationQueueRow, connection_id, lead_ids)


def evaluation_backlog(session: Session, connection_id: int) -> int:
    """How many leads wait for evaluation."""
    return _count(session, EvaluationQueueRow, connection_id)


# --------------------------------------------------------------------------- push queue


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedPush:
    """A lead waiting for the push step; ``attempts`` / ``last_error`` after failures."""

    lead_id: str
    queued_at: datetime
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None


def enqueue_push(
    session: Session, connection_id: int, lead_ids: Iterable[str], *, at: datetime
) -> None:
    """Queue leads for the push step; a lead already queued keeps its attempts and error."""
    _enqueue(session, PushQueueRow, connection_id, lead_ids, at=at, extra={"attempts": 0})


def push_batch(
    session: Session, connection_id: int, *, limit: int, after: str | None = None
) -> list[QueuedPush]:
    """Up to ``limit`` queued pushes with a lead id greater than ``after``, in id order."""
    stmt = select(PushQueueRow).where(PushQueueRow.connection_id == connection_id)
    if after is not None:
        stmt = stmt.where(PushQueueRow.lead_crm_id > after)
    rows = session.scalars(stmt.order_by(PushQueueRow.lead_crm_id).limit(limit))
    return [
        QueuedPush(
            lead_id=r.lead_crm_id,
            queued_at=r.queued_at,
            attempts=r.attempts,
            last_error=r.last_error,
            last_attempt_at=r.last_attempt_at,
        )
        for r in rows
    ]


def dequeue_push(session: Session, connection_id: int, lead_ids: Iterable[str]) -> None:
    """Remove leads from the push queue (confirmed, nothing to send, or given up)."""
    _dequeue(session, PushQueueRow, connection_id, lead_ids)


def record_push_failure(
    session: Session, connection_id: int, lead_id: str, *, error: str, at: datetime
) -> int:
    """Count a failed attempt for a queued lead (it stays queued); returns the attempts so far."""
    ensure_utc(at, what="at")
    result = session.execute(
        update(PushQueueRow)
        .where(PushQueueRow.connection_id == connection_id, PushQueueRow.lead_crm_id == lead_id)
        .values(attempts=PushQueueRow.attempts + 1, last_error=error, last_attempt_at=at)
        .returning(PushQueueRow.attempts)
    )
    return result.scalar_one_or_none() or 0


def push_backlog(session: Session, connection_id: int) -> int:
    """How many leads wait for the push step."""
    return _count(session, PushQueueRow, connection_id)


# --------------------------------------------------------------------------- MQL entries


def save_mqls(
    session: Session,
    connection_id: int,
    mqls_by_lead: Mapping[str, Sequence[tuple[datetime, str | None]]],
    *,
    agreement: str,
) -> None:
    """Replace the MQL entries ``(at, segment)`` of each lead given under ``agreement``."""
    rows = [
        {
            "connection_id": connection_id,
            "agreement": agreement,
            "lead_crm_id": lead_id,
            "at": ensure_utc(at, what=f"MQL entry of lead {lead_id}"),
            "segment": segment,
        }
        for lead_id, entries in mqls_by_lead.items()
        for at, segment in dict(entries).items()  # one row per instant
    ]
    for chunk in chunks(sorted(mqls_by_lead)):
        session.execute(
            delete(LeadMqlRow).where(
                LeadMqlRow.agreement == agreement,
                LeadMqlRow.connection_id == connection_id,
                LeadMqlRow.lead_crm_id.in_(chunk),
            )
        )
    table = LeadMqlRow.__table__
    for chunk_rows in chunks(rows):
        session.execute(insert_for(session, table), list(chunk_rows))  # type: ignore[arg-type]


def load_mqls(
    session: Session, agreement: str, *, start: datetime, end: datetime
) -> list[tuple[str, datetime, str | None]]:
    """MQL entries ``(lead id, at, segment)`` of ``agreement`` in ``[start, end)``, every
    connection of the agreement (a lead id is unique per connection: the connection id is
    prefixed to keep them apart)."""
    stmt = (
        select(LeadMqlRow.connection_id, LeadMqlRow.lead_crm_id, LeadMqlRow.at, LeadMqlRow.segment)
        .where(LeadMqlRow.agreement == agreement, LeadMqlRow.at >= start, LeadMqlRow.at < end)
        .order_by(LeadMqlRow.at, LeadMqlRow.id)
    )
    return [(f"{c}:{lead}", at, segment) for c, lead, at, segment in session.execute(stmt)]


# --------------------------------------------------------------------------- helpers


def _enqueue(
    session: Session,
    model: type[EvaluationQueueRow] | type[PushQueueRow],
    connection_id: int,
    lead_ids: Iterable[str],
    *,
    at: datetime,
    extra: Mapping[str, Any],
) -> None:
    ensure_utc(at, what="at")
    ids = sorted(set(lead_ids))
    if not ids:
        return
    stmt = insert_for(session, model.__table__).on_conflict_do_nothing(  # type: ignore[arg-type]
        index_elements=["connection_id", "lead_crm_id"]
    )
    for chunk in chunks(ids):
        session.execute(
            stmt,
            [
                {"connection_id": connection_id, "lead_crm_id": i, "queued_at": at, **extra}
                for i in chunk
            ],
        )


def _dequeue(
    session: Session,
    model: type[EvaluationQueueRow] | type[PushQueueRow],
    connection_id: int,
    lead_ids: Iterable[str],
) -> None:
    for chunk in chunks(sorted(set(lead_ids))):
        session.execute(
            delete(model).where(model.connection_id == connection_id, model.lead_crm_id.in_(chunk))
        )


def _count(
    session: Session, model: type[EvaluationQueueRow] | type[PushQueueRow], connection_id: int
) -> int:
    stmt = select(func.count()).select_from(model).where(model.connection_id == connection_id)
    return session.execute(stmt).scalar_one()
