"""Per-lead sales SLA cycles: speed (first touch), depth (attempts) and acceptance.

Pure: no I/O, never reads the clock. Time enters as ``as_of``; everything recorded after it is
ignored, so evaluating as of a past instant gives what the engine would have said then. Every
datetime must be timezone-aware (naive ones raise :class:`~sla_sync.domain.NaiveDatetimeError`);
results are UTC.

Semantics (reference §6.2, §8.5–8.6; the history reconstruction, including merged records, is
described in :mod:`sla_sync.sla._timeline`):

**Episodes.** Entering an MQL stage/status starts an MQL episode; entering MQL again inside it
does not. Entering a recycle, disqualified or cancel (``ClockRules.cancel_*``) stage/status ends
it; acceptance / SQL progression and a rejection alone do not. Each episode gets one cycle per
configured kind, numbered on from the previous episode's (a re-MQL opens cycle n+1, T32); with
``reset_on_remql`` off only the first episode is measured. Values compare case-insensitively.

**Clock start.** The MQL instant, or with ``ClockStart.ASSIGNMENT`` the first assignment to an
owner at/after it (the MQL instant if the lead already had an owner), before the episode ends.
No start yet: no cycle.

**Calendar.** ``team_calendars[team of the owner at the clock start]``, else ``policy.calendar``.

**Pauses.** While the survivor's status is a ``pause_statuses`` value the clocks of every kind
stop; a pause still open at a stop is closed there (T26–T28). ``deadline_at`` is ``None`` while
the cycle is paused at ``as_of`` (state ``PAUSED``): the deadline depends on when it resumes.

**Speed.** Tier = first matching tier rule on the fields at the clock start; *no matching tier:
no speed cycle*. ``TierChangePolicy.RETROACTIVE``: at each later field change the then-matching
tier's target applies from the original start (a change that matches no tier keeps the current
one); the tier in force at the stop decides, and once a deadline has passed under the tier then
in force the breach stands. The stop is the first qualifying touch at/after the start (touches
before it are ignored, T36). Met when touch <= deadline (inclusive, T9); breached when the
deadline passes with no touch (``breached_at`` = deadline, analytic); sticky: a later touch sets
``first_touch_at`` / ``stopped_at`` and ``business_seconds`` runs to it (T31).

**Depth.** Window end = start + ``window`` (same units and pauses). Attempts = qualifying
touches in [start, window end]. Met at the ``min_attempts``-th attempt (at least 1), breached at
the window end (``breached_at`` = ``stopped_at`` = window end) with fewer.

**Acceptance.** Deadline = start + ``within``. Met when the lead enters an accepted stage/status,
an SQL stage, or a rejected / disqualified stage/status at or before it (a rejection is a
decision, so it meets acceptance instead of cancelling it; a decision between the MQL and a later
assignment-based start counts at the start); breached otherwise; a late decision is recorded.

**Cancel.** An episode end (reasons ``recycled``, ``disqualified``, ``cancelled``), deletion
(``deleted``) or the record being merged away (``merged``) cancels open cycles at that instant;
met and breached cycles keep their state (T34).

**Reassignment.** ``RECORD_CLOCK``: one clock; ``owner_id`` is the owner at the stop, at the
deadline for a breach, or at ``as_of`` while open. ``PER_OWNER``: each cycle belongs to the owner
at its start; an owner change (including to no owner) cancels an open cycle (``reassigned``) and
opens the next one at the change. After a breach the next owner still gets a cycle, unless the
breached clock already stopped (a late touch / decision): then, as after a met cycle, none.

**Warning.** ``warning_at`` = the instant ``warn_at[0]`` of the target (window for depth) is
used, pauses honoured. It is set only once crossed (<= ``as_of``) and only if the cycle was still
at risk then (strictly before a met/cancelled stop), never projected, because
:attr:`LeadCycle.warned` reads any value as "crossed".

**Measures.** ``target_seconds``/``business_seconds``/``paused_seconds`` are business seconds
for business units and real seconds for calendar units; ``business_seconds`` runs from the start
to the stop, or to ``as_of`` (the cut instant when cancelled) while no stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sla_sync.domain import (
    CycleKind,
    CycleState,
    LeadCycle,
    LeadHistory,
    Owner,
    ensure_utc,
)
from sla_sync.sla import _kinds, _timeline
from sla_sync.sla._clock import Clock
from sla_sync.sla.policy import (
    ClockStart,
    LeadDefinition,
    ReassignmentPolicy,
    SalesPolicy,
)

__all__ = ["evaluate_lead", "mql_entries"]


def mql_entries(
    history: LeadHistory, definition: LeadDefinition, *, as_of: datetime
) -> tuple[datetime, ...]:
    """The instants the lead entered the MQL state (one per episode), up to ``as_of``.

    Records merged into this one are combined (T33: two records MQL'd at 09:00 and 09:20 give one
    entry, 09:00). A record that was itself merged away returns ``()``: it counts through its
    survivor. A deleted lead keeps the entries it made before the deletion.
    """
    as_of = ensure_utc(as_of, what="as_of")
    if history.lead.merged_into is not None:
        return ()
    vocab = _timeline.Vocabulary.of(definition)
    cut = _timeline.cutoff(history, as_of)
    return tuple(e.start for e in _timeline.episodes(history, vocab, cut))


def evaluate_lead(
    history: LeadHistory,
    policy: SalesPolicy,
    *,
    owners: Mapping[str, Owner],
    as_of: datetime,
) -> tuple[LeadCycle, ...]:
    """Every speed, depth and acceptance cycle of the lead as of ``as_of``.

    Only kinds whose commitment is set are evaluated. Cycles are ordered by kind (speed, depth,
    acceptance) then number, and carry the survivor's lead id. Semantics: module docstring.
    """
    as_of = ensure_utc(as_of, what="as_of")
    timeline = _timeline.build(
        history,
        definition=policy.lead_definition,
        clock=policy.clock,
        touch_rule=policy.touches,
        as_of=as_of,
    )
    ctx = _kinds.Context(policy=policy, timeline=timeline, owners=owners)
    evaluators: list[tuple[CycleKind, _kinds.Evaluator]] = []
    if policy.speed is not None:
        evaluators.append((CycleKind.SPEED, _kinds.speed))
    if policy.depth is not None:
        evaluators.append((CycleKind.DEPTH, _kinds.depth))
    if policy.acceptance is not None:
        evaluators.append((CycleKind.ACCEPTANCE, _kinds.acceptance))
    measured = timeline.episodes if policy.clock.reset_on_remql else timeline.episodes[:1]
    cycles: list[LeadCycle] = []
    for kind, evaluate in evaluators:
        number = 1
        for episode in measured:
            found = _episode_cycles(ctx, kind, evaluate, episode, number)
            cycles += found
            number += len(found)
    return tuple(cycles)


# --------------------------------------------------------------------------- internals


def _clock_start(ctx: _kinds.Context, episode: _timeline.Episode) -> datetime | None:
    """When the episode's clocks start (``None``: not yet, or never before the episode ended)."""
    tl = ctx.timeline
    if ctx.policy.clock.start is ClockStart.MQL or tl.owner_at(episode.start) is not None:
        return episode.start
    limit = episode.end if episode.end is not None else tl.cut.at
    for at, owner in tl.owner_changes_between(episode.start, limit):
        if owner is not None and (episode.end is None or at < episode.end):
            return at
    return None


def _next_reassignment(
    ctx: _kinds.Context, start: datetime, owner: str | None, episode: _timeline.Episode
) -> datetime | None:
    """The first change away from ``owner`` after ``start``, before the episode ends."""
    tl = ctx.timeline
    limit = episode.end if episode.end is not None else tl.cut.at
    for at, new in tl.owner_changes_between(start, limit):
        if new != owner and (episode.end is None or at < episode.end):
            return at
    return None


def _episode_cycles(
    ctx: _kinds.Context,
    kind: CycleKind,
    evaluate: _kinds.Evaluator,
    episode: _timeline.Episode,
    number: int,
) -> list[LeadCycle]:
    """The cycles of one kind in one episode: one, or a chain of per-owner cycles."""
    start = _clock_start(ctx, episode)
    tl = ctx.timeline
    per_owner = ctx.policy.clock.reassignment is ReassignmentPolicy.PER_OWNER
    cycles: list[LeadCycle] = []
    while start is not None:
        owner = tl.owner_at(start)
        handover = _next_reassignment(ctx, start, owner, episode) if per_owner else None
        reason: str | None
        if handover is not None:
            stop, reason = handover, _timeline.REASSIGNED
        else:
            stop = episode.end if episode.end is not None else tl.cut.at
            reason = episode.end_reason
        segment = _kinds.Segment(number, start, stop, reason, owner, episode.start)
        clock = Clock(ctx.calendar(owner))
        outcome = evaluate(ctx, segment, clock)
        if outcome is None:
            break
        cycles.append(_finish(ctx, kind, segment, clock, outcome))
        number += 1
        start = None if outcome.done else handover
    return cycles


def _warning(
    ctx: _kinds.Context, seg: _kinds.Segment, clock: Clock, outcome: _kinds.Outcome
) -> datetime | None:
    """When the warning threshold was crossed, if it was while the cycle was at risk."""
    if not ctx.policy.clock.warn_at:
        return None
    at = clock.part(seg.start, outcome.duration, ctx.policy.clock.warn_at[0], outcome.pauses)
    if at > ctx.timeline.as_of:
        return None
    if outcome.state is CycleState.BREACHED:
        return at if outcome.breached_at is not None and at <= outcome.breached_at else None
    if outcome.stopped_at is not None and at >= outcome.stopped_at:
        return None
    return at


def _escalation(ctx: _kinds.Context, clock: Clock, outcome: _kinds.Outcome) -> datetime | None:
    """When a breached cycle escalates: ``escalate_after`` past the breach, if still unstopped."""
    delay = ctx.policy.clock.escalate_after
    if delay is None or outcome.state is not CycleState.BREACHED or outcome.breached_at is None:
        return None
    at = clock.deadline(outcome.breached_at, delay, outcome.pauses)
    if outcome.stopped_at is not None and outcome.stopped_at <= at:
        return None  # a late touch or an episode end came first: nothing to escalate
    return at


def _next_check(
    ctx: _kinds.Context,
    seg: _kinds.Segment,
    clock: Clock,
    outcome: _kinds.Outcome,
    escalation: datetime | None,
) -> datetime | None:
    """The next instant after ``as_of`` the cycle changes with no new input."""
    as_of = ctx.timeline.as_of
    pending: list[datetime] = []
    if outcome.state is CycleState.RUNNING:
        if outcome.deadline is not None:
            pending.append(outcome.deadline)
        if ctx.policy.clock.warn_at:
            fraction = ctx.policy.clock.warn_at[0]
            pending.append(clock.part(seg.start, outcome.duration, fraction, outcome.pauses))
    if escalation is not None:
        pending.append(escalation)
    future = [at for at in pending if at > as_of]
    return min(future) if future else None


def _finish(
    ctx: _kinds.Context, kind: CycleKind, seg: _kinds.Segment, clock: Clock, outcome: _kinds.Outcome
) -> LeadCycle:
    """Measure ``outcome`` and attribute it to its accountable owner."""
    escalation = _escalation(ctx, clock, outcome)
    running, paused = clock.elapsed(
        seg.start, outcome.measure_end, outcome.duration.unit, outcome.pauses
    )
    if ctx.policy.clock.reassignment is ReassignmentPolicy.PER_OWNER:
        owner = seg.owner_id
    else:
        accountable_at = outcome.breached_at or outcome.stopped_at or seg.stop
        owner = ctx.timeline.owner_at(accountable_at)
    return LeadCycle(
        lead_id=ctx.timeline.lead_id,
        agreement=ctx.policy.agreement,
        kind=kind,
        number=seg.number,
        state=outcome.state,
        started_at=seg.start,
        owner_id=owner,
        team=ctx.team(owner),
        tier=outcome.tier,
        target_seconds=int(clock.target(seg.start, outcome.duration).total_seconds()),
        deadline_at=outcome.deadline,
        warning_at=_warning(ctx, seg, clock, outcome),
        stopped_at=outcome.stopped_at,
        first_touch_at=outcome.first_touch_at,
        breached_at=outcome.breached_at,
        business_seconds=int(running.total_seconds()),
        paused_seconds=int(paused.total_seconds()),
        attempts=outcome.attempts,
        attempts_required=outcome.attempts_required,
        cancel_reason=outcome.cancel_reason,
        escalated_at=escalation if escalation and escalation <= ctx.timeline.as_of else None,
        next_check_at=_next_check(ctx, seg, clock, outcome, escalation),
    )
