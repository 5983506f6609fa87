"""Pydantic models of the SLA definition file (``config/sla-sync.example.yaml`` shows each key).

These models check shape, types and single-value ranges; checks that look at several values or
at other parts of the file (references, duplicates, rules that can never match, calendars) are in
:mod:`sla_sync.definitions.checks`, and conversion to the engine's policy types is in
:mod:`sla_sync.definitions.build`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, PlainValidator, model_validator

from sla_sync.definitions.conditions import When
from sla_sync.definitions.connections import Connection, Spec
from sla_sync.definitions.operations import (
    AlertsSpec,
    CloseSpec,
    RecipientSpec,
    WeeklyReportSpec,
    WorkerSpec,
)
from sla_sync.definitions.scalars import (
    Amount,
    DurationField,
    Identifier,
    MarketingShare,
    OpenFraction,
    PositiveAmount,
    Rate,
    Share,
    TimeZone,
)
from sla_sync.domain import TouchDirection, TouchKind
from sla_sync.sla.policy import (
    ActionKind,
    ClockStart,
    GoalInput,
    Metric,
    PacingBasis,
    PeriodKind,
    ReassignmentPolicy,
    TierChangePolicy,
)


def _calendar_source(value: Any) -> Any:
    # The calendar engine validates the content; here only the outer shape.
    if isinstance(value, dict) or (
        isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
    ):
        return value
    raise ValueError("a calendar is a mapping (timezone, hours, holidays) or a list of versions")


CalendarSource = Annotated[Any, PlainValidator(_calendar_source)]
Names = tuple[Annotated[str, Field(min_length=1)], ...]


class PartiesSpec(Spec):
    """Who promises (``provider``, usually marketing) and who receives (``recipient``)."""

    provider: Annotated[str, Field(min_length=1)]
    recipient: Annotated[str, Field(min_length=1)]


class ReportingSpec(Spec):
    """Reporting period and the time zone that decides which period an instant falls in (and in
    which the weekly report and the period close are scheduled)."""

    period: PeriodKind = PeriodKind.MONTH
    timezone: TimeZone
    weekly_report: WeeklyReportSpec = WeeklyReportSpec()
    close: CloseSpec = CloseSpec()


class ScopeSpec(Spec):
    """Leads of owners in ``teams`` (empty: any) matching ``when`` (omitted: all)."""

    teams: Names = ()
    when: When = ()


class StagesAndStatuses(Spec):
    """Lifecycle stages and lead statuses (case-insensitive)."""

    stages: Names = ()
    statuses: Names = ()


class StagesOnly(Spec):
    stages: Names = ()


class StatusesOnly(Spec):
    statuses: Names = ()


class LeadDefinitionSpec(Spec):
    """What each stage / status means. A state given here replaces its defaults entirely (an
    omitted list is empty); an omitted state keeps the HubSpot defaults of
    :class:`~sla_sync.sla.policy.LeadDefinition`."""

    mql: StagesAndStatuses | None = None
    accepted: StagesAndStatuses | None = None
    sql: StagesOnly | None = None
    rejected: StatusesOnly | None = None
    disqualified: StagesAndStatuses | None = None
    recycle: StagesAndStatuses | None = None


class GoalSpec(Spec):
    """Inputs of ``N = ceil(revenue_goal * marketing_share / (average_deal_size *
    lead_to_customer_rate)) - self_sourced_leads``; each a number or ``trailing(N months)``."""

    revenue_goal: Amount
    marketing_share: MarketingShare | None = None
    self_sourced_leads: Amount | None = None
    average_deal_size: PositiveAmount
    lead_to_customer_rate: Rate


class PacingSpec(Spec):
    """Pacing ideal line: business days of ``calendar`` (default: the agreement's) or calendar
    days."""

    basis: PacingBasis = PacingBasis.BUSINESS_DAYS
    calendar: Identifier | None = None


class MarketingSpec(Spec):
    """Marketing's volume commitment."""

    goal: GoalSpec
    value_field: Annotated[str, Field(min_length=1)] | None = None
    value_weights: dict[str, Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    default_value: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None
    pacing: PacingSpec = PacingSpec()
    weekly_reports: bool = True
    warn_below: Share = 0.9


class TierSpec(Spec):
    """One speed rule: leads matching ``when`` (first match wins) are ``tier`` with ``target``."""

    tier: Annotated[str, Field(min_length=1)]
    when: When = ()
    target: DurationField


class SpeedSpec(Spec):
    tiers: Annotated[tuple[TierSpec, ...], Field(min_length=1)]


class DepthSpec(Spec):
    min_attempts: Annotated[int, Field(ge=1)]
    within: DurationField


class AcceptanceSpec(Spec):
    within: DurationField


class TouchesSpec(Spec):
    """Which activities count as a sales touch (tasks sla-sync creates never do)."""

    kinds: Annotated[tuple[TouchKind, ...], Field(min_length=1)] = (
        TouchKind.CALL,
        TouchKind.EMAIL,
        TouchKind.MEETING,
    )
    directions: Annotated[tuple[TouchDirection, ...], Field(min_length=1)] = (
        TouchDirection.OUTBOUND,
        TouchDirection.UNKNOWN,
    )
    count_automated: bool = False


class ClockSpec(Spec):
    """How sales clocks start, pause, cancel, restart, warn and escalate."""

    start: ClockStart = ClockStart.MQL
    pause_statuses: Names = ()
    cancel_statuses: Names = ()
    cancel_stages: Names = ()
    reset_on_remql: bool = True
    reassignment: ReassignmentPolicy = ReassignmentPolicy.RECORD_CLOCK
    tier_change: TierChangePolicy = TierChangePolicy.KEEP
    warn_at: tuple[OpenFraction, ...] = (0.75,)
    escalate_after: DurationField | None = None


class SalesSpec(Spec):
    """Sales' commitments; at least one of speed, depth, acceptance."""

    speed: SpeedSpec | None = None
    depth: DepthSpec | None = None
    acceptance: AcceptanceSpec | None = None
    touches: TouchesSpec = TouchesSpec()
    clock: ClockSpec = ClockSpec()


class ActionSpec(Spec):
    """Exactly one of ``notify: [..]``, ``escalate: [..]``, ``carry_shortfall: 50%``."""

    notify: Annotated[Names, Field(min_length=1)] | None = None
    escalate: Annotated[Names, Field(min_length=1)] | None = None
    carry_shortfall: Share | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionSpec:
        given = [
            k for k in ("notify", "escalate", "carry_shortfall") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "an action is exactly one of notify: [..], escalate: [..], carry_shortfall: <share>"
            )
        return self

    @property
    def kind(self) -> ActionKind:
        if self.notify is not None:
            return ActionKind.NOTIFY
        if self.escalate is not None:
            return ActionKind.ESCALATE
        return ActionKind.CARRY_SHORTFALL


class ConsequenceSpec(Spec):
    """At period close, when ``metric`` attainment is below ``below``, run ``actions``."""

    metric: Metric
    below: Share
    actions: Annotated[tuple[ActionSpec, ...], Field(min_length=1)]


class AgreementSpec(Spec):
    """One agreement (see the example file for every key)."""

    id: Identifier
    description: str | None = None
    parties: PartiesSpec
    reporting: ReportingSpec
    connections: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    scope: ScopeSpec = ScopeSpec()
    calendars: dict[str, CalendarSource] = Field(default_factory=dict)
    calendar: Identifier | None = None
    team_calendars: dict[str, Identifier] = Field(default_factory=dict)
    lead_definition: LeadDefinitionSpec = LeadDefinitionSpec()
    marketing: MarketingSpec | None = None
    sales: SalesSpec | None = None
    consequences: tuple[ConsequenceSpec, ...] = ()
    alerts: AlertsSpec = AlertsSpec()


class ConfigSpec(Spec):
    """The whole file. Only used for the top-level keys: the sections are validated item by
    item so that one broken agreement does not hide the checks of the others."""

    version: Annotated[int, Field(ge=1, le=1)] = 1
    connections: Annotated[tuple[Connection, ...], Field(min_length=1)]
    calendars: dict[str, CalendarSource] = Field(default_factory=dict)
    agreements: Annotated[tuple[AgreementSpec, ...], Field(min_length=1)]
    recipients: dict[Identifier, RecipientSpec] = Field(default_factory=dict)
    worker: WorkerSpec = WorkerSpec()


__all__ = [
    "AcceptanceSpec",
    "ActionSpec",
    "AgreementSpec",
    "AlertsSpec",
    "CalendarSource",
    "ClockSpec",
    "CloseSpec",
    "ConfigSpec",
    "ConsequenceSpec",
    "DepthSpec",
    "GoalInput",
    "GoalSpec",
    "LeadDefinitionSpec",
    "MarketingSpec",
    "PacingSpec",
    "PartiesSpec",
    "RecipientSpec",
    "ReportingSpec",
    "SalesSpec",
    "ScopeSpec",
    "SpeedSpec",
    "TierSpec",
    "TouchesSpec",
    "WeeklyReportSpec",
    "WorkerSpec",
]
