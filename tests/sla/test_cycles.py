"""Per-lead SLA cycles (sla_sync.sla.cycles): reference §8.5–8.6 worked cases and engine rules.

Calendar fixture ``NY9-17`` = America/New_York, Mon–Fri 09:00–17:00, no holidays (reference §8
conventions). Local times below are New York wall times; 2025-06-02 is a Monday (EDT, UTC-4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_sync.domain import (
    CycleKind,
    CycleState,
    FieldChange,
    Lead,
    LeadCycle,
    LeadHistory,
    LifecycleChange,
    LifecycleField,
    NaiveDatetimeError,
    Owner,
    OwnerChange,
    Touch,
    TouchDirection,
    TouchKind,
)
from sla_sync.sla.calendar import BusinessCalendar
from sla_sync.sla.cycles import evaluate_lead, mql_entries
from sla_sync.sla.policy import (
    AcceptanceCommitment,
    ClockRules,
    ClockStart,
    Condition,
    DepthCommitment,
    Duration,
    DurationUnit,
    LeadDefinition,
    Operator,
    ReassignmentPolicy,
    SalesPolicy,
    SpeedCommitment,
    TierChangePolicy,
    TierRule,
    TouchRule,
)

NY = ZoneInfo("America/New_York")
NY9_17 = BusinessCalendar.from_config(
    {"timezone": "America/New_York", "hours": {"mon-fri": ["09:00-17:00"]}}
)
LON9_17 = BusinessCalendar.from_config(
    {"timezone": "Europe/London", "hours": {"mon-fri": ["09:00-17:00"]}}
)
LEAD = "L1"
MQL = "marketingqualifiedlead"
PAUSE = "meeting_booked"
OWNERS: Mapping[str, Owner] = MappingProxyType(
    {
        "ann": Owner(id="ann", name="Ann", team="ny"),
        "bob": Owner(id="bob", name="Bob", team="london"),
        "cat": Owner(id="cat", name="Cat", team="ny"),
    }
)

BM = DurationUnit.BUSINESS_MINUTES
BH = DurationUnit.BUSINESS_HOURS
BD = DurationUnit.BUSINESS_DAYS
SIXTY_BM = Duration(60, BM)
NAIVE = datetime(2025, 6, 2, 10)  # noqa: DTZ001 - deliberately naive


def ny(text: str) -> datetime:
    """New York wall time ``YYYY-MM-DD HH:MM[:SS]`` as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


# --------------------------------------------------------------------------- history builders


@dataclass(frozen=True)
class Ev:
    """One history item for :func:`history`."""

    item: LifecycleChange | OwnerChange | Touch | FieldChange


def stage(value: str, at: str, lead: str = LEAD) -> Ev:
    return Ev(LifecycleChange(lead_id=lead, field=LifecycleField.STAGE, value=value, at=ny(at)))


def status(value: str | None, at: str, lead: str = LEAD) -> Ev:
    return Ev(LifecycleChange(lead_id=lead, field=LifecycleField.STATUS, value=value, at=ny(at)))


def mql(at: str, lead: str = LEAD) -> Ev:
    return stage(MQL, at, lead)


def owner(owner_id: str | None, at: str, lead: str = LEAD) -> Ev:
    return Ev(OwnerChange(lead_id=lead, owner_id=owner_id, at=ny(at)))


def score(value: str | None, at: str, lead: str = LEAD) -> Ev:
    return Ev(FieldChange(lead_id=lead, name="score", value=value, at=ny(at)))


def touch(at: str, lead: str = LEAD, kind: TouchKind = TouchKind.CALL, **kw: Any) -> Ev:
    kw.setdefault("direction", TouchDirection.OUTBOUND)
    return Ev(
        Touch(
            id=f"{lead}-{kind}-{at}-{sorted(kw.items())}",
            lead_id=lead,
            kind=kind,
            occurred_at=ny(at),
            **kw,
        )
    )


def history(
    *events: Ev,
    lead: str = LEAD,
    fields: Mapping[str, str] | None = None,
    created: str = "2025-01-01 00:00",
    merged_from: tuple[LeadHistory, ...] = (),
    **lead_kw: Any,
) -> LeadHistory:
    items = [e.item for e in events]
    return LeadHistory(
        lead=Lead(
            id=lead,
            created_at=ny(created),
            fields=MappingProxyType(dict(fields or {})),
            **lead_kw,
        ),
        lifecycle=tuple(i for i in items if isinstance(i, LifecycleChange)),
        owners=tuple(i for i in items if isinstance(i, OwnerChange)),
        touches=tuple(i for i in items if isinstance(i, Touch)),
        field_changes=tuple(i for i in items if isinstance(i, FieldChange)),
        merged_from=merged_from,
    )


def policy(
    target: Duration | None = SIXTY_BM,
    *,
    tiers: tuple[TierRule, ...] | None = None,
    depth: DepthCommitment | None = None,
    acceptance: AcceptanceCommitment | None = None,
    touches: TouchRule | None = None,
    definition: LeadDefinition | None = None,
    team_calendars: Mapping[str, BusinessCalendar] | None = None,
    **clock: Any,
) -> SalesPolicy:
    clock.setdefault("pause_statuses", frozenset({PAUSE}))
    clock.setdefault("warn_at", ())
    if tiers is None and target is not None:
        tiers = (TierRule("all", target),)
    return SalesPolicy(
        agreement="smarketing",
        calendar=NY9_17,
        lead_definition=definition or LeadDefinition(),
        speed=SpeedCommitment(tiers) if tiers is not None else None,
        depth=depth,
        acceptance=acceptance,
        touches=touches or TouchRule(),
        clock=ClockRules(**clock),
        team_calendars=MappingProxyType(dict(team_calendars or {})),
    )


def evaluate(h: LeadHistory, p: SalesPolicy, as_of: str) -> tuple[LeadCycle, ...]:
    return evaluate_lead(h, p, owners=OWNERS, as_of=ny(as_of))


def only(cycles: tuple[LeadCycle, ...], kind: CycleKind = CycleKind.SPEED) -> list[LeadCycle]:
    return [c for c in cycles if c.kind is kind]


# --------------------------------------------------------------------------- table of cases


@dataclass(frozen=True)
class Case:
    """One evaluation: cycle ``number`` of ``kind`` must have the ``expect``ed attributes."""

    id: str
    history: LeadHistory
    policy: SalesPolicy
    as_of: str
    expect: Mapping[str, object]
    kind: CycleKind = CycleKind.SPEED
    number: int = 1
    count: int | None = None  # how many cycles of ``kind`` (None: don't check)
    extra: Mapping[str, object] = field(default_factory=dict)


def _at(text: str) -> datetime:
    return ny(text)


MET, BREACHED, RUNNING, PAUSED, CANCELLED = (
    CycleState.MET,
    CycleState.BREACHED,
    CycleState.RUNNING,
    CycleState.PAUSED,
    CycleState.CANCELLED,
)

CASES: list[Case] = [
    # ---- reference worked cases
    Case(
        "T3-created-outside-hours-touch-before-open",
        history(mql("2025-06-07 11:00"), touch("2025-06-07 13:00")),
        policy(Duration(1, BH)),
        "2025-06-09 12:00",
        {
            "state": MET,
            "deadline_at": _at("2025-06-09 10:00"),
            "business_seconds": 0,
            "first_touch_at": _at("2025-06-07 13:00"),
        },
    ),
    Case(
        "T9-touch-exactly-at-deadline-is-met",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 17:00:00")),
        policy(Duration(8, BH)),
        "2025-06-03 12:00",
        {"state": MET, "deadline_at": _at("2025-06-02 17:00"), "business_seconds": 8 * 3600},
    ),
    Case(
        "T9-touch-one-second-late-is-breached",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 17:00:01")),
        policy(Duration(8, BH)),
        "2025-06-03 12:00",
        {
            "state": BREACHED,
            "breached_at": _at("2025-06-02 17:00"),
            "stopped_at": _at("2025-06-02 17:00:01"),
        },
    ),
    Case(
        "T9-7h59m58s-elapsed-not-breached",
        history(mql("2025-06-02 09:00")),
        policy(Duration(8, BH)),
        "2025-06-02 16:59:58",
        {"state": RUNNING, "business_seconds": 8 * 3600 - 2, "breached_at": None},
    ),
    Case(
        "T26-pause-inside-business-hours",
        history(
            mql("2025-06-02 10:00"),
            status(PAUSE, "2025-06-02 11:00"),
            status("working", "2025-06-02 14:00"),
            touch("2025-06-02 16:00"),
        ),
        policy(Duration(4, BH)),
        "2025-06-03 09:00",
        {
            "state": MET,
            "business_seconds": 3 * 3600,
            "paused_seconds": 3 * 3600,
            "deadline_at": _at("2025-06-02 17:00"),
        },
    ),
    Case(
        "T27-pause-overlapping-closed-hours",
        history(
            mql("2025-06-06 10:00"),
            status(PAUSE, "2025-06-06 16:00"),
            status("working", "2025-06-09 10:00"),
            touch("2025-06-09 12:00"),
        ),
        policy(Duration(8, BH)),
        "2025-06-10 09:00",
        {
            "state": MET,
            "business_seconds": 8 * 3600,
            "paused_seconds": 2 * 3600,
            "deadline_at": _at("2025-06-09 12:00"),
        },
    ),
    Case(
        "T28-paused-then-stopped-excludes-whole-pause",
        history(
            mql("2025-02-03 09:00"),
            status(PAUSE, "2025-02-03 10:00"),
            touch("2025-08-01 12:00"),
        ),
        policy(Duration(4, BH)),
        "2025-08-02 09:00",
        {"state": MET, "business_seconds": 3600, "stopped_at": _at("2025-08-01 12:00")},
    ),
    Case(
        "T31-breach-is-sticky",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 10:20")),
        policy(Duration(60, BM)),
        "2025-06-02 12:00",
        {
            "state": BREACHED,
            "breached_at": _at("2025-06-02 10:00"),
            "deadline_at": _at("2025-06-02 10:00"),
            "first_touch_at": _at("2025-06-02 10:20"),
            "stopped_at": _at("2025-06-02 10:20"),
            "business_seconds": 80 * 60,  # 20 min past the 60 min target
            "target_seconds": 3600,
        },
    ),
    Case(
        "T32-re-mql-opens-cycle-2",
        history(
            mql("2025-01-10 10:00"),
            touch("2025-01-10 10:30"),
            stage("lead", "2025-02-01 10:00"),
            mql("2025-03-05 10:00"),
        ),
        policy(),
        "2025-03-05 10:30",
        {"state": RUNNING, "started_at": _at("2025-03-05 10:00"), "business_seconds": 1800},
        number=2,
        count=2,
    ),
    Case(
        "T32-cycle-1-unaffected",
        history(
            mql("2025-01-10 10:00"),
            touch("2025-01-10 10:30"),
            stage("lead", "2025-02-01 10:00"),
            mql("2025-03-05 10:00"),
        ),
        policy(),
        "2025-03-05 10:30",
        {"state": MET, "stopped_at": _at("2025-01-10 10:30")},
        number=1,
    ),
    Case(
        "T33-merged-duplicates-earliest-mql-and-either-touch",
        history(
            mql("2025-06-02 09:20"),
            merged_from=(
                history(mql("2025-06-02 09:00", "L2"), touch("2025-06-02 09:45", "L2"), lead="L2"),
            ),
        ),
        policy(),
        "2025-06-02 11:00",
        {
            "lead_id": LEAD,
            "state": MET,
            "started_at": _at("2025-06-02 09:00"),
            "first_touch_at": _at("2025-06-02 09:45"),
        },
        count=1,
    ),
    Case(
        "T34-disqualified-before-deadline-cancels",
        history(mql("2025-06-02 09:00"), status("unqualified", "2025-06-02 09:40")),
        policy(),
        "2025-06-02 12:00",
        {
            "state": CANCELLED,
            "cancel_reason": "disqualified",
            "stopped_at": _at("2025-06-02 09:40"),
        },
    ),
    Case(
        "T34-deleted-before-deadline-cancels",
        history(mql("2025-06-02 09:00"), deleted_at=ny("2025-06-02 09:40")),
        policy(),
        "2025-06-02 12:00",
        {"state": CANCELLED, "cancel_reason": "deleted", "business_seconds": 40 * 60},
    ),
    Case(
        "T34-breached-then-disqualified-stays-breached",
        history(mql("2025-06-02 09:00"), status("unqualified", "2025-06-02 11:00")),
        policy(),
        "2025-06-02 12:00",
        {
            "state": BREACHED,
            "breached_at": _at("2025-06-02 10:00"),
            # The breach stands; the reason records what stopped the clock after it.
            "cancel_reason": "disqualified",
            "stopped_at": _at("2025-06-02 11:00"),
        },
    ),
    Case(
        "T34-met-then-deleted-stays-met",
        history(
            mql("2025-06-02 09:00"), touch("2025-06-02 09:30"), deleted_at=ny("2025-06-02 09:40")
        ),
        policy(),
        "2025-06-02 12:00",
        {"state": MET, "stopped_at": _at("2025-06-02 09:30")},
    ),
    Case(
        "T35-automated-email-is-not-a-touch",
        history(
            mql("2025-06-02 09:00:00"),
            touch("2025-06-02 09:00:10", kind=TouchKind.EMAIL, automated=True),
            touch("2025-06-02 09:40"),
        ),
        policy(),
        "2025-06-02 12:00",
        {"state": MET, "first_touch_at": _at("2025-06-02 09:40"), "business_seconds": 40 * 60},
    ),
    Case(
        "T35-automated-counts-when-policy-says-so",
        history(
            mql("2025-06-02 09:00:00"),
            touch("2025-06-02 09:00:10", kind=TouchKind.EMAIL, automated=True),
        ),
        policy(touches=TouchRule(count_automated=True)),
        "2025-06-02 12:00",
        {"state": MET, "business_seconds": 10},
    ),
    Case(
        "T36-touch-before-clock-start-ignored",
        history(mql("2025-06-02 09:10"), touch("2025-06-02 09:05"), touch("2025-06-02 09:30")),
        policy(),
        "2025-06-02 12:00",
        {"state": MET, "first_touch_at": _at("2025-06-02 09:30"), "business_seconds": 20 * 60},
    ),
    # ---- touches
    Case(
        "sla-sync-tasks-never-count",
        history(
            mql("2025-06-02 09:00"),
            touch("2025-06-02 09:10", kind=TouchKind.TASK, by_sla_sync=True),
            touch("2025-06-02 09:20", by_sla_sync=True),
        ),
        policy(touches=TouchRule(kinds=frozenset(TouchKind))),
        "2025-06-02 12:00",
        {"state": BREACHED, "first_touch_at": None},
    ),
    Case(
        "inbound-touch-does-not-count",
        history(
            mql("2025-06-02 09:00"), touch("2025-06-02 09:10", direction=TouchDirection.INBOUND)
        ),
        policy(),
        "2025-06-02 09:30",
        {"state": RUNNING, "first_touch_at": None, "deadline_at": _at("2025-06-02 10:00")},
    ),
    # ---- evaluation timing
    Case(
        "as-of-before-any-event-gives-nothing",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 09:20")),
        policy(),
        "2025-06-02 08:59",
        {},
        count=0,
    ),
    Case(
        "as-of-between-mql-and-touch-is-running",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 09:50")),
        policy(),
        "2025-06-02 09:30",
        {"state": RUNNING, "first_touch_at": None, "business_seconds": 1800},
    ),
    Case(
        "as-of-after-deadline-no-touch-breached-at-deadline",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 15:00")),
        policy(),
        "2025-06-02 14:00",
        {"state": BREACHED, "breached_at": _at("2025-06-02 10:00"), "business_seconds": 5 * 3600},
    ),
    Case(
        "paused-at-as-of",
        history(mql("2025-06-02 09:00"), status(PAUSE, "2025-06-02 09:30")),
        policy(),
        "2025-06-02 15:00",
        {
            "state": PAUSED,
            "deadline_at": None,
            "business_seconds": 1800,
            "paused_seconds": 5.5 * 3600,
        },
    ),
    Case(
        "pause-after-deadline-does-not-rescue",
        history(mql("2025-06-02 09:00"), status(PAUSE, "2025-06-02 10:30")),
        policy(),
        "2025-06-02 15:00",
        {"state": BREACHED, "breached_at": _at("2025-06-02 10:00")},
    ),
    Case(
        "pause-status-case-insensitive-and-resume-projects-deadline",
        history(
            mql("2025-06-02 09:00"),
            status("Meeting_Booked", "2025-06-02 09:30"),
            status("open", "2025-06-02 11:00"),
        ),
        policy(),
        "2025-06-02 11:10",
        {"state": RUNNING, "deadline_at": _at("2025-06-02 11:30"), "paused_seconds": 5400},
    ),
    # ---- units
    Case(
        "business-days-unit-next-day-same-time",
        history(mql("2025-06-02 10:00")),
        policy(Duration(1, BD)),
        "2025-06-02 18:00",
        {"state": RUNNING, "deadline_at": _at("2025-06-03 10:00"), "target_seconds": 8 * 3600},
    ),
    Case(
        "business-days-extended-by-pause",
        history(
            mql("2025-06-02 10:00"),
            status(PAUSE, "2025-06-02 11:00"),
            status("open", "2025-06-02 13:00"),
        ),
        policy(Duration(1, BD)),
        "2025-06-02 18:00",
        {"state": RUNNING, "deadline_at": _at("2025-06-03 12:00")},
    ),
    Case(
        "calendar-hours-run-overnight",
        history(mql("2025-06-02 16:00"), touch("2025-06-03 09:30")),
        policy(Duration(8, DurationUnit.HOURS)),
        "2025-06-03 12:00",
        {
            "state": BREACHED,
            "breached_at": _at("2025-06-03 00:00"),
            "business_seconds": 17.5 * 3600,
        },
    ),
    Case(
        "calendar-hours-pause-after-deadline-changes-nothing",
        history(
            mql("2025-06-02 16:00"), status(PAUSE, "2025-06-03 08:00"), touch("2025-06-03 09:30")
        ),
        policy(Duration(8, DurationUnit.HOURS)),
        "2025-06-03 12:00",
        {"state": BREACHED, "breached_at": _at("2025-06-03 00:00"), "paused_seconds": 1.5 * 3600},
    ),
    Case(
        "calendar-minutes-paused-from-the-start",
        history(
            mql("2025-06-02 09:00"),
            status(PAUSE, "2025-06-02 09:00"),
            status("open", "2025-06-02 09:30"),
        ),
        policy(Duration(60, DurationUnit.MINUTES)),
        "2025-06-02 09:45",
        {"state": RUNNING, "deadline_at": _at("2025-06-02 10:30"), "business_seconds": 900},
    ),
    Case(
        "business-hours-wait-for-open-time",
        history(mql("2025-06-02 16:00"), touch("2025-06-03 09:30")),
        policy(Duration(8, BH)),
        "2025-06-03 12:00",
        {"state": MET, "deadline_at": _at("2025-06-03 16:00"), "business_seconds": 1.5 * 3600},
    ),
    Case(
        "calendar-days-extended-by-real-pause",
        history(
            mql("2025-06-02 10:00"),
            status(PAUSE, "2025-06-02 12:00"),
            status("open", "2025-06-02 18:00"),
        ),
        policy(Duration(1, DurationUnit.DAYS)),
        "2025-06-03 09:00",
        {"state": RUNNING, "deadline_at": _at("2025-06-03 16:00"), "paused_seconds": 6 * 3600},
    ),
    # ---- tiers
    Case(
        "no-matching-tier-no-speed-cycle",
        history(mql("2025-06-02 09:00"), fields={"score": "10"}),
        policy(tiers=(TierRule("A", Duration(5, BM), (Condition("score", Operator.GE, 80),)),)),
        "2025-06-02 12:00",
        {},
        count=0,
    ),
]

TIERS = (
    TierRule("A", Duration(30, BM), (Condition("score", Operator.GE, 80),)),
    TierRule("B", Duration(4, BH)),
)
_RETIER = history(
    mql("2025-06-02 09:00"), score("50", "2025-06-02 08:00"), score("90", "2025-06-02 10:00")
)
CASES += [
    Case(
        "tier-keep-uses-tier-at-start",
        _RETIER,
        policy(tiers=TIERS, tier_change=TierChangePolicy.KEEP),
        "2025-06-02 11:00",
        {"state": RUNNING, "tier": "B", "deadline_at": _at("2025-06-02 13:00")},
    ),
    Case(
        "tier-retroactive-deadline-moves-into-past",
        _RETIER,
        policy(tiers=TIERS, tier_change=TierChangePolicy.RETROACTIVE),
        "2025-06-02 11:00",
        {"state": BREACHED, "tier": "A", "breached_at": _at("2025-06-02 09:30")},
    ),
    Case(
        "tier-retroactive-change-within-tier-or-to-no-tier-keeps-deadline",
        history(
            mql("2025-06-02 09:00"),
            score("50", "2025-06-02 08:00"),
            score("60", "2025-06-02 09:20"),
        ),
        policy(tiers=TIERS, tier_change=TierChangePolicy.RETROACTIVE),
        "2025-06-02 10:00",
        {"state": RUNNING, "tier": "B", "deadline_at": _at("2025-06-02 13:00")},
    ),
    Case(
        "tier-retroactive-before-the-change",
        _RETIER,
        policy(tiers=TIERS, tier_change=TierChangePolicy.RETROACTIVE),
        "2025-06-02 09:45",
        {"state": RUNNING, "tier": "B"},
    ),
    Case(
        "tier-retroactive-touch-before-change-decides-with-old-tier",
        history(
            mql("2025-06-02 09:00"),
            score("50", "2025-06-02 08:00"),
            touch("2025-06-02 09:50"),
            score("90", "2025-06-02 10:00"),
        ),
        policy(tiers=TIERS, tier_change=TierChangePolicy.RETROACTIVE),
        "2025-06-02 11:00",
        {"state": MET, "tier": "B"},
    ),
    Case(
        "tier-retroactive-open-with-new-tier",
        history(
            mql("2025-06-02 09:00"),
            score("50", "2025-06-02 08:00"),
            score("85", "2025-06-02 09:10"),
        ),
        policy(tiers=TIERS, tier_change=TierChangePolicy.RETROACTIVE),
        "2025-06-02 09:20",
        {"state": RUNNING, "tier": "A", "deadline_at": _at("2025-06-02 09:30")},
    ),
    Case(
        "tier-retroactive-late-touch-after-change",
        history(
            mql("2025-06-02 09:00"),
            score("50", "2025-06-02 08:00"),
            score("85", "2025-06-02 09:10"),
            touch("2025-06-02 09:40"),
        ),
        policy(tiers=TIERS, tier_change=TierChangePolicy.RETROACTIVE),
        "2025-06-02 12:00",
        {"state": BREACHED, "tier": "A", "first_touch_at": _at("2025-06-02 09:40")},
    ),
    Case(
        "tier-field-cleared-and-fallback-to-lead-fields",
        history(
            mql("2025-06-02 09:00"),
            score("90", "2025-06-02 08:00"),
            score(None, "2025-06-02 08:30"),
            fields={"score": "95"},
        ),
        policy(tiers=TIERS),
        "2025-06-02 09:10",
        {"tier": "B"},
    ),
    Case(
        "tier-from-lead-fields-without-history",
        history(mql("2025-06-02 09:00"), fields={"score": "95"}),
        policy(tiers=TIERS),
        "2025-06-02 09:10",
        {"tier": "A", "target_seconds": 1800},
    ),
]

# ---- clock start, owners, calendars
CASES += [
    Case(
        "clock-start-assignment-after-mql",
        history(
            mql("2025-06-02 09:00"), owner("ann", "2025-06-02 09:30"), touch("2025-06-02 10:15")
        ),
        policy(start=ClockStart.ASSIGNMENT),
        "2025-06-02 12:00",
        {"state": MET, "started_at": _at("2025-06-02 09:30"), "owner_id": "ann", "team": "ny"},
    ),
    Case(
        "clock-start-assignment-already-owned",
        history(owner("ann", "2025-06-02 08:00"), mql("2025-06-02 09:00")),
        policy(start=ClockStart.ASSIGNMENT),
        "2025-06-02 09:30",
        {"started_at": _at("2025-06-02 09:00")},
    ),
    Case(
        "clock-start-assignment-not-yet",
        history(mql("2025-06-02 09:00"), owner(None, "2025-06-02 09:10")),
        policy(start=ClockStart.ASSIGNMENT),
        "2025-06-02 12:00",
        {},
        count=0,
    ),
    Case(
        "clock-start-assignment-never-before-episode-end",
        history(
            mql("2025-06-02 09:00"),
            stage("lead", "2025-06-02 09:10"),
            owner("ann", "2025-06-02 09:20"),
        ),
        policy(start=ClockStart.ASSIGNMENT),
        "2025-06-02 12:00",
        {},
        count=0,
    ),
    Case(
        "record-clock-owner-at-stop",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("cat", "2025-06-02 09:20"),
            touch("2025-06-02 09:40"),
            owner("bob", "2025-06-02 11:00"),
        ),
        policy(),
        "2025-06-02 12:00",
        {"state": MET, "owner_id": "cat", "team": "ny", "number": 1},
        count=1,
    ),
    Case(
        "record-clock-owner-at-deadline-for-breach",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("cat", "2025-06-02 09:59"),
            owner("ann", "2025-06-02 10:01"),
        ),
        policy(),
        "2025-06-02 12:00",
        {"state": BREACHED, "owner_id": "cat"},
    ),
    Case(
        "record-clock-owner-at-as-of-while-open",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("bob", "2025-06-02 09:10"),
        ),
        policy(),
        "2025-06-02 09:20",
        {"state": RUNNING, "owner_id": "bob", "team": "london"},
    ),
    Case(
        "owner-fallback-to-lead-owner-without-history",
        history(mql("2025-06-02 09:00"), owner_id="ann"),
        policy(),
        "2025-06-02 09:20",
        {"owner_id": "ann", "team": "ny"},
    ),
    Case(
        "unknown-owner-has-no-team",
        history(owner("zed", "2025-06-02 08:00"), mql("2025-06-02 09:00")),
        policy(),
        "2025-06-02 09:20",
        {"owner_id": "zed", "team": None},
    ),
    Case(
        "calendar-follows-the-team-T21",
        history(owner("bob", "2025-12-24 08:00"), mql("2025-12-24 10:00")),  # 15:00 London
        policy(Duration(4, BH), team_calendars={"london": LON9_17}),
        "2025-12-24 11:00",
        {"deadline_at": datetime(2025, 12, 25, 11, 0, tzinfo=UTC)},  # no UK holidays configured
    ),
]

# ---- per-owner cycles
_PER_OWNER = history(
    owner("ann", "2025-06-02 08:00"),
    mql("2025-06-02 09:00"),
    owner("bob", "2025-06-02 09:30"),
    touch("2025-06-02 10:00"),
)
CASES += [
    Case(
        "per-owner-reassignment-cancels-first",
        _PER_OWNER,
        policy(reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 12:00",
        {
            "state": CANCELLED,
            "cancel_reason": "reassigned",
            "owner_id": "ann",
            "stopped_at": _at("2025-06-02 09:30"),
        },
        count=2,
    ),
    Case(
        "per-owner-new-owner-gets-new-cycle",
        _PER_OWNER,
        policy(reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 12:00",
        {"state": MET, "owner_id": "bob", "team": "london", "started_at": _at("2025-06-02 09:30")},
        number=2,
    ),
    Case(
        "per-owner-breached-then-reassigned-new-cycle",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("bob", "2025-06-02 11:00"),
        ),
        policy(reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 11:30",
        {"state": RUNNING, "owner_id": "bob", "deadline_at": _at("2025-06-02 12:00")},
        number=2,
        count=2,
    ),
    Case(
        "per-owner-breached-first-cycle-stays-breached",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("bob", "2025-06-02 11:00"),
        ),
        policy(reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 11:30",
        {"state": BREACHED, "owner_id": "ann", "stopped_at": _at("2025-06-02 11:00")},
    ),
    Case(
        "per-owner-met-lead-gets-no-new-cycle",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            touch("2025-06-02 09:10"),
            owner("bob", "2025-06-02 09:30"),
        ),
        policy(reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 12:00",
        {"state": MET, "owner_id": "ann"},
        count=1,
    ),
    Case(
        "per-owner-same-owner-again-is-no-reassignment",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("ann", "2025-06-02 09:10"),
        ),
        policy(reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 09:20",
        {"state": RUNNING},
        count=1,
    ),
    Case(
        "per-owner-reassignment-at-episode-end-is-ignored",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("bob", "2025-06-02 09:30"),
            stage("lead", "2025-06-02 09:30"),
        ),
        policy(reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 12:00",
        {"state": CANCELLED, "cancel_reason": "recycled"},
        count=1,
    ),
]

# ---- re-MQL, episodes, cancel reasons, merged records
CASES += [
    Case(
        "re-mql-without-reset-opens-nothing",
        history(
            mql("2025-01-10 10:00"), stage("lead", "2025-02-01 10:00"), mql("2025-03-05 10:00")
        ),
        policy(Duration(30, BD), reset_on_remql=False),
        "2025-03-05 10:30",
        {"state": CANCELLED, "cancel_reason": "recycled", "number": 1},
        count=1,
    ),
    Case(
        "mql-again-inside-episode-is-not-new",
        history(
            mql("2025-06-02 09:00"),
            stage("salesqualifiedlead", "2025-06-02 09:10"),
            mql("2025-06-02 09:20"),
            status("new", "2025-06-02 09:25"),
        ),
        policy(definition=LeadDefinition(mql_statuses=frozenset({"NEW"}))),
        "2025-06-02 09:30",
        {"started_at": _at("2025-06-02 09:00"), "state": RUNNING},
        count=1,
    ),
    Case(
        "recycle-before-stop-cancels",
        history(mql("2025-06-02 09:00"), stage("Subscriber", "2025-06-02 09:30")),
        policy(),
        "2025-06-02 12:00",
        {"state": CANCELLED, "cancel_reason": "recycled"},
    ),
    Case(
        "cancel-status-from-clock-rules",
        history(mql("2025-06-02 09:00"), status("duplicate", "2025-06-02 09:30")),
        policy(cancel_statuses=frozenset({"Duplicate"})),
        "2025-06-02 12:00",
        {"state": CANCELLED, "cancel_reason": "cancelled"},
    ),
    Case(
        "merged-away-record-cancelled-at-its-last-event",
        history(mql("2025-06-02 09:00"), owner("ann", "2025-06-02 09:20"), merged_into="L9"),
        policy(),
        "2025-06-02 12:00",
        {"state": CANCELLED, "cancel_reason": "merged", "stopped_at": _at("2025-06-02 09:20")},
    ),
    Case(
        "merged-away-record-with-archive-instant",
        history(mql("2025-06-02 09:00"), merged_into="L9", deleted_at=ny("2025-06-02 09:40")),
        policy(),
        "2025-06-02 12:00",
        {"state": CANCELLED, "cancel_reason": "merged", "stopped_at": _at("2025-06-02 09:40")},
    ),
    Case(
        "merged-away-archive-after-as-of-not-yet-merged",
        history(mql("2025-06-02 09:00"), merged_into="L9", deleted_at=ny("2025-06-02 11:40")),
        policy(),
        "2025-06-02 09:30",
        {"state": RUNNING},
    ),
    Case(
        "deleted-after-as-of-not-yet-deleted",
        history(mql("2025-06-02 09:00"), deleted_at=ny("2025-06-02 11:40")),
        policy(),
        "2025-06-02 09:30",
        {"state": RUNNING},
    ),
    Case(
        "merged-duplicate-disqualified-does-not-cancel-survivor",
        history(
            mql("2025-06-02 09:00"),
            merged_from=(
                history(
                    stage("subscriber", "2025-06-02 09:05", "L2"),
                    mql("2025-06-02 09:10", "L2"),
                    status("unqualified", "2025-06-02 09:15", "L2"),
                    lead="L2",
                ),
            ),
        ),
        policy(),
        "2025-06-02 09:30",
        {"state": RUNNING},
        count=1,
    ),
    Case(
        "merged-only-record-recycle-ends-episode",
        history(
            stage("lead", "2025-06-02 08:00"),
            merged_from=(
                history(
                    mql("2025-06-02 09:00", "L2"),
                    stage("lead", "2025-06-02 09:15", "L2"),
                    lead="L2",
                ),
            ),
        ),
        policy(),
        "2025-06-02 09:30",
        {"state": CANCELLED, "cancel_reason": "recycled"},
    ),
    Case(
        "merged-owner-fills-in-before-survivor-owner",
        history(
            mql("2025-06-02 09:00"),
            owner("cat", "2025-06-02 09:30"),
            merged_from=(
                history(
                    owner("bob", "2025-06-02 08:00", "L2"),
                    owner("ann", "2025-06-02 09:40", "L2"),
                    lead="L2",
                ),
            ),
        ),
        policy(start=ClockStart.ASSIGNMENT, reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-02 09:50",
        {
            "state": CANCELLED,
            "cancel_reason": "reassigned",
            "owner_id": "bob",  # the duplicate's owner until the survivor's first assignment
            "started_at": _at("2025-06-02 09:00"),
        },
        count=2,  # cat at 09:30 opens cycle 2; ann at 09:40 on the duplicate is ignored
    ),
]

# ---- depth
DEPTH3 = DepthCommitment(min_attempts=3, window=Duration(2, BD))
CASES += [
    Case(
        "depth-met-early",
        history(
            mql("2025-06-02 09:00"),
            touch("2025-06-02 09:10"),
            touch("2025-06-02 11:00"),
            touch("2025-06-02 15:00"),
            touch("2025-06-03 10:00"),
        ),
        policy(None, depth=DEPTH3),
        "2025-06-03 12:00",
        {
            "state": MET,
            "stopped_at": _at("2025-06-02 15:00"),
            "attempts": 4,
            "attempts_required": 3,
            "deadline_at": _at("2025-06-04 09:00"),
            "first_touch_at": _at("2025-06-02 09:10"),
        },
        kind=CycleKind.DEPTH,
    ),
    Case(
        "depth-breached-at-window-end",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 09:10"), touch("2025-06-04 10:00")),
        policy(None, depth=DEPTH3),
        "2025-06-05 12:00",
        {
            "state": BREACHED,
            "breached_at": _at("2025-06-04 09:00"),
            "stopped_at": _at("2025-06-04 09:00"),
            "attempts": 1,
            "business_seconds": 16 * 3600,
        },
        kind=CycleKind.DEPTH,
    ),
    Case(
        "depth-running",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 09:10")),
        policy(None, depth=DEPTH3),
        "2025-06-03 09:00",
        {"state": RUNNING, "attempts": 1, "deadline_at": _at("2025-06-04 09:00")},
        kind=CycleKind.DEPTH,
    ),
    Case(
        "depth-paused",
        history(
            mql("2025-06-02 09:00"), touch("2025-06-02 09:10"), status(PAUSE, "2025-06-02 10:00")
        ),
        policy(None, depth=DEPTH3),
        "2025-06-05 09:00",
        {"state": PAUSED, "attempts": 1, "deadline_at": None, "business_seconds": 3600},
        kind=CycleKind.DEPTH,
    ),
    Case(
        "depth-cancelled",
        history(
            mql("2025-06-02 09:00"), touch("2025-06-02 09:10"), stage("lead", "2025-06-02 10:00")
        ),
        policy(None, depth=DEPTH3),
        "2025-06-05 09:00",
        {"state": CANCELLED, "attempts": 1, "cancel_reason": "recycled"},
        kind=CycleKind.DEPTH,
    ),
    Case(
        "depth-per-owner-breached-then-new-owner",
        history(
            owner("ann", "2025-06-02 08:00"),
            mql("2025-06-02 09:00"),
            owner("cat", "2025-06-05 10:00"),
        ),
        policy(None, depth=DEPTH3, reassignment=ReassignmentPolicy.PER_OWNER),
        "2025-06-05 11:00",
        {"state": RUNNING, "owner_id": "cat", "started_at": _at("2025-06-05 10:00")},
        kind=CycleKind.DEPTH,
        number=2,
        count=2,
    ),
]

# ---- acceptance
ACCEPT = AcceptanceCommitment(within=Duration(4, BH))
CASES += [
    Case(
        "acceptance-met-by-sql",
        history(mql("2025-06-02 09:00"), stage("salesqualifiedlead", "2025-06-02 11:00")),
        policy(None, acceptance=ACCEPT),
        "2025-06-02 16:00",
        {"state": MET, "stopped_at": _at("2025-06-02 11:00"), "business_seconds": 7200},
        kind=CycleKind.ACCEPTANCE,
    ),
    Case(
        "acceptance-met-by-rejection-not-cancelled",
        history(mql("2025-06-02 09:00"), status("unqualified", "2025-06-02 11:00")),
        policy(None, acceptance=ACCEPT),
        "2025-06-02 16:00",
        {"state": MET, "cancel_reason": None},
        kind=CycleKind.ACCEPTANCE,
    ),
    Case(
        "acceptance-breached-then-late-decision",
        history(
            mql("2025-06-02 09:00"),
            status("working", "2025-06-02 10:00"),
            status("accepted", "2025-06-02 14:00"),
        ),
        policy(
            None,
            acceptance=ACCEPT,
            definition=LeadDefinition(accepted_statuses=frozenset({"Accepted"})),
        ),
        "2025-06-02 16:00",
        {
            "state": BREACHED,
            "breached_at": _at("2025-06-02 13:00"),
            "stopped_at": _at("2025-06-02 14:00"),
        },
        kind=CycleKind.ACCEPTANCE,
    ),
    Case(
        "acceptance-breached-no-decision",
        history(mql("2025-06-02 09:00")),
        policy(None, acceptance=ACCEPT),
        "2025-06-02 16:00",
        {"state": BREACHED, "breached_at": _at("2025-06-02 13:00"), "stopped_at": None},
        kind=CycleKind.ACCEPTANCE,
    ),
    Case(
        "acceptance-decision-before-assignment-start-counts-at-start",
        history(
            mql("2025-06-02 09:00"),
            stage("salesqualifiedlead", "2025-06-02 09:10"),
            owner("ann", "2025-06-02 09:30"),
        ),
        policy(None, acceptance=ACCEPT, start=ClockStart.ASSIGNMENT),
        "2025-06-02 16:00",
        {"state": MET, "stopped_at": _at("2025-06-02 09:30"), "business_seconds": 0},
        kind=CycleKind.ACCEPTANCE,
    ),
    Case(
        "acceptance-deleted-cancels",
        history(mql("2025-06-02 09:00"), deleted_at=ny("2025-06-02 10:00")),
        policy(None, acceptance=ACCEPT),
        "2025-06-02 16:00",
        {"state": CANCELLED, "cancel_reason": "deleted"},
        kind=CycleKind.ACCEPTANCE,
    ),
]

# ---- warnings (75 % of a 60 business-minute target = 45 min)
CASES += [
    Case(
        "warning-crossed-while-running",
        history(mql("2025-06-02 09:00")),
        policy(warn_at=(0.75,)),
        "2025-06-02 09:50",
        # once warned, the next instant the cycle changes by itself is its deadline
        {
            "state": RUNNING,
            "warning_at": _at("2025-06-02 09:45"),
            "next_check_at": _at("2025-06-02 10:00"),
        },
    ),
    Case(
        "warning-not-projected",
        history(mql("2025-06-02 09:00")),
        policy(warn_at=(0.75,)),
        "2025-06-02 09:40",
        # not set before it happens, but it is the next instant to re-evaluate at
        {"state": RUNNING, "warning_at": None, "next_check_at": _at("2025-06-02 09:45")},
    ),
    Case(
        "warning-not-set-when-met-before",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 09:30")),
        policy(warn_at=(0.75,)),
        "2025-06-02 12:00",
        {"state": MET, "warning_at": None},
    ),
    Case(
        "warning-kept-when-met-after",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 09:50")),
        policy(warn_at=(0.75,)),
        "2025-06-02 12:00",
        {"state": MET, "warning_at": _at("2025-06-02 09:45")},
    ),
    Case(
        "warning-on-breach",
        history(mql("2025-06-02 09:00")),
        policy(warn_at=(0.75,)),
        "2025-06-02 12:00",
        {"state": BREACHED, "warning_at": _at("2025-06-02 09:45")},
    ),
    Case(
        "warning-honours-pause",
        history(
            mql("2025-06-02 09:00"),
            status(PAUSE, "2025-06-02 09:30"),
            status("open", "2025-06-02 10:00"),
        ),
        policy(warn_at=(0.75,)),
        "2025-06-02 12:00",
        {
            "state": BREACHED,
            "warning_at": _at("2025-06-02 10:15"),
            "deadline_at": _at("2025-06-02 10:30"),
        },
    ),
    Case(
        "warning-calendar-unit",
        history(mql("2025-06-02 16:40")),
        policy(Duration(60, DurationUnit.MINUTES), warn_at=(0.5,)),
        "2025-06-02 17:20",
        {"state": RUNNING, "warning_at": _at("2025-06-02 17:10")},
    ),
    Case(
        "warning-business-days-depth",
        history(mql("2025-06-02 09:00")),
        policy(None, depth=DEPTH3, warn_at=(0.5,)),
        "2025-06-03 12:00",
        # half of 2 business days (16 h) = 8 h: Mon 17:00, the end of Monday's window (T4)
        {"state": RUNNING, "warning_at": _at("2025-06-02 17:00")},
        kind=CycleKind.DEPTH,
    ),
    Case(
        "warning-after-breach-threshold-above-one-not-set",
        history(mql("2025-06-02 09:00")),
        policy(warn_at=(1.5,)),
        "2025-06-02 12:00",
        {"state": BREACHED, "warning_at": None},
    ),
]

# Escalation and re-evaluation instants. NY9-17, target 60 business minutes from Mon 09:00:
# deadline 10:00; with escalate_after 30 business minutes the manager is escalated at 10:30.
ESCALATE = {"escalate_after": Duration(30, BM)}
CASES += [
    Case(
        "escalated-when-still-untouched-past-the-delay",
        history(mql("2025-06-02 09:00")),
        policy(**ESCALATE),
        "2025-06-02 11:00",
        {"state": BREACHED, "escalated_at": _at("2025-06-02 10:30"), "next_check_at": None},
    ),
    Case(
        "escalation-pending-is-the-next-check",
        history(mql("2025-06-02 09:00")),
        policy(**ESCALATE),
        "2025-06-02 10:10",
        {"state": BREACHED, "escalated_at": None, "next_check_at": _at("2025-06-02 10:30")},
    ),
    Case(
        "escalation-follows-business-time-overnight",
        history(mql("2025-06-02 16:30")),
        policy(**ESCALATE),
        "2025-06-03 12:00",
        # deadline Tue 09:30 (30 min Mon + 30 min Tue), escalation 30 business minutes later
        {"state": BREACHED, "escalated_at": _at("2025-06-03 10:00")},
    ),
    Case(
        "late-touch-before-the-escalation-cancels-it",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 10:20")),
        policy(**ESCALATE),
        "2025-06-02 12:00",
        {"state": BREACHED, "escalated_at": None, "next_check_at": None},
    ),
    Case(
        "late-touch-after-the-escalation-keeps-it",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 11:00")),
        policy(**ESCALATE),
        "2025-06-02 12:00",
        {"state": BREACHED, "escalated_at": _at("2025-06-02 10:30")},
    ),
    Case(
        "no-escalation-without-a-delay",
        history(mql("2025-06-02 09:00")),
        policy(),
        "2025-06-02 12:00",
        {"state": BREACHED, "escalated_at": None, "next_check_at": None},
    ),
    Case(
        "paused-has-no-next-check-resuming-is-an-input",
        history(mql("2025-06-02 09:00"), status(PAUSE, "2025-06-02 09:20")),
        policy(),
        "2025-06-02 12:00",
        {"state": PAUSED, "next_check_at": None},
    ),
    Case(
        "met-has-no-next-check",
        history(mql("2025-06-02 09:00"), touch("2025-06-02 09:10")),
        policy(warn_at=(0.75,), **ESCALATE),
        "2025-06-02 09:20",
        {"state": MET, "next_check_at": None, "escalated_at": None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cycle_case(case: Case) -> None:
    cycles = only(evaluate(case.history, case.policy, case.as_of), case.kind)
    if case.count is not None:
        assert len(cycles) == case.count
    if not case.expect:
        return
    (cycle,) = [c for c in cycles if c.number == case.number]
    actual = {name: getattr(cycle, name) for name in case.expect}
    assert actual == dict(case.expect)
    assert cycle.kind is case.kind
    assert cycle.agreement == "smarketing"


# --------------------------------------------------------------------------- other rules


def test_kinds_are_ordered_and_only_configured_ones_emitted() -> None:
    h = history(mql("2025-06-02 09:00"), stage("lead", "2025-06-02 09:10"), mql("2025-06-02 09:20"))
    p = policy(depth=DEPTH3, acceptance=ACCEPT)
    cycles = evaluate(h, p, "2025-06-02 09:30")
    assert [(c.kind, c.number) for c in cycles] == [
        (CycleKind.SPEED, 1),
        (CycleKind.SPEED, 2),
        (CycleKind.DEPTH, 1),
        (CycleKind.DEPTH, 2),
        (CycleKind.ACCEPTANCE, 1),
        (CycleKind.ACCEPTANCE, 2),
    ]
    assert only(evaluate(h, policy(depth=DEPTH3), "2025-06-02 09:30"), CycleKind.ACCEPTANCE) == []


def test_naive_as_of_rejected() -> None:
    with pytest.raises(NaiveDatetimeError, match="as_of"):
        evaluate_lead(history(mql("2025-06-02 09:00")), policy(), owners=OWNERS, as_of=NAIVE)


def test_naive_history_datetime_rejected() -> None:
    naive = Touch(id="t1", lead_id=LEAD, kind=TouchKind.CALL, occurred_at=NAIVE)
    h = LeadHistory(
        lead=history().lead, lifecycle=history(mql("2025-06-02 09:00")).lifecycle, touches=(naive,)
    )
    with pytest.raises(NaiveDatetimeError, match="touch t1"):
        evaluate(h, policy(), "2025-06-02 12:00")


def test_naive_touch_created_at_rejected() -> None:
    bad = Touch(
        id="t2",
        lead_id=LEAD,
        kind=TouchKind.CALL,
        occurred_at=ny("2025-06-02 10:00"),
        created_at=NAIVE,
    )
    h = LeadHistory(
        lead=history().lead, lifecycle=history(mql("2025-06-02 09:00")).lifecycle, touches=(bad,)
    )
    with pytest.raises(NaiveDatetimeError, match="created_at of touch t2"):
        evaluate(h, policy(), "2025-06-02 12:00")


def test_non_utc_aware_as_of_is_normalised() -> None:
    as_of = datetime(2025, 6, 2, 9, 30, tzinfo=NY)
    (cycle,) = evaluate_lead(history(mql("2025-06-02 09:00")), policy(), owners=OWNERS, as_of=as_of)
    assert cycle.business_seconds == 1800


def test_duplicate_touch_on_merged_records_counts_once() -> None:
    shared = touch("2025-06-02 09:10")
    h = history(mql("2025-06-02 09:00"), shared, merged_from=(history(shared, lead="L2"),))
    (cycle,) = evaluate(h, policy(None, depth=DEPTH3), "2025-06-02 12:00")
    assert cycle.attempts == 1


def test_merged_away_record_with_no_events_before_as_of() -> None:
    h = history(mql("2025-06-02 09:00"), merged_into="L9", created="2025-06-02 08:00")
    assert evaluate(h, policy(), "2025-06-01 12:00") == ()


# --------------------------------------------------------------------------- mql_entries


@pytest.mark.parametrize(
    ("h", "as_of", "expected"),
    [
        (
            history(
                mql("2025-01-10 10:00"), stage("lead", "2025-02-01 10:00"), mql("2025-03-05 10:00")
            ),
            "2025-03-31 00:00",
            ("2025-01-10 10:00", "2025-03-05 10:00"),
        ),
        (
            history(
                mql("2025-01-10 10:00"), stage("lead", "2025-02-01 10:00"), mql("2025-03-05 10:00")
            ),
            "2025-02-28 00:00",
            ("2025-01-10 10:00",),
        ),
        (
            history(
                mql("2025-06-02 09:20"),
                merged_from=(history(mql("2025-06-02 09:00", "L2"), lead="L2"),),
            ),
            "2025-06-02 12:00",
            ("2025-06-02 09:00",),
        ),
        (history(mql("2025-06-02 09:00"), merged_into="L9"), "2025-06-02 12:00", ()),
        (
            history(
                mql("2025-06-02 09:00"),
                stage("lead", "2025-06-02 10:00"),
                deleted_at=ny("2025-06-02 11:00"),
            ),
            "2025-06-03 12:00",
            ("2025-06-02 09:00",),
        ),
        (
            history(
                status("new", "2025-06-02 09:00"),
                stage("MarketingQualifiedLead", "2025-06-02 10:00"),
            ),
            "2025-06-03 00:00",
            ("2025-06-02 10:00",),
        ),
    ],
    ids=[
        "T32-two-episodes",
        "as-of-before-re-mql",
        "T33-merged-once",
        "merged-away-none",
        "deleted-keeps",
        "case-insensitive",
    ],
)
def test_mql_entries(h: LeadHistory, as_of: str, expected: tuple[str, ...]) -> None:
    assert mql_entries(h, LeadDefinition(), as_of=ny(as_of)) == tuple(ny(e) for e in expected)


def test_mql_entries_rejects_naive_as_of() -> None:
    with pytest.raises(NaiveDatetimeError):
        mql_entries(history(), LeadDefinition(), as_of=NAIVE)


# --------------------------------------------------------------------------- properties

START = ny("2025-06-02 08:00")
_EVENT = st.sampled_from(
    ["mql", "recycle", "disq", "pause", "resume", "call", "sql", "ann", "bob", "hot", "cold"]
)
_POLICIES = [
    policy(depth=DEPTH3, acceptance=ACCEPT, warn_at=(0.75,)),
    policy(
        tiers=TIERS,
        depth=DEPTH3,
        acceptance=ACCEPT,
        reassignment=ReassignmentPolicy.PER_OWNER,
        start=ClockStart.ASSIGNMENT,
        warn_at=(0.5,),
    ),
    policy(
        tiers=(
            TierRule(
                "A", Duration(30, DurationUnit.MINUTES), (Condition("score", Operator.GE, 80),)
            ),
            TierRule("B", Duration(1, BD)),
        ),
        depth=DepthCommitment(2, Duration(8, DurationUnit.HOURS)),
        tier_change=TierChangePolicy.RETROACTIVE,
        reset_on_remql=False,
    ),
]


def _build(events: list[tuple[int, str]]) -> LeadHistory:
    items: list[Ev] = []
    for minutes, kind in events:
        at = (START + timedelta(minutes=minutes)).astimezone(NY).strftime("%Y-%m-%d %H:%M")
        items.append(
            {
                "mql": lambda a: mql(a),
                "recycle": lambda a: stage("lead", a),
                "disq": lambda a: status("unqualified", a),
                "pause": lambda a: status(PAUSE, a),
                "resume": lambda a: status("working", a),
                "call": lambda a: touch(a),
                "sql": lambda a: stage("salesqualifiedlead", a),
                "ann": lambda a: owner("ann", a),
                "bob": lambda a: owner("bob", a),
                "hot": lambda a: score("90", a),
                "cold": lambda a: score("10", a),
            }[kind](at)
        )
    return history(*items)


_HISTORIES = st.lists(st.tuples(st.integers(0, 5 * 24 * 60), _EVENT), max_size=14)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=_HISTORIES,
    policy_index=st.integers(0, len(_POLICIES) - 1),
    earlier=st.integers(0, 6 * 24 * 60),
    later=st.integers(0, 6 * 24 * 60),
)
def test_final_states_never_change_later(
    events: list[tuple[int, str]], policy_index: int, earlier: int, later: int
) -> None:
    h, p = _build(events), _POLICIES[policy_index]
    first, second = sorted((earlier, later))
    before = evaluate_lead(h, p, owners=OWNERS, as_of=START + timedelta(minutes=first))
    after = {
        (c.kind, c.number): c
        for c in evaluate_lead(h, p, owners=OWNERS, as_of=START + timedelta(minutes=second))
    }
    for cycle in before:
        if cycle.state.is_final:
            again = after[(cycle.kind, cycle.number)]
            assert again.state is cycle.state
            assert again.breached_at == cycle.breached_at
            if cycle.state is not CycleState.BREACHED:
                assert again.stopped_at == cycle.stopped_at


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=_HISTORIES,
    policy_index=st.integers(0, len(_POLICIES) - 1),
    at=st.integers(0, 6 * 24 * 60),
)
def test_cycle_invariants(events: list[tuple[int, str]], policy_index: int, at: int) -> None:
    as_of = START + timedelta(minutes=at)
    for cycle in evaluate_lead(_build(events), _POLICIES[policy_index], owners=OWNERS, as_of=as_of):
        assert cycle.started_at <= as_of
        assert cycle.business_seconds >= 0 and cycle.paused_seconds >= 0
        if cycle.state is CycleState.BREACHED:
            assert cycle.breached_at == cycle.deadline_at
            assert cycle.breached_at is not None and cycle.breached_at <= as_of
        else:
            assert cycle.breached_at is None
        if cycle.state is CycleState.MET and cycle.kind is not CycleKind.DEPTH:
            assert cycle.stopped_at is not None and cycle.deadline_at is not None
            assert cycle.stopped_at <= cycle.deadline_at
        if cycle.state is CycleState.CANCELLED:
            assert cycle.cancel_reason is not None
        if cycle.state is CycleState.PAUSED:
            assert cycle.deadline_at is None
        if cycle.warning_at is not None:
            assert cycle.warning_at <= as_of
