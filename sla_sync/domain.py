"""Frozen value types shared by every layer of sla-sync.

These are the only types that cross layer boundaries: connectors map vendor payloads to them, the
store persists them, the SLA engine (``sla_sync.sla``) takes them as input and returns the result
types at the bottom of this module (cycles, attainment, goal versions). Nothing here does I/O or
reads the clock.

Contract for every ``datetime`` field: timezone-aware and in UTC. Constructors do not convert; use
:func:`ensure_utc` at the edges (connectors, scenario loader, store) to normalise and reject naive
values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

EMPTY_FIELDS: Final[MappingProxyType[str, str]] = MappingProxyType({})


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached a place where only UTC instants are allowed."""


def ensure_utc(value: datetime, *, what: str = "datetime") -> datetime:
    """Return ``value`` as an aware UTC datetime.

    Raises:
        NaiveDatetimeError: ``value`` has no tzinfo; ``what`` names it in the message.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{what}: {value.isoformat()} has no time zone (expected UTC)")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- inputs from the CRM


class CrmKind(StrEnum):
    """The CRMs sla-sync reads and writes."""

    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"


class LifecycleField(StrEnum):
    """Which lead field a :class:`LifecycleChange` records.

    ``STAGE`` is HubSpot's ``lifecyclestage`` (Salesforce: a Lead converted to a Contact, mapped by
    the connector); ``STATUS`` is the lead status (HubSpot ``hs_lead_status``, Salesforce
    ``Lead.Status``).
    """

    STAGE = "stage"
    STATUS = "status"


class TouchKind(StrEnum):
    """Kinds of follow-up activity."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"
    NOTE = "note"


class TouchDirection(StrEnum):
    """Direction of a touch as seen from the rep."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Owner:
    """A CRM user who can own leads.

    ``team`` is the team name the agreement's calendars and attainment scopes key on;
    ``manager_id`` is the owner escalations go to.
    """

    id: str
    name: str
    email: str | None = None
    team: str | None = None
    manager_id: str | None = None
    timezone: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Lead:
    """A lead or contact as of the last pull.

    ``fields`` holds the lead fields tier rules and value weights read (score, rating, source,
    country, ...) under the names the agreement's configuration uses, as strings, like the CRMs
    return them. ``merged_into`` is set on a record that was merged away; ``deleted_at`` on one that
    was deleted or archived.
    """

    id: str
    created_at: datetime
    owner_id: str | None = None
    stage: str | None = None
    status: str | None = None
    fields: MappingProxyType[str, str] = field(default_factory=lambda: EMPTY_FIELDS)
    merged_into: str | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LifecycleChange:
    """One change of a lead's stage or status, taken from CRM history.

    ``value`` is the new value (``None`` when the field was cleared).
    """

    lead_id: str
    field: LifecycleField
    value: str | None
    at: datetime
    source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerChange:
    """The lead's owner became ``owner_id`` (``None``: unassigned) at ``at``."""

    lead_id: str
    owner_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """A tier-relevant lead field (score, rating, ...) took ``value`` at ``at``.

    Only needed when an agreement re-tiers leads on a later score change; the current value is in
    :attr:`Lead.fields`.
    """

    lead_id: str
    name: str
    value: str | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Touch:
    """A follow-up activity associated with a lead.

    ``occurred_at`` is the activity time the rep sees (user-editable in both CRMs); ``created_at``
    is when the CRM recorded it, used to flag back-dated activities. ``automated`` marks sequences,
    auto-replies and workflow e-mails. ``by_sla_sync`` marks tasks sla-sync itself created: they
    never count as a touch.
    """

    id: str
    lead_id: str
    kind: TouchKind
    occurred_at: datetime
    owner_id: str | None = None
    direction: TouchDirection = TouchDirection.UNKNOWN
    automated: bool = False
    by_sla_sync: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadHistory:
    """Everything the engine needs to evaluate one lead.

    Sequences need not be sorted; the engine sorts them. ``merged_from`` carries the histories of
    records merged into this one (their MQL instants and touches count for the survivor).
    """

    lead: Lead
    lifecycle: tuple[LifecycleChange, ...] = ()
    owners: tuple[OwnerChange, ...] = ()
    touches: tuple[Touch, ...] = ()
    field_changes: tuple[FieldChange, ...] = ()
    merged_from: tuple[LeadHistory, ...] = ()


# --------------------------------------------------------------------------- engine results


class CycleKind(StrEnum):
    """The three sales commitments a lead is measured on."""

    SPEED = "speed"
    DEPTH = "depth"
    ACCEPTANCE = "acceptance"


class CycleState(StrEnum):
    """State of one SLA cycle. ``BREACHED`` is sticky: a late touch never turns it into ``MET``."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """Whether the state can no longer change (breached may still record a late stop)."""
        return self in (CycleState.MET, CycleState.BREACHED, CycleState.CANCELLED)


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadCycle:
    """One evaluated SLA cycle of one lead, as of ``as_of``.

    ``number`` counts cycles of the same kind on the same lead from 1 (a re-MQL or, under per-owner
    cycles, a reassignment opens the next). ``deadline_at`` is the analytic deadline (``None`` while
    paused with no deadline projectable); ``breached_at`` equals the deadline instant when the cycle
    breached, even if the breach was only noticed later. ``business_seconds`` is business time
    elapsed from start to stop (or to ``as_of`` while open), pauses excluded. ``warning_at`` is the
    instant the warning threshold was crossed (set only once it is <= ``as_of``). ``attempts``
    counts qualifying touches (depth cycles) and ``attempts_required`` the target.
    ``cancel_reason`` says why a ``CANCELLED`` cycle was cancelled, and for a ``BREACHED`` one
    which episode end (recycled, disqualified, merged, deleted, reassigned) stopped its clock after
    the breach; it is ``None`` when a touch or decision stopped the clock. ``escalated_at`` is the
    instant a breached cycle still unstopped ``ClockRules.escalate_after`` past its breach was
    escalated to the owner's manager (set once <= ``as_of``). ``next_check_at`` is the next
    instant after ``as_of`` at which the cycle changes without any new input (its warning,
    deadline or escalation): the worker re-evaluates it then. ``None`` when nothing is pending
    (final, or paused: resuming is an input change).
    """

    lead_id: str
    agreement: str
    kind: CycleKind
    number: int
    state: CycleState
    started_at: datetime
    owner_id: str | None = None
    team: str | None = None
    tier: str | None = None
    target_seconds: int | None = None
    deadline_at: datetime | None = None
    warning_at: datetime | None = None
    stopped_at: datetime | None = None
    first_touch_at: datetime | None = None
    breached_at: datetime | None = None
    business_seconds: int = 0
    paused_seconds: int = 0
    attempts: int = 0
    attempts_required: int | None = None
    cancel_reason: str | None = None
    escalated_at: datetime | None = None
    next_check_at: datetime | None = None

    @property
    def late_by(self) -> timedelta | None:
        """How long after the deadline a breached cycle was stopped (a late touch or decision);
        ``None`` unless the cycle breached and has since stopped (reference T31)."""
        if self.state is not CycleState.BREACHED or self.breached_at is None:
            return None
        if self.kind is CycleKind.DEPTH or self.cancel_reason is not None:
            # A depth window closes at its end (nothing stops "late"); a breached clock cut by
            # an episode end (``cancel_reason``) was not stopped by a touch or decision.
            return None
        if self.stopped_at is None or self.stopped_at < self.breached_at:
            return None
        return self.stopped_at - self.breached_at

    @property
    def warned(self) -> bool:
        """Whether the warning threshold has been crossed (a warning is raised once per cycle)."""
        return self.warning_at is not None and self.state is not CycleState.CANCELLED


class ScopeKind(StrEnum):
    """Level at which attainment is aggregated."""

    AGREEMENT = "agreement"
    TEAM = "team"
    OWNER = "owner"


@dataclass(frozen=True, slots=True, kw_only=True)
class Ratio:
    """``met`` out of ``decided``; ``pct`` is ``None`` when nothing was decided (never 0/0)."""

    met: int
    decided: int

    @property
    def pct(self) -> float | None:
        """Percentage 0..100, or ``None`` with an empty denominator."""
        return None if self.decided == 0 else 100.0 * self.met / self.decided


@dataclass(frozen=True, slots=True, kw_only=True)
class Attainment:
    """Attainment of one scope in one period.

    Marketing figures (``mqls_*``, ``value_*``, ``pace_index``) are filled at agreement scope
    (and at team scope when the agreement sets per-team goals); sales figures at every scope.
    Medians and
    p90 are business minutes to first touch over cycles with a first touch.
    """

    agreement: str
    period: str
    scope: ScopeKind
    scope_id: str
    speed: Ratio
    depth: Ratio
    acceptance: Ratio
    running: int = 0
    median_first_touch_minutes: float | None = None
    p90_first_touch_minutes: float | None = None
    mqls_delivered: int = 0
    mql_goal: float | None = None
    value_delivered: float | None = None
    value_goal: float | None = None
    expected_to_date: float | None = None
    pace_index: float | None = None
    consequences: tuple[str, ...] = field(default=())

    @property
    def marketing_pct(self) -> float | None:
        """Delivered MQLs as a percentage of the goal, or ``None`` without a goal."""
        if not self.mql_goal:
            return None
        return 100.0 * self.mqls_delivered / self.mql_goal


# --------------------------------------------------------------------------- goals
#
# Marketing's volume goal as the engine computes it (``sla_sync.sla.volume``) and the store keeps
# it. Money, rates and goals are :class:`~decimal.Decimal`.

# Quotients are rounded to this before taking a ceiling: trailing ratios such as 1/3 are not exact
# in Decimal, and 90.000...01 must not become a phantom 91st lead.
_CEILING_GUARD: Final = Decimal("1e-9")


def ceil_guarded(value: Decimal) -> int:
    """``ceil(value)`` after rounding away Decimal representation noise below 1e-9."""
    if value.adjusted() < 18:  # beyond that the guard digits exceed Decimal's 28-digit precision
        value = value.quantize(_CEILING_GUARD)
    return math.ceil(value)


class InputSource(StrEnum):
    """Where a resolved goal input came from."""

    FIXED = "fixed"
    TRAILING = "trailing"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedInput:
    """A goal input's value and its origin (``months`` is the trailing window, if trailing)."""

    value: Decimal
    source: InputSource
    months: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedGoalInputs:
    """The numbers a goal version was computed from."""

    revenue_goal: ResolvedInput
    average_deal_size: ResolvedInput
    lead_to_customer_rate: ResolvedInput
    marketing_share: ResolvedInput | None = None
    self_sourced_leads: ResolvedInput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Goal:
    """Result of the goal formula for one whole period.

    ``customers`` is ``C = R*m/ASP``; ``leads`` is ``L``; ``value`` is ``G_val`` in dollars.
    """

    customers: Decimal
    leads: int
    value: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class GoalVersion:
    """One immutable goal of one agreement for one period.

    ``computed`` is the formula's result for a whole period; ``proration`` scales it when the
    agreement starts on ``effective_from`` inside the period; ``carried_over`` (leads) and
    ``carried_over_value`` (dollars) add a share of an earlier shortfall. ``reissued_from`` names
    the version whose numbers were kept because the inputs failed; ``note`` says why.
    """

    agreement: str
    period: str
    version: int
    computed: Goal
    inputs: ResolvedGoalInputs
    proration: Decimal = Decimal(1)
    effective_from: date | None = None
    carried_over: Decimal = Decimal(0)
    carried_over_value: Decimal = Decimal(0)
    reissued_from: int | None = None
    note: str | None = None

    @property
    def leads_goal(self) -> int:
        """Leads owed in the period: ``ceil(L * proration + carried_over)``."""
        return ceil_guarded(Decimal(self.computed.leads) * self.proration + self.carried_over)

    @property
    def value_goal(self) -> Decimal:
        """Implied value owed in the period: ``G_val * proration + carried_over_value``."""
        return self.computed.value * self.proration + self.carried_over_value
