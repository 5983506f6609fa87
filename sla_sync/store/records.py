"""Value types and errors of the store's own aggregates.

Inputs from the CRM and engine results (goal versions included) use :mod:`sla_sync.domain`; the
records here describe what only the store keeps (publication and freezing of goal versions, the
outbox, alerts, runs, quarantine). All frozen; all instants aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sla_sync.domain import Attainment, GoalVersion, Lead


class StoreError(Exception):
    """Base class of the store's own errors (database errors stay SQLAlchemy's)."""


class NotFoundError(StoreError, LookupError):
    """A record the caller named does not exist."""


class GoalPeriodFrozenError(StoreError):
    """A goal version was published for, or changed in, a period whose goal is frozen."""


class InvalidTransitionError(StoreError):
    """An outbox entry or run was moved to a state it cannot reach from its current one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadVersion:
    """A lead as pulled, with the CRM's last-modified instant of the record.

    Upserts apply newer-wins on ``modified_at``; a plain :class:`~sla_sync.domain.Lead` is
    accepted too and means "modification time unknown" (always applied when content differs).
    """

    lead: Lead
    modified_at: datetime | None = None


# --------------------------------------------------------------------------- goals


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredGoalVersion:
    """A published goal version with what only the store knows about it.

    ``goal`` is the engine's version exactly as published; ``published_at`` is when it was
    stored; ``frozen`` is set on every version of a period once the period's goal is frozen.
    """

    goal: GoalVersion
    published_at: datetime
    frozen: bool


# --------------------------------------------------------------------------- attainment


@dataclass(frozen=True, slots=True, kw_only=True)
class AttainmentRecord:
    """Stored attainment of one scope: the live figures and, once closed, the closed ones."""

    current: Attainment
    computed_at: datetime
    final: Attainment | None = None
    closed_at: datetime | None = None


# --------------------------------------------------------------------------- outbox


class OutboxStatus(StrEnum):
    """Life of one CRM write: recorded before the call, then sent, then confirmed or failed."""

    PENDING = "pending"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    """One intended CRM write, keyed by its idempotency key."""

    idempotency_key: str
    connection_id: int
    operation: str
    payload: Mapping[str, Any]
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_crm_id: str | None
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- alerts


class AlertKind(StrEnum):
    """Alert transitions; each fires once per subject."""

    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"
    CONSEQUENCE = "consequence"
    # A breach included in a (batched) breach notification; separate from the breach task.
    BREACH_NOTICE = "breach_notice"
    # A connection's runs failed or went partial twice in a row (the worker told
    # worker.notify_failures); subject keyed by the streak's first run.
    RUN_FAILURES = "run_failures"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """An alert that fired. Cycle alerts carry the lead and cycle; period alerts the period."""

    agreement: str
    kind: AlertKind
    subject: str
    raised_at: datetime
    connection_id: int | None = None
    lead_id: str | None = None
    cycle_kind: str | None = None
    cycle_number: int | None = None
    period: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- runs, quarantine


class RunOutcome(StrEnum):
    """How a run ended (``RUNNING`` until it does)."""

    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One entry of the run ledger."""

    id: str
    kind: str
    connection_id: int | None
    started_at: datetime
    ended_at: datetime | None
    outcome: RunOutcome
    counts: Mapping[str, Any]
    api_calls: Mapping[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedRecord:
    """A CRM record set aside with the reason; ``payload`` is what the CRM sent, as received."""

    connection_id: int
    stream: str
    crm_id: str
    reason: str
    payload: Mapping[str, Any] | None
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int
    resolved_at: datetime | None
