"""Evaluators of one cycle of each kind over one segment (private helper of ``cycles``).

A *segment* is the span one cycle is measured over: from its clock start to its stop (a cut:
episode end, deletion, merge, per-owner reassignment) or to ``as_of``. Each evaluator returns an
:class:`Outcome` (state and instants); :mod:`sla_sync.sla.cycles` turns it into a
:class:`~sla_sync.domain.LeadCycle`. The semantics are documented in :mod:`sla_sync.sla.cycles`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sla_sync.domain import CycleState, Owner
from sla_sync.sla import _timeline
from sla_sync.sla._clock import Clock, Interval, clip
from sla_sync.sla.policy import Duration, SalesPolicy, TierChangePolicy
from sla_sync.sla.rules import select_tier

if TYPE_CHECKING:
    from sla_sync.sla.calendar import BusinessCalendar


@dataclass(frozen=True, slots=True)
class Context:
    """What every evaluator reads: the policy, the reconstructed history and the owners."""

    policy: SalesPolicy
    timeline: _timeline.Timeline
    owners: Mapping[str, Owner]

    def team(self, owner_id: str | None) -> str | None:
        """The owner's team (``None`` for no owner or an owner not in ``owners``)."""
        owner = self.owners.get(owner_id) if owner_id is not None else None
        return owner.team if owner is not None else None

    def calendar(self, owner_id: str | None) -> BusinessCalendar:
        """The calendar of the owner's team, else the agreement's default (T21)."""
        team = self.team(owner_id)
        if team is not None and team in self.policy.team_calendars:
            return self.policy.team_calendars[team]
        return self.policy.calendar


@dataclass(frozen=True, slots=True)
class Segment:
    """The span one cycle is evaluated over: ``start`` to ``stop`` (a cut, or ``as_of``)."""

    number: int
    start: datetime
    stop: datetime
    cut_reason: str | None
    owner_id: str | None
    decisions_from: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a kind evaluator decided; ``cycles`` turns it into a :class:`LeadCycle`.

    ``pauses`` are the pause intervals clipped to the cycle's stop (or ``as_of``);
    ``measure_end`` is where ``business_seconds`` is measured to.
    """

    state: CycleState
    duration: Duration
    pauses: tuple[Interval, ...]
    measure_end: datetime
    deadline: datetime | None = None
    tier: str | None = None
    stopped_at: datetime | None = None
    first_touch_at: datetime | None = None
    breached_at: datetime | None = None
    attempts: int = 0
    attempts_required: int | None = None
    cancel_reason: str | None = None
    done: bool = False  # nothing more is owed by a new owner under per-owner cycles


Evaluator = Callable[[Context, Segment, Clock], "Outcome | None"]


def _first(instants: tuple[datetime, ...], lo: datetime, hi: datetime) -> datetime | None:
    """The first of the sorted ``instants`` in ``[lo, hi]``."""
    return next((at for at in instants if lo <= at <= hi), None)


def _undecided(
    ctx: Context,
    seg: Segment,
    duration: Duration,
    pauses: tuple[Interval, ...],
    deadline: datetime,
) -> Outcome:
    """Outcome of a cycle neither met nor breached by ``seg.stop``: cancelled, paused or running."""
    common = Outcome(
        state=CycleState.RUNNING, duration=duration, pauses=pauses, measure_end=seg.stop
    )
    if seg.cut_reason is not None:
        return replace(
            common,
            state=CycleState.CANCELLED,
            deadline=deadline,
            stopped_at=seg.stop,
            cancel_reason=seg.cut_reason,
        )
    if ctx.timeline.paused_at(seg.stop):
        return replace(common, state=CycleState.PAUSED)
    return replace(common, deadline=deadline)


def _race(
    ctx: Context,
    seg: Segment,
    clock: Clock,
    epochs: Sequence[tuple[datetime, Duration, str | None]],
    event: datetime | None,
) -> Outcome:
    """A deadline race: ``event`` (a touch, a decision) against the target of each epoch.

    ``epochs`` are (from, target, tier) in time order; the first starts at ``seg.start``. Each
    epoch's deadline is measured from ``seg.start``; an epoch whose deadline passes before the
    next epoch begins (or before the stop, for the last) breaches there.
    """
    end = event if event is not None else seg.stop
    pauses = clip(ctx.timeline.pauses, seg.start, end)
    for index, (_, duration, tier) in enumerate(epochs):
        deadline = clock.deadline(seg.start, duration, pauses)
        following = epochs[index + 1][0] if index + 1 < len(epochs) else None
        base = Outcome(
            state=CycleState.MET,
            duration=duration,
            pauses=pauses,
            measure_end=end,
            deadline=deadline,
            tier=tier,
            stopped_at=event,
            done=event is not None,
        )
        if event is not None and (following is None or event < following) and event <= deadline:
            return base
        if (deadline < following) if following is not None else (deadline <= end):
            if event is not None or seg.cut_reason is None:
                return replace(base, state=CycleState.BREACHED, breached_at=deadline)
            # Breached, then the episode ended (recycle, disqualification, merge, deletion,
            # reassignment): the breach stands and the reason says what stopped the clock, so
            # nobody reads the cut as a late touch or decision.
            return replace(
                base,
                state=CycleState.BREACHED,
                breached_at=deadline,
                stopped_at=seg.stop,
                cancel_reason=seg.cut_reason,
            )
    return replace(_undecided(ctx, seg, duration, pauses, deadline), tier=tier)


def speed(ctx: Context, seg: Segment, clock: Clock) -> Outcome | None:
    tl = ctx.timeline
    tiers = ctx.policy.speed.tiers if ctx.policy.speed is not None else ()
    rule = select_tier(tiers, tl.fields_at(seg.start))
    if rule is None:
        return None
    touch = _first(tl.touches, seg.start, seg.stop)
    epochs = [(seg.start, rule.target, rule.tier)]
    if ctx.policy.clock.tier_change is TierChangePolicy.RETROACTIVE:
        for at in tl.field_change_instants(seg.start, touch or seg.stop):
            later = select_tier(tiers, tl.fields_at(at))
            if later is not None and later.tier != epochs[-1][2]:
                epochs.append((at, later.target, later.tier))
    return replace(_race(ctx, seg, clock, epochs, touch), first_touch_at=touch)


def acceptance(ctx: Context, seg: Segment, clock: Clock) -> Outcome | None:
    within = ctx.policy.acceptance.within if ctx.policy.acceptance is not None else None
    if within is None:  # pragma: no cover - evaluate_lead only calls this when set
        return None
    decision = _first(ctx.timeline.decisions, seg.decisions_from, seg.stop)
    event = None if decision is None else max(decision, seg.start)
    return _race(ctx, seg, clock, [(seg.start, within, None)], event)


def depth(ctx: Context, seg: Segment, clock: Clock) -> Outcome | None:
    commitment = ctx.policy.depth
    if commitment is None:  # pragma: no cover - evaluate_lead only calls this when set
        return None
    tl = ctx.timeline
    required = max(1, commitment.min_attempts)
    pauses = clip(tl.pauses, seg.start, seg.stop)
    window_end = clock.deadline(seg.start, commitment.window, pauses)
    attempts = [at for at in tl.touches if seg.start <= at <= min(window_end, seg.stop)]
    base = Outcome(
        state=CycleState.RUNNING,
        duration=commitment.window,
        pauses=pauses,
        measure_end=seg.stop,
        deadline=window_end,
        first_touch_at=attempts[0] if attempts else None,
        attempts=len(attempts),
        attempts_required=commitment.min_attempts,
    )
    if len(attempts) >= required:
        met_at = attempts[required - 1]
        # Pauses after the met instant must not move a decided cycle's window end.
        pauses = clip(tl.pauses, seg.start, met_at)
        window_end = clock.deadline(seg.start, commitment.window, pauses)
        counted = [at for at in attempts if at <= window_end]
        return replace(
            base,
            state=CycleState.MET,
            pauses=pauses,
            measure_end=met_at,
            deadline=window_end,
            stopped_at=met_at,
            attempts=len(counted),
            done=True,
        )
    if window_end <= seg.stop:
        return replace(
            base,
            state=CycleState.BREACHED,
            measure_end=window_end,
            stopped_at=window_end,
            breached_at=window_end,
        )
    undecided = _undecided(ctx, seg, commitment.window, pauses, window_end)
    return replace(
        undecided,
        first_touch_at=base.first_touch_at,
        attempts=base.attempts,
        attempts_required=base.attempts_required,
    )
