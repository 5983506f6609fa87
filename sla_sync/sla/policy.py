"""Policy types the SLA engine evaluates: the validated, resolved form of an agreement.

``sla_sync.definitions`` parses ops' YAML (pydantic) and builds these frozen values; the engine
modules (``cycles``, ``volume``, ``attainment``) take them as arguments. They hold no I/O and no
clock. Calendars are resolved objects (:class:`~sla_sync.sla.calendar.BusinessCalendar`), not names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from sla_sync.domain import TouchDirection, TouchKind

if TYPE_CHECKING:
    from sla_sync.sla.calendar import BusinessCalendar


class DurationUnit(StrEnum):
    """Units a target may be written in. Business units follow a calendar; calendar units do not.

    ``BUSINESS_DAYS`` means whole working days (Mon 09:00 + 1 business day = Tue 09:00), not 24
    business hours (reference T8).
    """

    BUSINESS_MINUTES = "business_minutes"
    BUSINESS_HOURS = "business_hours"
    BUSINESS_DAYS = "business_days"
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"

    @property
    def is_business(self) -> bool:
        """Whether the unit counts only the calendar's open time."""
        return self in (
            DurationUnit.BUSINESS_MINUTES,
            DurationUnit.BUSINESS_HOURS,
            DurationUnit.BUSINESS_DAYS,
        )


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount of time in an explicit unit: ``Duration(30, DurationUnit.BUSINESS_MINUTES)``."""

    amount: int
    unit: DurationUnit

    def as_timedelta(self) -> timedelta:
        """The span for minute/hour units (business or calendar); days as 24 h blocks.

        For ``BUSINESS_DAYS`` use ``BusinessCalendar.add_business_days`` instead; this returns
        ``amount`` x 24 h only for display or rough comparisons.
        """
        per_unit = {
            DurationUnit.BUSINESS_MINUTES: timedelta(minutes=1),
            DurationUnit.MINUTES: timedelta(minutes=1),
            DurationUnit.BUSINESS_HOURS: timedelta(hours=1),
            DurationUnit.HOURS: timedelta(hours=1),
            DurationUnit.BUSINESS_DAYS: timedelta(days=1),
            DurationUnit.DAYS: timedelta(days=1),
        }[self.unit]
        return self.amount * per_unit

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"


class Operator(StrEnum):
    """Comparison operators of a tier-rule condition."""

    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    IN = "in"
    NOT_IN = "not in"
    EXISTS = "exists"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Condition:
    """``lead.fields[field] <op> value``.

    Ordering operators compare numerically (a field that is not a number does not match); ``==``,
    ``!=``, ``in`` and ``not in`` compare case-insensitively as strings; ``exists``/``missing`` test
    presence of a non-empty value. ``value`` is a string, a number, or a tuple for ``in``.
    """

    field: str
    op: Operator
    value: str | float | tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TierRule:
    """First-match rule: when every condition holds (an empty tuple always holds), the lead is in
    ``tier`` and its first-touch target is ``target``."""

    tier: str
    target: Duration
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class TouchRule:
    """Which activities count as a sales touch.

    Tasks sla-sync created never count, whatever this says.
    """

    kinds: frozenset[TouchKind] = frozenset({TouchKind.CALL, TouchKind.EMAIL, TouchKind.MEETING})
    directions: frozenset[TouchDirection] = frozenset(
        {TouchDirection.OUTBOUND, TouchDirection.UNKNOWN}
    )
    count_automated: bool = False


@dataclass(frozen=True, slots=True)
class LeadDefinition:
    """Which stage / status values mean what. Values compare case-insensitively.

    A lead is an MQL when it enters one of ``mql_stages`` or ``mql_statuses``; accepted by sales on
    entering ``accepted_*`` (or ``sql_stages``, which implies acceptance); rejected on entering
    ``rejected_statuses``; disqualified (cancels open cycles) on ``disqualified_*``. ``recycle_*``
    values take a lead out of the MQL state so that a later MQL opens a new cycle.
    """

    mql_stages: frozenset[str] = frozenset({"marketingqualifiedlead"})
    mql_statuses: frozenset[str] = frozenset()
    accepted_stages: frozenset[str] = frozenset({"salesqualifiedlead"})
    accepted_statuses: frozenset[str] = frozenset()
    sql_stages: frozenset[str] = frozenset({"salesqualifiedlead", "opportunity", "customer"})
    rejected_statuses: frozenset[str] = frozenset({"unqualified"})
    disqualified_stages: frozenset[str] = frozenset({"other"})
    disqualified_statuses: frozenset[str] = frozenset({"unqualified", "bad_timing"})
    recycle_stages: frozenset[str] = frozenset({"lead", "subscriber"})
    recycle_statuses: frozenset[str] = frozenset()


class ClockStart(StrEnum):
    """Which event starts a sales clock."""

    MQL = "mql"  # the lead enters an MQL stage/status
    ASSIGNMENT = "assignment"  # the first owner assignment at or after the MQL instant


class ReassignmentPolicy(StrEnum):
    """What a change of owner does to a running cycle.

    ``RECORD_CLOCK``: one clock per lead; it keeps running and the owner at the stop (or at the
    deadline, for a breach) is accountable. ``PER_OWNER``: the running cycle of the old owner is
    cancelled (reason ``reassigned``) and the new owner gets a new cycle starting at the assignment.
    """

    RECORD_CLOCK = "record_clock"
    PER_OWNER = "per_owner"


class TierChangePolicy(StrEnum):
    """What a later tier change (e.g. a score bump) does to an open speed cycle.

    ``KEEP``: the tier at the clock start stays. ``RETROACTIVE``: the new tier's target applies from
    the original clock start (a deadline can move into the past and breach at that instant).
    """

    KEEP = "keep"
    RETROACTIVE = "retroactive"


@dataclass(frozen=True, slots=True)
class ClockRules:
    """How the sales clocks start, pause, stop, cancel and restart.

    ``pause_statuses``: while the lead status is one of these the clock does not run.
    ``cancel_statuses`` / ``cancel_stages``: entering one cancels open cycles (beside
    :attr:`LeadDefinition.disqualified_statuses`); deletion and being merged away also cancel.
    ``warn_at``: fractions of the target (0.75 = warn at 75 % of the business time used).
    ``escalate_after``: after a breach, escalate to the owner's manager this much later.
    """

    start: ClockStart = ClockStart.MQL
    pause_statuses: frozenset[str] = frozenset()
    cancel_statuses: frozenset[str] = frozenset()
    cancel_stages: frozenset[str] = frozenset()
    reset_on_remql: bool = True
    reassignment: ReassignmentPolicy = ReassignmentPolicy.RECORD_CLOCK
    tier_change: TierChangePolicy = TierChangePolicy.KEEP
    warn_at: tuple[float, ...] = (0.75,)
    escalate_after: Duration | None = None


@dataclass(frozen=True, slots=True)
class SpeedCommitment:
    """First touch within the target of the first matching tier rule."""

    tiers: tuple[TierRule, ...]


@dataclass(frozen=True, slots=True)
class DepthCommitment:
    """At least ``min_attempts`` qualifying touches within ``window`` of the clock start."""

    min_attempts: int
    window: Duration


@dataclass(frozen=True, slots=True)
class AcceptanceCommitment:
    """Sales accepts or rejects each MQL within ``within`` of the clock start."""

    within: Duration


@dataclass(frozen=True, slots=True)
class SalesPolicy:
    """Everything needed to evaluate sales' side of one agreement.

    ``calendar`` is the default; ``team_calendars`` maps an owner's team to the calendar its leads
    are measured on (the calendar follows the team, not the lead: reference T21).
    """

    agreement: str
    calendar: BusinessCalendar
    lead_definition: LeadDefinition = field(default_factory=LeadDefinition)
    speed: SpeedCommitment | None = None
    depth: DepthCommitment | None = None
    acceptance: AcceptanceCommitment | None = None
    touches: TouchRule = field(default_factory=TouchRule)
    clock: ClockRules = field(default_factory=ClockRules)
    team_calendars: Mapping[str, BusinessCalendar] = field(
        default_factory=lambda: MappingProxyType({})
    )


# --------------------------------------------------------------------------- marketing side


@dataclass(frozen=True, slots=True)
class Fixed:
    """A goal input given as a number."""

    value: Decimal


@dataclass(frozen=True, slots=True)
class Trailing:
    """A goal input from the CRM's actuals over the ``months`` closed months before the period."""

    months: int


GoalInput = Fixed | Trailing


@dataclass(frozen=True, slots=True)
class GoalInputs:
    """Inputs of ``N = ceil(R * m / (ASP * r)) - W``.

    Exactly one of ``marketing_share`` (m, 0..1) and ``self_sourced_leads`` (W) is normally set;
    with neither, m = 1.
    """

    revenue_goal: GoalInput
    average_deal_size: GoalInput
    lead_to_customer_rate: GoalInput
    marketing_share: GoalInput | None = None
    self_sourced_leads: GoalInput | None = None


class PacingBasis(StrEnum):
    """What the pacing ideal line advances on."""

    BUSINESS_DAYS = "business_days"
    CALENDAR_DAYS = "calendar_days"


class PeriodKind(StrEnum):
    """Reporting period length."""

    MONTH = "month"
    QUARTER = "quarter"
    WEEK = "week"


@dataclass(frozen=True, slots=True)
class VolumePolicy:
    """Marketing's volume commitment for one agreement.

    ``value_weights`` maps a value of the lead field ``value_field`` (e.g. lead source) to the
    implied dollar value of one lead of that segment; when set, attainment is also measured in
    value. ``pacing_calendar`` is required for business-day pacing.
    """

    goal: GoalInputs
    period: PeriodKind = PeriodKind.MONTH
    timezone: str = "UTC"
    pacing: PacingBasis = PacingBasis.BUSINESS_DAYS
    pacing_calendar: BusinessCalendar | None = None
    value_field: str | None = None
    value_weights: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    default_value: Decimal | None = None
    warn_below: float = 0.9
    # Whether weekly status reports go out for this commitment (added by the definitions work:
    # the language has ``marketing.weekly_reports``; the report pipeline reads it).
    weekly_reports: bool = True


# --------------------------------------------------------------------------- consequences


class Metric(StrEnum):
    """Attainment figures a consequence can watch."""

    MARKETING = "marketing"  # delivered MQLs / goal (value form when value weights are set)
    SPEED = "speed"
    DEPTH = "depth"
    ACCEPTANCE = "acceptance"


class ActionKind(StrEnum):
    """What a triggered consequence does."""

    NOTIFY = "notify"
    ESCALATE = "escalate"
    CARRY_SHORTFALL = "carry_shortfall"


@dataclass(frozen=True, slots=True)
class Action:
    """One action: notify ``targets``; escalate to ``targets``; or carry ``share`` of the shortfall
    (goal - delivered) into the next period's goal."""

    kind: ActionKind
    targets: tuple[str, ...] = ()
    share: float | None = None


@dataclass(frozen=True, slots=True)
class Consequence:
    """Fires when ``metric`` attainment (0.9 = 90 %) is below ``below`` at period close."""

    metric: Metric
    below: float
    actions: tuple[Action, ...]


# --------------------------------------------------------------------------- the agreement


@dataclass(frozen=True, slots=True)
class LeadScope:
    """Which leads an agreement covers: owners in ``teams`` (empty: any team) whose lead fields
    satisfy every condition in ``when`` (empty: all leads)."""

    teams: frozenset[str] = frozenset()
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class AgreementPolicy:
    """One agreement between a provider (usually marketing) and a recipient (usually sales).

    Attainment is reported per ``period`` in ``timezone`` (the reporting time zone decides which
    month an MQL at 23:30 on the 31st counts in: reference T25).
    """

    id: str
    provider: str
    recipient: str
    period: PeriodKind
    timezone: str
    connections: tuple[str, ...]
    scope: LeadScope = field(default_factory=LeadScope)
    sales: SalesPolicy | None = None
    volume: VolumePolicy | None = None
    consequences: tuple[Consequence, ...] = ()
