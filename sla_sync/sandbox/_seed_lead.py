"""One lead and its touches (private to :mod:`sla_sync.sandbox.seed`, which documents the model).

:class:`LeadFactory` holds only per-spec tables (owners by team, the timeline); :meth:`build`
reseeds its own ``random.Random`` from ``(seed, index)``, so lead ``i`` is the same whatever was
generated before it and leads can be produced in any order or in parallel.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from sla_sync.sandbox import _seed_tables as tb
from sla_sync.sandbox._seed_time import Timeline

MINUTE, HOUR, DAY = 60, 3600, 86400
MERGE_SHARE, DELETE_SHARE = 0.03, 0.02
MAX_CYCLES = 3
_MASK = (1 << 64) - 1


def fate_draw(seed: int, index: int) -> float:
    """A uniform draw for lead ``index`` from a splitmix64 hash: cheap enough to evaluate for a
    neighbour, so a duplicate can be merged into the previous lead only when that one stays."""
    z = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return ((z ^ (z >> 31)) & _MASK) / 2.0**64


@dataclass(frozen=True)
class Owners:
    """Reps and managers per team, the rep who leaves mid-span, and when."""

    reps: dict[str, tuple[str, ...]]
    managers: dict[str, str]
    zones: dict[str, str]  # owner id -> time zone
    departed: str | None
    departure: int


@dataclass
class _Lead:
    """Working state of one lead: timed history entries and touches, clipped at the end."""

    owners: list[tuple[int, str | None]] = field(default_factory=list)
    stages: list[tuple[int, str]] = field(default_factory=list)
    statuses: list[tuple[int, str]] = field(default_factory=list)
    touches: list[tuple[int, int, str, str, bool, str]] = field(default_factory=list)


class LeadFactory:
    """Builds ``(lead record, touch records)`` for a lead index (1-based)."""

    def __init__(self, seed: int, count: int, timeline: Timeline, owners: Owners) -> None:
        self.seed = seed
        self.count = count
        self.tl = timeline
        self.own = owners
        self.rng = random.Random()
        self.teams = tuple(owners.reps)

    # ------------------------------------------------------------------ helpers

    def _rep(self, team: str, at: int, avoid: str | None = None) -> str:
        """A rep of ``team`` (round-robin modelled as a uniform draw), never the departed rep
        after the departure, never ``avoid``; the manager if nobody else is left."""
        reps = self.own.reps[team]
        first = int(self.rng.random() * len(reps))
        for step in range(len(reps)):
            candidate = reps[(first + step) % len(reps)]
            if candidate != avoid and not (
                candidate == self.own.departed and at >= self.own.departure
            ):
                return candidate
        return self.own.managers[team]

    def _span(self, low: int, high: int) -> int:
        return low + int(self.rng.random() * (high - low))

    def _work_time(self, zone: str, instant: int) -> int | None:
        """``instant`` moved into business hours, spread over the first working hours."""
        opened = self.tl.business(zone, instant)
        if opened is None or opened == instant:
            return opened
        return opened + self._span(0, 3 * HOUR)

    # ------------------------------------------------------------------ the lead

    def build(self, index: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The lead record and its touches (time-ordered) for lead ``index``."""
        rng, tl = self.rng, self.tl
        rng.seed((self.seed << 40) + index)
        created, hour = tl.arrival((index - 1 + rng.random()) / self.count)
        region = tl.region(hour, rng.random())
        country = tb.pick(tb.COUNTRIES[region], rng)
        employees = max(1, min(250_000, int(rng.lognormvariate(4.0, 1.8))))
        source = tb.pick(tb.SOURCE_TABLE, rng)
        base = tb.SOURCES[source][1]
        score = max(0, min(100, round(base + 6 * math.log10(employees) + rng.gauss(0, 12))))
        team = tb.REGIONS[region][2]
        if country in ("US", "CA") and employees >= tb.ENTERPRISE_MIN_EMPLOYEES:
            team = tb.ENTERPRISE_TEAM
        if team not in self.own.reps:
            team = self.teams[0]

        lead = _Lead()
        end = tl.end - 1
        limit, merged_into, merged_at, deleted_at = self._fate(index, created, end)

        high = source in tb.HIGH_INTENT
        first_stage = "subscriber" if source in tb.CONTENT and rng.random() < 0.5 else "lead"
        lead.stages.append((created, first_stage))
        lead.statuses.append((created, "NEW"))
        if high:
            lead.owners.append((created, self._rep(team, created)))
            mql_at: int | None = created + self._span(5, 4 * MINUTE)
        else:
            lead.owners.append((created, None))
            p_mql = 0.10 + 0.55 * score / 100
            mql_at = created + int(rng.lognormvariate(math.log(4 * DAY), 1.0))
            if rng.random() >= p_mql:
                mql_at = None
            for k in range(1 + int(rng.random() * 3)):  # marketing nurture e-mails
                at = created + (k + 1) * 7 * DAY + self._span(0, DAY)
                if mql_at is None or at < mql_at:
                    lead.touches.append(
                        (at, at, "email", "outbound", True, _of(tb.NURTURE_SUBJECTS, rng))
                    )
        if mql_at is not None and first_stage == "subscriber":
            lead.stages.append((created + (mql_at - created) // 2, "lead"))

        cycle = 0
        while mql_at is not None and mql_at <= limit and cycle < MAX_CYCLES:
            mql_at = self._cycle(lead, team, mql_at, cycle, high and cycle == 0)
            cycle += 1

        self._handoff(lead)
        first = tb.FIRST_NAMES[int(rng.random() * len(tb.FIRST_NAMES))]
        last = tb.LAST_NAMES[int(rng.random() * len(tb.LAST_NAMES))]
        company = f"{_of(tb.COMPANY_HEADS, rng)} {_of(tb.COMPANY_TAILS, rng)}"
        domain = company.lower().replace(" ", "")
        phone = None if rng.random() < 0.2 else self._phone(country)
        lid = f"l{index:06d}"
        iso = tl.iso
        record = {
            "id": lid,
            "created_at": iso(created),
            "first_name": first,
            "last_name": last,
            # The index keeps e-mails unique: HubSpot refuses two contacts with one address.
            "email": f"{first.lower()}.{last.lower()}{index}@{domain}.example.com",
            "company": company,
            "phone": phone,
            "country": country,
            "employees": employees,
            "source": source,
            "score": score,
            "rating": "Hot" if score >= 70 else "Warm" if score >= 40 else "Cold",
            "owner_history": _history(lead.owners, "owner", limit, iso),
            "stage_history": _history(lead.stages, "stage", limit, iso),
            "status_history": _history(lead.statuses, "status", limit, iso),
            "merged_into": merged_into,
            "merged_at": iso(merged_at) if merged_at is not None else None,
            "deleted_at": iso(deleted_at) if deleted_at is not None else None,
        }
        touches: list[dict[str, Any]] = []
        lead.touches.sort(key=lambda touch: touch[0])
        for at, logged, kind, direction, automated, subject in lead.touches:
            if at > limit or logged > limit:
                continue
            owner = None if automated else _owner_at(lead.owners, at)
            touches.append(
                {
                    "id": f"t{index:07d}{len(touches) + 1:02d}",
                    "lead": lid,
                    "kind": kind,
                    "at": iso(at),
                    "created_at": iso(logged),
                    "owner": owner,
                    "direction": direction,
                    "automated": automated,
                    "subject": subject,
                }
            )
        return record, touches

    def _fate(
        self, index: int, created: int, end: int
    ) -> tuple[int, str | None, int | None, int | None]:
        """``(limit, merged_into, merged_at, deleted_at)``: ~3 % merged into the previous lead
        (only when that one is neither merged nor deleted), ~2 % deleted; both only if it
        happens before the end of the span. ``limit`` clips every event of the lead."""
        u = fate_draw(self.seed, index)
        if (
            u < MERGE_SHARE
            and index > 1
            and fate_draw(self.seed, index - 1) >= MERGE_SHARE + DELETE_SHARE
        ):
            at = created + self._span(HOUR, 10 * DAY)
            if at <= end:
                return at, f"l{index - 1:06d}", at, None
        elif MERGE_SHARE <= u < MERGE_SHARE + DELETE_SHARE:
            at = created + self._span(DAY, 30 * DAY)
            if at <= end:
                return at, None, None, at
        return end, None, None, None

    def _cycle(self, lead: _Lead, team: str, mql_at: int, cycle: int, routed: bool) -> int | None:
        """One MQL cycle: MQL, routing, response, attempts, outcome. Returns the next re-MQL
        instant, or ``None``."""
        rng, tl = self.rng, self.tl
        lead.stages.append((mql_at, "marketingqualifiedlead"))
        current = lead.owners[-1][1]
        if routed and current is not None:
            assigned, owner = mql_at, current
        else:
            assigned = mql_at + self._span(30, 3 * MINUTE)
            keep = current is not None and rng.random() < 0.7
            owner = self._rep(team, assigned) if not keep or current is None else current
            if owner == self.own.departed and assigned >= self.own.departure:
                owner = self._rep(team, assigned)
            lead.owners.append((assigned, owner))
        if cycle:
            lead.statuses.append((mql_at, "OPEN"))
        zone = self.own.zones[owner]
        if rng.random() < 0.7:
            at = mql_at + self._span(MINUTE, 5 * MINUTE)
            lead.touches.append((at, at, "email", "outbound", True, _of(tb.AUTO_SUBJECTS, rng)))

        klass = tb.pick(tb.RESPONSE_TABLE, rng)
        _, low, high = tb.RESPONSE_CLASSES[klass]
        first: int | None = None
        if klass in ("minutes", "hour"):
            opened = tl.business(zone, assigned)
            if opened is not None:
                start = opened if opened == assigned else opened + self._span(0, HOUR)
                first = start + self._span(low, high)
        elif klass != "never":
            first = self._work_time(zone, assigned + self._span(low, high))

        # Slow or silent owners get reassigned (~25 %) or escalated to the manager (~6 %).
        if klass in ("days", "never"):
            draw = rng.random()
            if draw < 0.31:
                at = assigned + self._span(DAY, 3 * DAY)
                to = self.own.managers[team] if draw < 0.06 else self._rep(team, at, avoid=owner)
                if first is None or at < first:
                    lead.owners.append((at, to))

        if first is None:
            if rng.random() < 0.4:  # unworked MQLs go back to nurture; some re-engage
                back = assigned + self._span(7 * DAY, 21 * DAY)
                lead.stages.append((back, "lead"))
                lead.statuses.append((back, "NEW"))
                if rng.random() < 0.5:
                    return back + self._span(5 * DAY, 30 * DAY)
            return None
        return self._attempts(lead, zone, first)

    def _attempts(self, lead: _Lead, zone: str, first: int) -> int | None:
        rng = self.rng
        attempts = 1 + tb.pick(tb.EXTRA_ATTEMPTS, rng)
        at: int | None = first
        connected: int | None = None
        for n in range(attempts):
            if at is None:
                break
            call = rng.random() < 0.65
            subject = _of(tb.CALL_SUBJECTS if call else tb.EMAIL_SUBJECTS, rng)
            kind = "call" if call else "email"
            lead.touches.append(
                (at, at + self._span(30, 10 * MINUTE), kind, "outbound", False, subject)
            )
            lead.statuses.append((at, "ATTEMPTED_TO_CONTACT"))
            if call and rng.random() < 0.3:
                connected = at + self._span(MINUTE, 20 * MINUTE)
                if rng.random() < 0.6:
                    lead.touches.append(
                        (connected, connected, "note", "outbound", False, "Call notes")
                    )
            elif not call and rng.random() < 0.15:
                connected = at + self._span(HOUR, DAY)
                lead.touches.append(
                    (connected, connected, "email", "inbound", False, _of(tb.INBOUND_SUBJECTS, rng))
                )
            if connected is not None:
                lead.statuses.append((connected, "CONNECTED"))
                break
            if n == 0 and rng.random() < 0.3:
                due = at + self._span(DAY, 3 * DAY)
                lead.touches.append((due, at, "task", "outbound", False, "Follow up"))
            at = self._work_time(zone, at + self._span(DAY // 2, 3 * DAY))
        if connected is None:
            last = lead.touches[-1][0]
            draw = rng.random()
            if draw < 0.3:
                self._disqualify(lead, last + self._span(7 * DAY, 14 * DAY), "UNQUALIFIED")
            elif draw < 0.6:
                back = last + self._span(10 * DAY, 21 * DAY)
                lead.stages.append((back, "lead"))
                lead.statuses.append((back, "NEW"))
                if rng.random() < 0.45:
                    return back + self._span(7 * DAY, 30 * DAY)
            return None
        return self._outcome(lead, zone, connected)

    def _outcome(self, lead: _Lead, zone: str, connected: int) -> int | None:
        rng = self.rng
        decided = connected + self._span(HOUR, 5 * DAY)
        if rng.random() < 0.7:
            meeting = self._work_time(zone, connected + self._span(DAY, 6 * DAY))
            if meeting is not None:
                lead.touches.append(
                    (meeting, connected + MINUTE, "meeting", "outbound", False, "Discovery meeting")
                )
                lead.statuses.append((connected + MINUTE, "IN_PROGRESS"))
                decided = meeting + HOUR
        if rng.random() < 0.45:
            lead.stages.append((decided, "salesqualifiedlead"))
            if rng.random() < 0.7:
                opp = decided + self._span(DAY, 10 * DAY)
                lead.stages.append((opp, "opportunity"))
                lead.statuses.append((opp, "OPEN_DEAL"))
                if rng.random() < 0.3:
                    lead.stages.append((opp + self._span(14 * DAY, 60 * DAY), "customer"))
            return None
        status = "UNQUALIFIED" if rng.random() < 0.6 else "BAD_TIMING"
        self._disqualify(lead, decided, status)
        if status == "BAD_TIMING" and rng.random() < 0.5:  # recycled to nurture, may re-MQL
            back = decided + self._span(21 * DAY, 60 * DAY)
            lead.stages.append((back, "lead"))
            lead.statuses.append((back, "NEW"))
            if rng.random() < 0.6:
                return back + self._span(7 * DAY, 30 * DAY)
        return None

    def _disqualify(self, lead: _Lead, at: int, status: str) -> None:
        lead.stages.append((at, "other"))
        lead.statuses.append((at, status))

    def _handoff(self, lead: _Lead) -> None:
        """When the departed rep owns the lead at the departure, a team-mate takes it over; the
        bulk reassignment stamps every such lead with the same instant, as a real one does."""
        departed, departure = self.own.departed, self.own.departure
        if departed is None or _owner_at(lead.owners, departure) != departed:
            return
        team = next(t for t, reps in self.own.reps.items() if departed in reps)
        lead.owners.append((departure, self._rep(team, departure, departed)))

    def _phone(self, country: str) -> str:
        rng = self.rng
        return tb.PHONE_PREFIX[country].format(
            a=200 + int(rng.random() * 700),
            n4=f"{int(rng.random() * 10000):04d}",
            n3=f"{int(rng.random() * 1000):03d}",
        )


def _of(options: tuple[str, ...], rng: random.Random) -> str:
    return options[int(rng.random() * len(options))]


def _owner_at(owners: list[tuple[int, str | None]], at: int) -> str | None:
    current = None
    for when, owner in sorted(owners, key=lambda entry: entry[0]):
        if when > at:
            break
        current = owner
    return current


def _history(
    entries: list[tuple[int, Any]], key: str, limit: int, iso: Any
) -> list[dict[str, Any]]:
    """Time-ordered entries up to ``limit``, dropping repeats of the current value."""
    out: list[dict[str, Any]] = []
    previous: object = object()
    for at, value in sorted(entries, key=lambda entry: entry[0]):
        if at > limit:
            break
        if value != previous:
            out.append({"at": iso(at), key: value})
            previous = value
    return out
