"""Reconstruct what happened to one lead, as of an instant, from its CRM history.

Private helper of :mod:`sla_sync.sla.cycles`. Everything here is pure and works on UTC instants;
every datetime that enters is checked (naive values raise
:class:`~sla_sync.domain.NaiveDatetimeError`) and normalised to UTC.

Merged records (``LeadHistory.merged_from``, recursively) are combined with the *survivor* (the
record being evaluated) as follows:

- **MQL episodes** (:func:`episodes`): each record runs its own episode machine over its own
  stage/status history; the lead is in an episode from the earliest record's entry (T33: clock
  start 09:00, not 09:20). An end on the survivor ends the combined episode; an end on a merged
  record ends it only when no other record is in its own episode then (a duplicate marked
  disqualified before the merge must not cancel the survivor's clock). Per-record machines keep a
  duplicate's initial ``lead``/``subscriber`` stage from looking like a recycle of the survivor.
- **Touches** and **acceptance decisions** come from every record (touches deduplicated by id).
- **Owners**: the survivor's owner history; a merged record's owner changes fill in only before
  the survivor's first one (interleaving two records' owners would invent reassignments).
- **Pauses** and **tier fields** follow the survivor only: a merged-away record's status and score
  are frozen at the merge and say nothing about the person afterwards.

Events after ``as_of`` are ignored, by their event time (``at`` / ``occurred_at``), so a past
``as_of`` reproduces what the engine would have computed then given the same history. (A touch
entered later with a back-dated ``occurred_at`` is taken at its ``occurred_at``; flagging such
touches is the pipeline's job, reference T36.)
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sla_sync.domain import (
    LeadHistory,
    LifecycleChange,
    LifecycleField,
    Touch,
    ensure_utc,
)
from sla_sync.sla.policy import ClockRules, LeadDefinition, TouchRule

# Cancel reasons written to LeadCycle.cancel_reason.
RECYCLED = "recycled"
DISQUALIFIED = "disqualified"
CANCELLED = "cancelled"  # a ClockRules cancel stage / status
DELETED = "deleted"
MERGED = "merged"
REASSIGNED = "reassigned"


def _utc(value: datetime, what: str) -> datetime:
    return ensure_utc(value, what=what)


def _fold(value: str | None) -> str | None:
    return None if value is None else value.strip().casefold()


def _folded(values: frozenset[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The stage / status values that mean something, case-folded once."""

    mql: Mapping[LifecycleField, frozenset[str]]
    decision: Mapping[LifecycleField, frozenset[str]]
    disqualified: Mapping[LifecycleField, frozenset[str]]
    cancel: Mapping[LifecycleField, frozenset[str]]
    recycle: Mapping[LifecycleField, frozenset[str]]
    pause: frozenset[str]

    @classmethod
    def of(cls, definition: LeadDefinition, clock: ClockRules | None = None) -> Vocabulary:
        """Build the vocabulary of ``definition`` (and ``clock``'s pause / cancel values)."""
        clock = clock or ClockRules()
        d = definition

        def pair(
            stages: frozenset[str], statuses: frozenset[str]
        ) -> Mapping[LifecycleField, frozenset[str]]:
            return MappingProxyType(
                {LifecycleField.STAGE: _folded(stages), LifecycleField.STATUS: _folded(statuses)}
            )

        return cls(
            mql=pair(d.mql_stages, d.mql_statuses),
            decision=pair(
                d.accepted_stages | d.sql_stages | d.disqualified_stages,
                d.accepted_statuses | d.rejected_statuses | d.disqualified_statuses,
            ),
            disqualified=pair(d.disqualified_stages, d.disqualified_statuses),
            cancel=pair(clock.cancel_stages, clock.cancel_statuses),
            recycle=pair(d.recycle_stages, d.recycle_statuses),
            pause=_folded(clock.pause_statuses),
        )

    def end_reason(self, change: _Change) -> str | None:
        """Why entering this value ends an MQL episode (``None``: it does not).

        Disqualification wins over a cancel rule, which wins over a recycle, when a value is in
        several sets.
        """
        for reason, table in (
            (DISQUALIFIED, self.disqualified),
            (CANCELLED, self.cancel),
            (RECYCLED, self.recycle),
        ):
            if change.value in table[change.field]:
                return reason
        return None


@dataclass(frozen=True, slots=True)
class _Change:
    """A lifecycle value a record *entered* (it differs from the record's previous value)."""

    at: datetime
    field: LifecycleField
    value: str | None  # case-folded


@dataclass(frozen=True, slots=True)
class Episode:
    """One MQL episode: from ``start`` until ``end`` (``None``: still open at the cutoff)."""

    start: datetime
    end: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Mark:
    """A per-record episode boundary used by the combining sweep."""

    at: datetime
    seq: int
    record: int
    starts: bool
    reason: str | None = None


def _records(history: LeadHistory) -> Iterator[LeadHistory]:
    """The survivor first, then every merged record, depth first."""
    yield history
    for merged in history.merged_from:
        yield from _records(merged)


def _entered(changes: tuple[LifecycleChange, ...], cutoff: datetime) -> list[_Change]:
    """The values one record entered, in time order, up to ``cutoff``.

    Repeating the current value (duplicate history rows, a case-only change) is not an entry.
    Ties keep the input order (a stable sort).
    """
    timed = sorted(
        ((_utc(c.at, f"lifecycle change of lead {c.lead_id}"), c) for c in changes),
        key=lambda pair: pair[0],
    )
    current: dict[LifecycleField, str | None] = {}
    out: list[_Change] = []
    for at, change in timed:
        if at > cutoff:
            break
        value = _fold(change.value)
        if change.field in current and current[change.field] == value:
            continue
        current[change.field] = value
        out.append(_Change(at=at, field=change.field, value=value))
    return out


def _own_marks(changes: list[_Change], vocab: Vocabulary, record: int) -> list[_Mark]:
    """The starts and ends of one record's own MQL episodes."""
    marks: list[_Mark] = []
    inside = False
    for change in changes:
        if not inside and change.value in vocab.mql[change.field]:
            inside = True
            marks.append(_Mark(at=change.at, seq=0, record=record, starts=True))
            continue
        reason = vocab.end_reason(change) if inside else None
        if reason is not None:
            inside = False
            marks.append(_Mark(at=change.at, seq=0, record=record, starts=False, reason=reason))
    return marks


def _combine(marks: list[_Mark], records: int) -> list[Episode]:
    """Sweep the per-record marks into the lead's episodes (rules in the module docstring)."""
    ordered = sorted(marks, key=lambda m: (m.at, m.seq))
    inside = [False] * records
    episodes: list[Episode] = []
    open_start: datetime | None = None
    for mark in ordered:
        inside[mark.record] = mark.starts
        if mark.starts:
            if open_start is None:
                open_start = mark.at
            continue
        if open_start is not None and (mark.record == 0 or not any(inside)):
            episodes.append(Episode(start=open_start, end=mark.at, end_reason=mark.reason))
            open_start = None
    if open_start is not None:
        episodes.append(Episode(start=open_start))
    return episodes


def _last_event(history: LeadHistory, cutoff: datetime) -> datetime:
    """The latest instant <= ``cutoff`` at which anything is recorded for the lead."""
    instants = [_utc(history.lead.created_at, f"created_at of lead {history.lead.id}")]
    for record in _records(history):
        instants += [_utc(c.at, "lifecycle change") for c in record.lifecycle]
        instants += [_utc(c.at, "owner change") for c in record.owners]
        instants += [_utc(c.at, "field change") for c in record.field_changes]
        instants += [_utc(t.occurred_at, f"touch {t.id}") for t in record.touches]
    return max(i for i in instants if i <= cutoff) if min(instants) <= cutoff else cutoff


@dataclass(frozen=True, slots=True)
class Cut:
    """Where the lead's history stops being read, and why (``reason`` ``None``: at ``as_of``)."""

    at: datetime
    reason: str | None = None


def cutoff(history: LeadHistory, as_of: datetime) -> Cut:
    """The instant after which nothing more happens to this lead, as of ``as_of``.

    A deleted lead stops at ``deleted_at``. A record merged away (``lead.merged_into``) carries no
    merge instant in the domain types. When it also carries ``deleted_at`` (CRMs archive the
    loser of a merge) that instant is taken as the merge, and before it the record is evaluated
    as not yet merged; otherwise its history stops at the merge, so its last recorded event (at or
    before ``as_of``) is used: a stable lower bound of the merge instant that does not move with
    ``as_of``. Either way its open cycles are cancelled with reason ``merged``: the person's
    cycles are accounted on the survivor.
    """
    lead = history.lead
    deleted = None if lead.deleted_at is None else _utc(lead.deleted_at, f"deleted_at of {lead.id}")
    if lead.merged_into is not None:
        if deleted is None:
            return Cut(at=_last_event(history, as_of), reason=MERGED)
        if deleted <= as_of:
            return Cut(at=deleted, reason=MERGED)
    elif deleted is not None and deleted <= as_of:
        return Cut(at=deleted, reason=DELETED)
    return Cut(at=as_of)


def episodes(history: LeadHistory, vocab: Vocabulary, cut: Cut) -> tuple[Episode, ...]:
    """The lead's MQL episodes up to ``cut``; an episode open at a reasoned cut ends there."""
    records = list(_records(history))
    marks: list[_Mark] = []
    for index, record in enumerate(records):
        marks += _own_marks(_entered(record.lifecycle, cut.at), vocab, index)
    marks = [
        _Mark(at=m.at, seq=seq, record=m.record, starts=m.starts, reason=m.reason)
        for seq, m in enumerate(marks)
    ]
    found = _combine(marks, len(records))
    if found and found[-1].end is None and cut.reason is not None:
        found[-1] = Episode(start=found[-1].start, end=cut.at, end_reason=cut.reason)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The reconstructed history of one lead up to ``cut`` (see the module docstring)."""

    lead_id: str
    as_of: datetime
    cut: Cut
    episodes: tuple[Episode, ...]
    touches: tuple[datetime, ...]
    decisions: tuple[datetime, ...]
    pauses: tuple[tuple[datetime, datetime | None], ...]
    owner_changes: tuple[tuple[datetime, str | None], ...]
    field_changes: tuple[tuple[datetime, str, str | None], ...]
    base_fields: Mapping[str, str]

    def owner_at(self, instant: datetime) -> str | None:
        """The owner at ``instant`` (the last change at or before it)."""
        index = bisect.bisect_right([at for at, _ in self.owner_changes], instant)
        return self.owner_changes[index - 1][1] if index else None

    def owner_changes_between(
        self, after: datetime, until: datetime
    ) -> list[tuple[datetime, str | None]]:
        """Owner changes with ``after < at <= until``, in order."""
        return [(at, owner) for at, owner in self.owner_changes if after < at <= until]

    def fields_at(self, instant: datetime) -> dict[str, str]:
        """The lead's tier fields at ``instant``.

        A field with recorded changes takes its last value at or before ``instant`` (absent
        before its first change, or when cleared); a field without any recorded change takes
        its current value from :attr:`Lead.fields`.
        """
        changed = {name for _, name, _ in self.field_changes}
        fields = {k: v for k, v in self.base_fields.items() if k not in changed}
        for at, name, value in self.field_changes:
            if at > instant:
                break
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value
        return fields

    def field_change_instants(self, after: datetime, until: datetime) -> list[datetime]:
        """Distinct instants in ``(after, until]`` at which a tier field changed."""
        return sorted({at for at, _, _ in self.field_changes if after < at <= until})

    def paused_at(self, instant: datetime) -> bool:
        """Whether the lead's status is a pause status at ``instant``."""
        return any(a <= instant and (b is None or instant < b) for a, b in self.pauses)


def _qualifies(touch: Touch, rule: TouchRule) -> bool:
    """Whether ``touch`` counts as a sales touch (sla-sync's own tasks never do)."""
    return (
        not touch.by_sla_sync
        and touch.kind in rule.kinds
        and touch.direction in rule.directions
        and (rule.count_automated or not touch.automated)
    )


def _touches(history: LeadHistory, rule: TouchRule, cut: datetime) -> tuple[datetime, ...]:
    seen: dict[str, datetime] = {}
    for record in _records(history):
        for touch in record.touches:
            at = _utc(touch.occurred_at, f"touch {touch.id}")
            if touch.created_at is not None:
                _utc(touch.created_at, f"created_at of touch {touch.id}")
            if at <= cut and _qualifies(touch, rule) and touch.id not in seen:
                seen[touch.id] = at
    return tuple(sorted(seen.values()))


def _decisions(history: LeadHistory, vocab: Vocabulary, cut: datetime) -> tuple[datetime, ...]:
    out = [
        change.at
        for record in _records(history)
        for change in _entered(record.lifecycle, cut)
        if change.value in vocab.decision[change.field]
    ]
    return tuple(sorted(out))


def _pauses(
    history: LeadHistory, vocab: Vocabulary, cut: datetime
) -> tuple[tuple[datetime, datetime | None], ...]:
    out: list[tuple[datetime, datetime | None]] = []
    began: datetime | None = None
    for change in _entered(history.lifecycle, cut):
        if change.field is not LifecycleField.STATUS:
            continue
        paused = change.value in vocab.pause
        if paused and began is None:
            began = change.at
        elif not paused and began is not None:
            out.append((began, change.at))
            began = None
    if began is not None:
        out.append((began, None))
    return tuple(out)


def _owner_changes(history: LeadHistory, cut: datetime) -> tuple[tuple[datetime, str | None], ...]:
    def timed(record: LeadHistory) -> list[tuple[datetime, str | None]]:
        return sorted(
            ((_utc(c.at, f"owner change of lead {c.lead_id}"), c.owner_id) for c in record.owners),
            key=lambda pair: pair[0],
        )

    own = timed(history)
    first_own = own[0][0] if own else None
    borrowed = [
        change
        for record in list(_records(history))[1:]
        for change in timed(record)
        if first_own is None or change[0] < first_own
    ]
    changes = sorted(borrowed, key=lambda pair: pair[0]) + own
    if not changes and history.lead.owner_id is not None:
        # No owner history at all: the current owner is taken as the owner since creation.
        changes = [(_utc(history.lead.created_at, "created_at"), history.lead.owner_id)]
    return tuple(pair for pair in changes if pair[0] <= cut)


def _field_changes(
    history: LeadHistory, cut: datetime
) -> tuple[tuple[datetime, str, str | None], ...]:
    timed = [
        (_utc(c.at, f"field change of lead {c.lead_id}"), c.name, c.value)
        for c in history.field_changes
    ]
    timed.sort(key=lambda triple: triple[0])
    return tuple(triple for triple in timed if triple[0] <= cut)


def build(
    history: LeadHistory,
    *,
    definition: LeadDefinition,
    clock: ClockRules,
    touch_rule: TouchRule,
    as_of: datetime,
) -> Timeline:
    """Reconstruct ``history`` as of ``as_of`` (an aware UTC instant)."""
    vocab = Vocabulary.of(definition, clock)
    cut = cutoff(history, as_of)
    return Timeline(
        lead_id=history.lead.id,
        as_of=as_of,
        cut=cut,
        episodes=episodes(history, vocab, cut),
        touches=_touches(history, touch_rule, cut.at),
        decisions=_decisions(history, vocab, cut.at),
        pauses=_pauses(history, vocab, cut.at),
        owner_changes=_owner_changes(history, cut.at),
        field_changes=_field_changes(history, cut.at),
        base_fields=history.lead.fields,
    )
