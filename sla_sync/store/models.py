"""SQLAlchemy 2 table models of the store (typed declarative).

Rows only: conversion to and from :mod:`sla_sync.domain` values lives in the repositories.

Design notes (why the schema looks like this):

* Every CRM-side identifier is stored as the CRM's own id string (``crm_id``, ``lead_crm_id``,
  ``owner_crm_id``) scoped by ``connection_id``; only ``connection_id`` is a foreign key. Streams
  are pulled independently and in any order (a touch's association can arrive before its lead, a
  lead can name an owner that was deactivated), so foreign keys between CRM records would turn
  harmless ordering into failed pages.
* Nullable values that take part in a unique key (a cleared lifecycle value, an unassigned
  owner) are stored as ``""``: SQL treats NULLs as distinct in unique constraints, which would
  let a re-read insert the same change twice.
* ``content_hash`` lets an upsert skip rows whose content did not change, so re-reading a page
  writes nothing and reports no changed lead.
* Instants are :class:`~sla_sync.store.types.UtcDateTime`; there are no server-side defaults:
  callers pass every instant (the store does not read the clock either).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sla_sync.store.types import UtcDateTime

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit keys on PostgreSQL; SQLite only auto-increments an ``INTEGER PRIMARY KEY`` (rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: Goal figures (money, rates, proration) as the text of the exact ``Decimal``: ``Numeric`` rounds
#: to its scale on PostgreSQL and to a float on SQLite, and a goal version must read back equal.
DecimalText = String(64)

CrmId = String(64)
Name = String(100)


class Base(DeclarativeBase):
    """Declarative base; its metadata carries the naming convention Alembic batch mode needs."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(none_as_null=True),
        list[Any]: JSON(none_as_null=True),
    }


def _connection_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), nullable=False)


class Connection(Base):
    """A configured CRM connection (one HubSpot portal or Salesforce org)."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Name, unique=True)
    kind: Mapped[str] = mapped_column(String(20))


class OwnerRow(Base):
    __tablename__ = "owners"
    __table_args__ = (UniqueConstraint("connection_id", "crm_id", name="uq_owners_crm_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    crm_id: Mapped[str] = mapped_column(CrmId)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(255))
    manager_crm_id: Mapped[str | None] = mapped_column(CrmId)
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool]
    content_hash: Mapped[str] = mapped_column(String(64))


class LeadRow(Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("connection_id", "crm_id", name="uq_leads_crm_id"),
        Index("ix_leads_merged_into", "connection_id", "merged_into"),
        Index("ix_leads_owner", "connection_id", "owner_crm_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    crm_id: Mapped[str] = mapped_column(CrmId)
    owner_crm_id: Mapped[str | None] = mapped_column(CrmId)
    stage: Mapped[str | None] = mapped_column(Name)
    status: Mapped[str | None] = mapped_column(Name)
    fields: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    merged_into: Mapped[str | None] = mapped_column(CrmId)
    deleted_at: Mapped[datetime | None]
    #: The CRM's last-modified instant of the record (newer-wins on upsert).
    modified_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))


class LifecycleChangeRow(Base):
    __tablename__ = "lifecycle_changes"
    __table_args__ = (
        UniqueConstraint(
            "connection_id", "lead_crm_id", "field", "at", "value", name="uq_lifecycle_changes"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    field: Mapped[str] = mapped_column(String(16))
    #: ``""`` when the field was cleared (see the module docstring).
    value: Mapped[str] = mapped_column(Name)
    at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(Name)


class OwnerChangeRow(Base):
    __tablename__ = "owner_changes"
    __table_args__ = (
        UniqueConstraint(
            "connection_id", "lead_crm_id", "at", "owner_crm_id", name="uq_owner_changes"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    #: ``""`` when the lead became unassigned.
    owner_crm_id: Mapped[str] = mapped_column(CrmId)
    at: Mapped[datetime]


class FieldChangeRow(Base):
    __tablename__ = "field_changes"
    __table_args__ = (
        UniqueConstraint(
            "connection_id", "lead_crm_id", "name", "at", "value", name="uq_field_changes"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    name: Mapped[str] = mapped_column(Name)
    #: ``""`` when the field was cleared.
    value: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]


class TouchRow(Base):
    __tablename__ = "touches"
    __table_args__ = (
        UniqueConstraint("connection_id", "crm_id", name="uq_touches_crm_id"),
        Index("ix_touches_lead", "connection_id", "lead_crm_id"),
        # A page that lists an activity's complete link set drops its other links (0002).
        Index("ix_touches_activity", "connection_id", "activity_crm_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    crm_id: Mapped[str] = mapped_column(CrmId)
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    #: The CRM activity this touch comes from (``crm_id`` is ``<activity>/<lead>``); added in
    #: 0002, ``NULL`` only for rows whose id does not follow that form.
    activity_crm_id: Mapped[str | None] = mapped_column(CrmId)
    owner_crm_id: Mapped[str | None] = mapped_column(CrmId)
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    automated: Mapped[bool]
    by_sla_sync: Mapped[bool]
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))


class LeadCycleRow(Base):
    __tablename__ = "lead_cycles"
    __table_args__ = (
        UniqueConstraint(
            "agreement", "connection_id", "lead_crm_id", "kind", "number", name="uq_lead_cycles"
        ),
        Index("ix_lead_cycles_lead", "connection_id", "lead_crm_id"),
        # The evaluate step's "open cycles whose deadline has passed" scan.
        Index("ix_lead_cycles_due", "connection_id", "next_check_at"),
        Index("ix_lead_cycles_period", "agreement", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    agreement: Mapped[str] = mapped_column(Name)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    owner_crm_id: Mapped[str | None] = mapped_column(CrmId)
    team: Mapped[str | None] = mapped_column(String(255))
    tier: Mapped[str | None] = mapped_column(Name)
    target_seconds: Mapped[int | None]
    deadline_at: Mapped[datetime | None]
    warning_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    first_touch_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    business_seconds: Mapped[int]
    paused_seconds: Mapped[int]
    attempts: Mapped[int]
    attempts_required: Mapped[int | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
    escalated_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime]


class GoalVersionRow(Base):
    """One published :class:`~sla_sync.domain.GoalVersion` and its publication facts.

    ``version`` is the engine's number, counted per agreement across periods. ``computed_*`` is
    the formula's result for the whole period; ``inputs`` maps each goal input's name to
    ``{"value": <decimal text>, "source": ..., "months": ...}`` (``null`` when not set).
    """

    __tablename__ = "goal_versions"
    __table_args__ = (UniqueConstraint("agreement", "version", name="uq_goal_versions"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agreement: Mapped[str] = mapped_column(Name)
    period: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    computed_leads: Mapped[int]
    computed_customers: Mapped[str] = mapped_column(DecimalText)
    computed_value: Mapped[str] = mapped_column(DecimalText)
    inputs: Mapped[dict[str, Any]]
    proration: Mapped[str] = mapped_column(DecimalText)
    effective_from: Mapped[date | None]
    carried_over: Mapped[str] = mapped_column(DecimalText)
    carried_over_value: Mapped[str] = mapped_column(DecimalText)
    reissued_from: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime]
    frozen: Mapped[bool]


class PeriodAttainmentRow(Base):
    """Attainment figures of one scope in one period.

    The flat columns are the latest figures; ``final`` (a JSON snapshot of the same figures) and
    ``closed_at`` are set once when the period closes, so a late-data recomputation updates the
    live figures while the closed numbers stay as reported.
    """

    __tablename__ = "period_attainment"
    __table_args__ = (
        UniqueConstraint(
            "agreement", "period", "scope_kind", "scope_id", name="uq_period_attainment"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agreement: Mapped[str] = mapped_column(Name)
    period: Mapped[str] = mapped_column(String(16))
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str] = mapped_column(String(255))
    speed_met: Mapped[int]
    speed_decided: Mapped[int]
    depth_met: Mapped[int]
    depth_decided: Mapped[int]
    acceptance_met: Mapped[int]
    acceptance_decided: Mapped[int]
    running: Mapped[int]
    median_first_touch_minutes: Mapped[float | None] = mapped_column(Double)
    p90_first_touch_minutes: Mapped[float | None] = mapped_column(Double)
    mqls_delivered: Mapped[int]
    mql_goal: Mapped[float | None] = mapped_column(Double)
    value_delivered: Mapped[float | None] = mapped_column(Double)
    value_goal: Mapped[float | None] = mapped_column(Double)
    expected_to_date: Mapped[float | None] = mapped_column(Double)
    pace_index: Mapped[float | None] = mapped_column(Double)
    consequences: Mapped[list[Any]]
    computed_at: Mapped[datetime]
    final: Mapped[dict[str, Any] | None]
    closed_at: Mapped[datetime | None]


class ConfirmedValueRow(Base):
    __tablename__ = "confirmed_values"
    __table_args__ = (
        UniqueConstraint(
            "connection_id", "object_type", "crm_id", "field", name="uq_confirmed_values"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    object_type: Mapped[str] = mapped_column(String(32))
    crm_id: Mapped[str] = mapped_column(CrmId)
    field: Mapped[str] = mapped_column(Name)
    value: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime]


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'confirmed', 'failed')", name="status"),
        Index("ix_outbox_status", "connection_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    connection_id: Mapped[int] = _connection_fk()
    operation: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The id the CRM gave the record this call created (tasks), once known.
    created_crm_id: Mapped[str | None] = mapped_column(CrmId)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AlertRow(Base):
    """One alert that fired; unique per (agreement, kind, subject) so each fires once.

    ``subject`` is a canonical key built by the repository (``lead:<connection>:<lead>:<cycle
    kind>:<number>`` or ``period:<period>:<scope>:<scope id>:<name>``); the other columns are the
    same facts, queryable.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("agreement", "kind", "subject", name="uq_alerts"),
        Index("ix_alerts_lead", "connection_id", "lead_crm_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agreement: Mapped[str] = mapped_column(Name)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    lead_crm_id: Mapped[str | None] = mapped_column(CrmId)
    cycle_kind: Mapped[str | None] = mapped_column(String(16))
    cycle_number: Mapped[int | None]
    period: Mapped[str | None] = mapped_column(String(16))
    raised_at: Mapped[datetime]
    detail: Mapped[dict[str, Any]]


class SyncCursorRow(Base):
    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("connection_id", "stream", name="uq_sync_cursors"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    stream: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint("outcome IN ('running', 'success', 'partial', 'failed')", name="outcome"),
        Index("ix_runs_started_at", "started_at"),
        Index("ix_runs_connection", "connection_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    counts: Mapped[dict[str, Any]]
    api_calls: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)


class QuarantinedRecordRow(Base):
    __tablename__ = "quarantined_records"
    __table_args__ = (
        UniqueConstraint("connection_id", "stream", "crm_id", name="uq_quarantined_records"),
        Index("ix_quarantined_records_open", "connection_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    stream: Mapped[str] = mapped_column(String(64))
    crm_id: Mapped[str] = mapped_column(CrmId)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    seen_count: Mapped[int]
    resolved_at: Mapped[datetime | None]


# --------------------------------------------------------------------------- pipeline (0002)


class LeadMqlRow(Base):
    """One MQL entry of a lead under an agreement (the engine's ``mql_deliveries``), kept per
    lead so marketing's delivered count of a period is a query, not a reload of every history.

    Replaced per lead whenever the lead is re-evaluated, like its cycles.
    """

    __tablename__ = "lead_mqls"
    __table_args__ = (
        UniqueConstraint("agreement", "connection_id", "lead_crm_id", "at", name="uq_lead_mqls"),
        Index("ix_lead_mqls_period", "agreement", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    agreement: Mapped[str] = mapped_column(Name)
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    at: Mapped[datetime]
    segment: Mapped[str | None] = mapped_column(String(255))


class EvaluationQueueRow(Base):
    """A lead whose inputs changed and whose cycles are not recomputed yet.

    Written in the transaction of the page that changed the lead, deleted in the transaction
    that saves its cycles: a run killed between pull and evaluate loses no lead.
    """

    __tablename__ = "evaluation_queue"
    __table_args__ = (UniqueConstraint("connection_id", "lead_crm_id", name="uq_evaluation_queue"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    queued_at: Mapped[datetime]


class PushQueueRow(Base):
    """A lead whose SLA fields may differ from what the CRM confirmed.

    Written with the cycles that may change its fields, deleted once the CRM confirmed the
    differences (or there were none). A record-level failure keeps the row with ``attempts``
    and ``last_error``, so it is retried on later cycles (alone: confirmed leads are gone from
    the queue).
    """

    __tablename__ = "push_queue"
    __table_args__ = (UniqueConstraint("connection_id", "lead_crm_id", name="uq_push_queue"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = _connection_fk()
    lead_crm_id: Mapped[str] = mapped_column(CrmId)
    queued_at: Mapped[datetime]
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
