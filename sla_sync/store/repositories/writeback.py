"""Writing back to the CRM: confirmed values, the outbox (write log) and alerts.

The rules these support (architecture, section 3 and 4):

* a value counts as confirmed only from the CRM's per-record answer: :func:`confirm_values`
  is called after that answer, and :func:`load_confirmed` is what the push step diffs against;
* a non-idempotent call (creating a task) is recorded in the outbox with an idempotency key
  *before* the call (:func:`record_intent`), so a restarted run can find what a crashed one did;
* an alert fires once per (agreement, kind, subject): :func:`record_cycle_alert` returns
  ``False`` when it already fired.

None of these functions commits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sla_sync.domain import CycleKind, ScopeKind, ensure_utc
from sla_sync.store.models import AlertRow, ConfirmedValueRow, OutboxRow
from sla_sync.store.records import (
    AlertKind,
    AlertRecord,
    InvalidTransitionError,
    NotFoundError,
    OutboxEntry,
    OutboxStatus,
)
from sla_sync.store.repositories._upsert import chunks, insert_for

# --------------------------------------------------------------------------- confirmed values


def load_confirmed(
    session: Session, connection_id: int, object_type: str, crm_ids: Iterable[str]
) -> dict[str, dict[str, str | None]]:
    """Last confirmed field values per record: ``{crm_id: {field: value}}``.

    Records with no confirmed value are left out.
    """
    found: dict[str, dict[str, str | None]] = {}
    for chunk in chunks(sorted(set(crm_ids))):
        stmt = select(
            ConfirmedValueRow.crm_id, ConfirmedValueRow.field, ConfirmedValueRow.value
        ).where(
            ConfirmedValueRow.connection_id == connection_id,
            ConfirmedValueRow.object_type == object_type,
            ConfirmedValueRow.crm_id.in_(chunk),
        )
        for crm_id, field, value in session.execute(stmt):
            found.setdefault(crm_id, {})[field] = value
    return found


def confirm_values(
    session: Session,
    connection_id: int,
    object_type: str,
    values: Mapping[str, Mapping[str, str | None]],
    *,
    confirmed_at: datetime,
) -> None:
    """Record ``{crm_id: {field: value}}`` as confirmed by the CRM at ``confirmed_at``.

    Call only with values the CRM's per-record answer acknowledged.
    """
    ensure_utc(confirmed_at, what="confirmed_at")
    rows = [
        {
            "connection_id": connection_id,
            "object_type": object_type,
            "crm_id": crm_id,
            "field": field,
            "value": value,
            "confirmed_at": confirmed_at,
        }
        for crm_id, fields in values.items()
        for field, value in fields.items()
    ]
    if not rows:
        return
    key = ("connection_id", "object_type", "crm_id", "field")
    stmt = insert_for(session, ConfirmedValueRow.__table__)  # type: ignore[arg-type]
    upsert = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={"value": stmt.excluded.value, "confirmed_at": stmt.excluded.confirmed_at},
    )
    for chunk_rows in chunks(rows):
        session.execute(upsert, list(chunk_rows))


# --------------------------------------------------------------------------- outbox

_NEXT: dict[OutboxStatus, frozenset[OutboxStatus]] = {
    OutboxStatus.PENDING: frozenset(OutboxStatus),
    OutboxStatus.SENT: frozenset(OutboxStatus),
    OutboxStatus.FAILED: frozenset(OutboxStatus),
    # Confirmed is final: the CRM answered; nothing may send the write again.
    OutboxStatus.CONFIRMED: frozenset({OutboxStatus.CONFIRMED}),
}


def record_intent(
    session: Session,
    *,
    connection_id: int,
    idempotency_key: str,
    operation: str,
    payload: Mapping[str, Any],
    at: datetime,
) -> OutboxEntry:
    """Record an intended CRM write before making the call; return the stored entry.

    Idempotent per key: when the key is already recorded, nothing changes and the existing
    entry is returned (its ``status`` tells whether the write was sent or confirmed before).
    """
    ensure_utc(at, what="at")
    stmt = insert_for(session, OutboxRow.__table__)  # type: ignore[arg-type]
    session.execute(
        stmt.values(
            idempotency_key=idempotency_key,
            connection_id=connection_id,
            operation=operation,
            payload=dict(payload),
            status=OutboxStatus.PENDING.value,
            attempts=0,
            created_at=at,
            updated_at=at,
        ).on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return get_outbox_entry(session, idempotency_key)


def get_outbox_entry(session: Session, idempotency_key: str) -> OutboxEntry:
    """The outbox entry of ``idempotency_key``.

    Raises:
        NotFoundError: no entry has that key.
    """
    return _entry(_outbox_row(session, idempotency_key))


def mark_sent(session: Session, idempotency_key: str, *, at: datetime) -> OutboxEntry:
    """The call was made (counts an attempt); its answer is not known yet."""
    return _transition(session, idempotency_key, OutboxStatus.SENT, at=at, attempt=True)


def mark_confirmed(
    session: Session,
    idempotency_key: str,
    *,
    at: datetime,
    created_crm_id: str | None = None,
) -> OutboxEntry:
    """The CRM acknowledged the write; ``created_crm_id`` is the id of a record it created."""
    return _transition(
        session, idempotency_key, OutboxStatus.CONFIRMED, at=at, created_crm_id=created_crm_id
    )


def mark_failed(session: Session, idempotency_key: str, *, error: str, at: datetime) -> OutboxEntry:
    """The write failed with ``error`` (no secrets in it, please); it may be retried.

    Counts an attempt unless the entry was already marked sent for this attempt.
    """
    row = _outbox_row(session, idempotency_key)
    attempt = row.status != OutboxStatus.SENT.value
    return _transition(
        session, idempotency_key, OutboxStatus.FAILED, at=at, attempt=attempt, error=error
    )


def unfinished_outbox(
    session: Session,
    connection_id: int,
    *,
    statuses: Collection[OutboxStatus] = (OutboxStatus.PENDING, OutboxStatus.SENT),
    limit: int | None = None,
) -> list[OutboxEntry]:
    """Entries of a connection in ``statuses``, oldest first.

    The default (pending and sent) is what a restarted run must resolve: pending calls may not
    have been made, sent ones may have succeeded without the answer being recorded.
    """
    stmt = (
        select(OutboxRow)
        .where(
            OutboxRow.connection_id == connection_id,
            OutboxRow.status.in_([s.value for s in statuses]),
        )
        .order_by(OutboxRow.created_at, OutboxRow.id)
        .limit(limit)
    )
    return [_entry(r) for r in session.scalars(stmt)]


def _transition(
    session: Session,
    key: str,
    status: OutboxStatus,
    *,
    at: datetime,
    attempt: bool = False,
    error: str | None = None,
    created_crm_id: str | None = None,
) -> OutboxEntry:
    ensure_utc(at, what="at")
    row = _outbox_row(session, key)
    current = OutboxStatus(row.status)
    if status not in _NEXT[current]:
        raise InvalidTransitionError(f"outbox entry {key} is {current}; cannot become {status}")
    row.status = status.value
    row.updated_at = at
    if attempt:
        row.attempts += 1
    if status is OutboxStatus.FAILED:
        row.last_error = error
    if created_crm_id is not None:
        row.created_crm_id = created_crm_id
    session.flush()
    return _entry(row)


def _outbox_row(session: Session, key: str) -> OutboxRow:
    row = session.scalars(select(OutboxRow).where(OutboxRow.idempotency_key == key)).one_or_none()
    if row is None:
        raise NotFoundError(f"no outbox entry with idempotency key {key!r}")
    return row


def _entry(r: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        idempotency_key=r.idempotency_key,
        connection_id=r.connection_id,
        operation=r.operation,
        payload=dict(r.payload),
        status=OutboxStatus(r.status),
        attempts=r.attempts,
        last_error=r.last_error,
        created_crm_id=r.created_crm_id,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


# --------------------------------------------------------------------------- alerts


def record_cycle_alert(
    session: Session,
    *,
    agreement: str,
    connection_id: int,
    lead_id: str,
    cycle_kind: CycleKind,
    cycle_number: int,
    kind: AlertKind,
    raised_at: datetime,
    detail: Mapping[str, Any] | None = None,
) -> bool:
    """Record that alert ``kind`` fired for one lead cycle. ``False``: it had already fired."""
    subject = f"lead:{connection_id}:{lead_id}:{cycle_kind.value}:{cycle_number}"
    return _record_alert(
        session,
        {
            "agreement": agreement,
            "kind": kind.value,
            "subject": subject,
            "connection_id": connection_id,
            "lead_crm_id": lead_id,
            "cycle_kind": cycle_kind.value,
            "cycle_number": cycle_number,
            "raised_at": raised_at,
            "detail": dict(detail or {}),
        },
    )


def record_period_alert(
    session: Session,
    *,
    agreement: str,
    period: str,
    scope: ScopeKind,
    scope_id: str,
    name: str,
    raised_at: datetime,
    kind: AlertKind = AlertKind.CONSEQUENCE,
    detail: Mapping[str, Any] | None = None,
) -> bool:
    """Record that alert ``name`` (e.g. a consequence) fired for one period and scope.

    ``False``: it had already fired.
    """
    subject = f"period:{period}:{scope.value}:{scope_id}:{name}"
    return _record_alert(
        session,
        {
            "agreement": agreement,
            "kind": kind.value,
            "subject": subject,
            "period": period,
            "raised_at": raised_at,
            "detail": dict(detail or {}),
        },
    )


def list_alerts(
    session: Session,
    *,
    agreement: str | None = None,
    connection_id: int | None = None,
    lead_ids: Iterable[str] | None = None,
) -> list[AlertRecord]:
    """Alerts matching every filter given, in the order they fired."""
    stmt = select(AlertRow).order_by(AlertRow.raised_at, AlertRow.id)
    if agreement is not None:
        stmt = stmt.where(AlertRow.agreement == agreement)
    if connection_id is not None:
        stmt = stmt.where(AlertRow.connection_id == connection_id)
    if lead_ids is not None:
        stmt = stmt.where(AlertRow.lead_crm_id.in_(sorted(set(lead_ids))))
    return [
        AlertRecord(
            agreement=r.agreement,
            kind=AlertKind(r.kind),
            subject=r.subject,
            raised_at=r.raised_at,
            connection_id=r.connection_id,
            lead_id=r.lead_crm_id,
            cycle_kind=r.cycle_kind,
            cycle_number=r.cycle_number,
            period=r.period,
            detail=dict(r.detail),
        )
        for r in session.scalars(stmt)
    ]


def _record_alert(session: Session, row: dict[str, Any]) -> bool:
    ensure_utc(row["raised_at"], what="raised_at")
    stmt = insert_for(session, AlertRow.__table__)  # type: ignore[arg-type]
    stmt = stmt.values(**row).on_conflict_do_nothing(
        index_elements=["agreement", "kind", "subject"]
    )
    inserted = session.execute(stmt.returning(AlertRow.__table__.c.id)).first()
    return inserted is not None
