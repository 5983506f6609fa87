"""The SLA field values a lead should carry in the CRM, from its stored cycles. Pure.

Formats are the CRM-neutral canonical strings of :class:`~sla_sync.connectors.base.FieldUpdate`
(the connectors convert them to each CRM's types and normalise what they read back the same way,
so a value compares equal to what the CRM confirmed):

* instants: ISO-8601 UTC with whole seconds, ``2026-11-16T14:35:00Z`` (fractions are dropped);
* integers without decimals (``42``); percentages with at most one decimal (``87.5``, ``100``);
* the status: a :class:`~sla_sync.connectors.base.SlaStatus` value.

**A lead under several agreements** carries the fields of one of them, picked so a rep sees the
commitment that needs them first: the agreement whose speed cycle is open (running or paused)
with the earliest deadline (a paused cycle without a projectable deadline comes after those with
one; ties go to the smaller agreement id); when no speed cycle is open, the agreement whose
latest cycle started most recently (ties: the smaller agreement id).

**Within the picked agreement** the fields describe the current episode: per cycle kind the
highest-numbered cycle (a re-MQL or, under per-owner cycles, a reassignment opens the next).
The status is, in order: ``breached`` when one of them breached; ``closed`` when the speed
cycle (or, without one, every cycle) was cancelled; ``paused``; ``at_risk`` when an open cycle
passed its warning point; ``on_track`` while one is open; ``met`` when every decided one was met.
``due_at`` is the earliest deadline of the open cycles, else the speed deadline.
``owner_speed_mtd`` (the owner's speed attainment in the agreement's current reporting period)
is kept only while the speed cycle is open: once the lead is decided it stays as last written,
so every decision does not rewrite all of a rep's closed leads.

**Never-managed records stay untouched**: a lead without cycles gets no values at all unless
sla-sync wrote to it before (then ``status = not_in_sla`` and the other fields cleared).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from sla_sync.connectors.base import SlaField, SlaStatus
from sla_sync.domain import CycleKind, CycleState, LeadCycle

OPEN_STATES = frozenset({CycleState.RUNNING, CycleState.PAUSED})

#: Fields that describe the SLA (every one but the bookkeeping ``updated_at``).
DESCRIPTIVE_FIELDS: tuple[SlaField, ...] = tuple(
    f for f in SlaField if f is not SlaField.UPDATED_AT
)

Desired = dict[SlaField, str | None]


def format_instant(value: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (whole seconds, truncated), or ``None``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_int(value: int | None) -> str | None:
    """An integer without decimals, or ``None``."""
    return None if value is None else str(int(value))


def format_pct(value: float | None) -> str | None:
    """A percentage rounded to one decimal without trailing zeros (``87.5``, ``100``)."""
    if value is None:
        return None
    text = f"{round(value, 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def pick_agreement(cycles: Iterable[LeadCycle]) -> str | None:
    """The agreement whose fields a lead under several agreements carries (module docstring)."""
    cycles = list(cycles)
    if not cycles:
        return None
    open_speed = [c for c in cycles if c.kind is CycleKind.SPEED and c.state in OPEN_STATES]
    if open_speed:
        far = datetime.max.replace(tzinfo=UTC)
        best = min(
            open_speed, key=lambda c: (c.deadline_at is None, c.deadline_at or far, c.agreement)
        )
        return best.agreement
    latest = max(c.started_at for c in cycles)
    return min(c.agreement for c in cycles if c.started_at == latest)


def current_cycles(cycles: Iterable[LeadCycle], agreement: str) -> dict[CycleKind, LeadCycle]:
    """Per kind, the highest-numbered cycle of ``agreement``."""
    current: dict[CycleKind, LeadCycle] = {}
    for cycle in cycles:
        if cycle.agreement != agreement:
            continue
        seen = current.get(cycle.kind)
        if seen is None or cycle.number > seen.number:
            current[cycle.kind] = cycle
    return current


def status_of(current: Mapping[CycleKind, LeadCycle]) -> SlaStatus:
    """The status of the current episode (module docstring)."""
    states = [c.state for c in current.values()]
    speed = current.get(CycleKind.SPEED)
    if CycleState.BREACHED in states:
        return SlaStatus.BREACHED
    if (speed is not None and speed.state is CycleState.CANCELLED) or all(
        s is CycleState.CANCELLED for s in states
    ):
        return SlaStatus.CLOSED
    open_cycles = [c for c in current.values() if c.state in OPEN_STATES]
    if any(c.state is CycleState.PAUSED for c in open_cycles):
        return SlaStatus.PAUSED
    if open_cycles:
        warned = any(c.warning_at is not None for c in open_cycles)
        return SlaStatus.AT_RISK if warned else SlaStatus.ON_TRACK
    return SlaStatus.MET


def desired_fields(
    cycles: Sequence[LeadCycle],
    *,
    managed: bool,
    owner_speed: Mapping[tuple[str, str], float | None] | None = None,
) -> Desired | None:
    """The SLA fields one lead should carry, from its cycles under every agreement.

    Args:
        cycles: the lead's stored cycles (any agreement of its connection).
        managed: whether sla-sync wrote values to this record before (confirmed values exist).
        owner_speed: speed attainment in percent per ``(agreement, owner id)`` for the current
            reporting period (``None`` values: nothing decided yet).

    Returns:
        ``{field: value}`` (``None`` clears a field; ``updated_at`` is never included: the push
        step stamps it when something else changes), or ``None`` when the record is not ours
        to touch (no cycles and never managed).
    """
    agreement = pick_agreement(cycles)
    if agreement is None:
        if not managed:
            return None
        cleared: Desired = dict.fromkeys(DESCRIPTIVE_FIELDS)
        cleared[SlaField.STATUS] = SlaStatus.NOT_IN_SLA.value
        return cleared
    current = current_cycles(cycles, agreement)
    speed = current.get(CycleKind.SPEED)
    depth = current.get(CycleKind.DEPTH)
    open_deadlines = [
        c.deadline_at
        for c in current.values()
        if c.state is CycleState.RUNNING and c.deadline_at is not None
    ]
    due = min(open_deadlines) if open_deadlines else (speed.deadline_at if speed else None)
    first_touch = speed.first_touch_at if speed else None
    minutes = speed.business_seconds // 60 if speed is not None and first_touch else None
    desired: Desired = {
        SlaField.STATUS: status_of(current).value,
        SlaField.DUE_AT: format_instant(due),
        SlaField.FIRST_TOUCH_AT: format_instant(first_touch),
        SlaField.MINUTES_TO_FIRST_TOUCH: format_int(minutes),
        SlaField.ATTEMPTS_MADE: format_int(depth.attempts) if depth else None,
        SlaField.ATTEMPTS_REQUIRED: format_int(depth.attempts_required) if depth else None,
        SlaField.TIER: speed.tier if speed else None,
        SlaField.AGREEMENT: agreement,
    }
    if speed is not None and speed.state in OPEN_STATES:
        pct = (owner_speed or {}).get((agreement, speed.owner_id or ""))
        desired[SlaField.OWNER_SPEED_MTD] = format_pct(pct)
    return desired


def differences(
    desired: Mapping[SlaField, str | None], confirmed: Mapping[str, str | None]
) -> dict[SlaField, str | None]:
    """The fields of ``desired`` whose value differs from what the CRM confirmed.

    A field never confirmed counts as empty: clearing it is no difference.
    """
    return {name: value for name, value in desired.items() if confirmed.get(name.value) != value}
