"""The deterministic seed generator: realistic lead pipelines in the neutral seed format.

Contract: :func:`iter_seed` yields ``("owner", record)`` for every owner, then for each lead
``("lead", record)`` followed by its ``("touch", record)`` records, exactly as
``sla_sync/sandbox/SEED_FORMAT.md`` describes. The same :class:`SeedSpec` gives byte-identical
output (:func:`iter_jsonl`). Lead ``i`` draws from its own ``random.Random`` seeded by
``(seed, i)``, never from global state, so leads can be generated in any order or in parallel;
nothing is accumulated across leads, so memory stays flat from 300 leads to 1,000,000 (the only
per-spec tables are one entry per hour of the span). The data set is a snapshot taken at the end
of the span (``start`` + ``months``): no instant lies beyond it, so late leads are mid-flight.

The model (shares are per lead unless stated; measured figures are in ``tests/sandbox``):

* **Owners**: one manager per team, then ``owners`` reps dealt round-robin over the teams
  (ny-inbound America/New_York, sf-inbound America/Los_Angeles, emea-inbound Europe/London,
  enterprise-na America/Chicago). Reps report to their team's manager. The last rep leaves at
  60 % of the span (``active: false``): everything they own then is bulk-reassigned to a team-mate
  at that one instant.
* **Arrivals**: spread over the span by an inverse CDF of an hourly intensity, so ids follow
  creation order. Three regions (Americas-east 50 %, Americas-west + APAC 25 %, EMEA 25 %) each
  follow their local rhythm: weekdays x1.0-1.1, Friday x0.85, weekends x0.25-0.3; 09-17 local
  x1.0-1.35, nights x0.1-0.2; volume grows ~4 % a month. The region picks the country and the team;
  US/CA companies of 1,000+ staff go to enterprise-na.
* **Firmographics**: employees log-normal (median ~55, long tail to 250,000); 80 % have a phone;
  source mix demo_request 12 %, contact_sales 6 %, free_trial 14 %, webinar 10 %, ebook 18 %,
  paid_search 15 %, organic_search 12 %, event 5 %, referral 4 %, partner 4 %; score = source
  base (28-62) + 6·log10(employees) + N(0, 12), clamped to 0-100; rating Hot >= 70,
  Warm >= 40, else Cold.
* **Lifecycle**: content leads start as subscriber half the time, otherwise lead. Hand-raisers
  (demo_request, contact_sales, free_trial) are owned at creation and become MQLs 5 s-4 min later;
  others become MQLs with probability 0.10 + 0.55·score/100 after a log-normal delay (median 4
  days), until then unowned and nurtured by 1-3 automated e-mails a week apart. Each MQL cycle:
  routed within 30 s-3 min (a re-MQL keeps its owner 70 % of the time); an automated
  acknowledgement e-mail within 1-5 min (70 %); then the **first response** class (after HBR
  2011, "The Short Life of Online Sales Leads"): within 5 min 15 %, 5-55 min 22 %, 1-24 h 16 %,
  1-10 days 24 %, never 23 %. Fast responses start when the owner's business hours (Mon-Fri
  09-17 in the team's zone) do, so after-hours MQLs are answered the next working morning;
  slower ones land in business hours. Slow or silent owners are reassigned to a team-mate
  (25 % of those cycles) or escalated to the manager (6 %) 1-3 days in.
* **Attempts**: first touch call 65 % / e-mail 35 %; 0-5 further attempts (30/22/16/12/9/11 %)
  every 0.5-3 days in business hours until connected (a call connects 30 %, an e-mail draws an
  inbound reply 15 %); a note after 60 % of connected calls; a follow-up task after 30 % of first
  attempts. Calls and e-mails are logged 30 s-10 min after they happen (``created_at``).
* **Outcome**: connected leads get a meeting (70 %), then salesqualifiedlead (45 %) ->
  opportunity (70 %, status OPEN_DEAL) -> customer (30 %); the rest go to ``other`` as
  UNQUALIFIED (60 %) or BAD_TIMING (40 %; half of those recycled to lead after 3-8 weeks, 60 %
  of which re-MQL 1-4 weeks later). Unconnected leads: 30 % UNQUALIFIED after 1-2 weeks, 30 %
  recycled to lead after 10-21 days (45 % re-MQL 1-4 weeks later); never-touched MQLs: 40 % back
  to lead after 1-3 weeks (half of those re-MQL 5-30 days later). At most 3 MQL cycles.
* **Merges and deletions**: ~2.85 % of leads are duplicates merged into the previous lead
  (``merged_into``; only when that lead itself survives) 1 h-10 days after creation; ~2 % are
  deleted 1-30 days after creation; both only when that happens inside the span, and the lead's
  events stop there.

Observed on 10,000 leads over the default 3 months: 54 % ever MQL, 3.5 % re-MQL, 8.6 %
reassigned, 2.7 % merged, 1.7 % deleted, ~3.4 records per lead in all; for MQLs raised in the
owner's business hours, 37 % are first touched within the hour and ~20 % never (tests/sandbox).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sla_sync.sandbox import _seed_tables as tb
from sla_sync.sandbox._seed_lead import LeadFactory, Owners
from sla_sync.sandbox._seed_time import Timeline

DEFAULT_START = datetime(2026, 8, 1, tzinfo=UTC)
DEFAULT_TEAMS = tuple(tb.TEAM_ZONES)
MAX_MONTHS = 36
DEPARTURE_FRACTION = 0.6

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SeedSpec:
    """What to generate. Validated on construction (``ValueError``); ``start`` may also be given
    as an ISO-8601 string and ``teams`` as a list (JSON bodies), both normalised.

    ``leads`` >= 0; ``seed`` >= 0; ``start`` aware (the span is ``months`` calendar months from
    it, 1-36); ``owners`` reps (not counting one manager per team), at least one per team;
    ``teams`` a non-empty subset of ``ny-inbound``, ``sf-inbound``, ``emea-inbound``,
    ``enterprise-na`` without repeats.
    """

    leads: int
    seed: int = 7
    start: datetime = DEFAULT_START
    months: int = 3
    owners: int = 20
    teams: tuple[str, ...] = DEFAULT_TEAMS

    def __post_init__(self) -> None:
        # JSON seed bodies reach SeedSpec(**body) with an ISO string and a list: accept both.
        if isinstance(self.start, str):
            object.__setattr__(self, "start", _parse_start(self.start))
        if isinstance(self.teams, list):
            object.__setattr__(self, "teams", tuple(self.teams))
        for name in ("leads", "seed", "months", "owners"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
        if not isinstance(self.start, datetime) or self.start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if not 1 <= self.months <= MAX_MONTHS:
            raise ValueError(f"months must be 1..{MAX_MONTHS}, not {self.months}")
        teams = tuple(self.teams)
        unknown = [team for team in teams if team not in tb.TEAM_ZONES]
        if not teams or unknown or len(set(teams)) != len(teams):
            raise ValueError(f"teams must be distinct names from {sorted(tb.TEAM_ZONES)}")
        if self.owners < len(teams):
            raise ValueError(f"owners must be at least the number of teams ({len(teams)})")
        object.__setattr__(self, "teams", teams)

    @property
    def end(self) -> datetime:
        """The end of the span (exclusive): ``start`` plus ``months`` calendar months, in UTC."""
        start = self.start.astimezone(UTC)
        month = start.month - 1 + self.months
        return start.replace(year=start.year + month // 12, month=month % 12 + 1, day=1) + (
            start - start.replace(day=1)
        )

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SeedSpec:
        """The spec in a ``{"generator": {...}}`` seed body: ``leads`` (required), ``seed``,
        ``start`` (ISO-8601 with a zone), ``months``, ``owners``, ``teams``.

        Raises:
            ValueError: unknown keys, missing ``leads``, or invalid values.
        """
        allowed = {"leads", "seed", "start", "months", "owners", "teams"}
        unknown = set(payload) - allowed
        if unknown:
            raise ValueError(f"unknown generator keys: {sorted(unknown)}")
        if "leads" not in payload:
            raise ValueError("generator needs 'leads'")
        kwargs: dict[str, Any] = {k: v for k, v in payload.items() if k in allowed}
        if "start" in kwargs:
            kwargs["start"] = _parse_start(str(kwargs["start"]))
        if "teams" in kwargs:
            if not isinstance(kwargs["teams"], list | tuple):
                raise ValueError("teams must be a list")
            kwargs["teams"] = tuple(kwargs["teams"])
        return cls(**kwargs)

    def to_payload(self) -> dict[str, Any]:
        """The ``{"generator": ...}`` content for this spec (inverse of :meth:`from_payload`)."""
        return {
            "leads": self.leads,
            "seed": self.seed,
            "start": self.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "months": self.months,
            "owners": self.owners,
            "teams": list(self.teams),
        }


def span_ending(months: int, *, now: datetime | None = None) -> datetime:
    """The start of a ``months``-month span that ends at ``now`` (default: the wall clock),
    whole seconds, UTC. A day the start month lacks (31 May - 3 months) moves to that month's
    last day, so the span ends at most three days before ``now``, never after it."""
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    day = end.day
    while True:  # at most three steps back: every month has 28 days
        try:
            return end.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1


def iter_seed(spec: SeedSpec) -> Iterator[tuple[str, Record]]:
    """Owners, then each lead followed by its touches, in the seed format (module docstring)."""
    start = int(spec.start.timestamp())
    end = int(spec.end.timestamp())
    owner_records, owners = _owners(spec, start + int((end - start) * DEPARTURE_FRACTION))
    for record in owner_records:
        yield "owner", record
    if not spec.leads:
        return
    timeline = Timeline(start, end, set(owners.zones.values()))
    factory = LeadFactory(spec.seed, spec.leads, timeline, owners)
    for index in range(1, spec.leads + 1):
        lead, touches = factory.build(index)
        yield "lead", lead
        for touch in touches:
            yield "touch", touch


def iter_jsonl(spec: SeedSpec) -> Iterator[str]:
    """JSON Lines (``{"kind": ..., "record": ...}``, compact, newline-terminated) for ``spec``."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for kind, record in iter_seed(spec):
        yield dumps({"kind": kind, "record": record}) + "\n"


def _parse_start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"start {text!r} is not ISO-8601") from None


def _owners(spec: SeedSpec, departure: int) -> tuple[list[Record], Owners]:
    """Owner records (managers first, so every ``manager_id`` refers back) and the routing view."""
    rng = random.Random(spec.seed)  # owners are few: one stream for all of them
    records: list[Record] = []
    used: set[str] = set()
    reps: dict[str, list[str]] = {team: [] for team in spec.teams}
    managers: dict[str, str] = {}
    zones: dict[str, str] = {}

    def person(oid: str, team: str, manager: str | None, active: bool) -> None:
        first = tb.FIRST_NAMES[int(rng.random() * len(tb.FIRST_NAMES))]
        last = tb.LAST_NAMES[int(rng.random() * len(tb.LAST_NAMES))]
        local = f"{first}.{last}".lower()
        email, n = f"{local}@example.com", 1
        while email in used:
            n += 1
            email = f"{local}{n}@example.com"
        used.add(email)
        zones[oid] = tb.TEAM_ZONES[team]
        records.append(
            {
                "id": oid,
                "first_name": first,
                "last_name": last,
                "email": email,
                "team": team,
                "timezone": tb.TEAM_ZONES[team],
                "manager_id": manager,
                "active": active,
            }
        )

    number = 0
    for team in spec.teams:
        number += 1
        managers[team] = f"o{number:03d}"
        person(managers[team], team, None, True)
    for k in range(spec.owners):
        number += 1
        team = spec.teams[k % len(spec.teams)]
        reps[team].append(f"o{number:03d}")
    # The last rep leaves, unless that would empty their team.
    last_team = spec.teams[(spec.owners - 1) % len(spec.teams)]
    departed = reps[last_team][-1] if len(reps[last_team]) > 1 else None
    for k in range(spec.owners):
        team = spec.teams[k % len(spec.teams)]
        oid = f"o{len(spec.teams) + k + 1:03d}"
        person(oid, team, managers[team], oid != departed)
    owners = Owners(
        reps={team: tuple(ids) for team, ids in reps.items()},
        managers=managers,
        zones=zones,
        departed=departed,
        departure=departure,
    )
    return records, owners
