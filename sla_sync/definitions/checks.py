"""Checks that need more than one value: references, duplicates, rules that can never match.

Each function takes the validated specs (or ``None`` where a part failed validation: its schema
problems are already reported, and checks that need it are skipped rather than guessed) and adds
problems at the exact path of the offending value.

Decisions worth knowing:

- A speed commitment without a catch-all rule is *not* a problem: leads that match no tier get no
  speed clock, which is how an agreement says "only tiers A and B have a speed target". The
  example file documents it next to its catch-all rule.
- A consequence on a metric the agreement does not commit to (``speed`` without ``sales.speed``)
  is a problem: it could never fire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sla_sync.definitions.conditions import contradiction, format_when, implies
from sla_sync.definitions.connections import HubSpotConnection, SalesforceConnection
from sla_sync.definitions.models import (
    AgreementSpec,
    ClockSpec,
    ConsequenceSpec,
    LeadDefinitionSpec,
    MarketingSpec,
    SalesSpec,
    ScopeSpec,
    SpeedSpec,
)
from sla_sync.definitions.problems import Path, Problems, format_path
from sla_sync.sla.policy import ActionKind, Metric, PacingBasis


@dataclass
class Names:
    """Names defined in the file, taken from the raw data so that a connection or calendar with
    its own problems still counts as defined."""

    connections: set[str] = field(default_factory=set)
    calendars: set[str] = field(default_factory=set)


def duplicates(
    items: Sequence[Any], key: str, where: Path, what: str, problems: Problems
) -> set[str]:
    """Report items of ``items`` whose ``key`` repeats an earlier one; return all the names."""
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(key), str | int):
            continue
        name = str(item[key])
        if name in first:
            earlier = (*where, first[name])
            problems.add(
                (*where, index, key),
                f"duplicate {what} {name!r} (first at {format_path(earlier)}, "
                f"line {problems.line_of(earlier)})",
            )
        else:
            first[name] = index
    return set(first)


# --------------------------------------------------------------------------- connections


def check_connection(
    spec: HubSpotConnection | SalesforceConnection, path: Path, problems: Problems
) -> None:
    """Credentials the chosen auth flow needs, and login host consistency (Salesforce)."""
    if not isinstance(spec, SalesforceConnection):
        return
    for credential in ("username", "consumer_key"):
        if getattr(spec, credential) and getattr(spec, f"{credential}_env"):
            problems.add(
                (*path, f"{credential}_env"), f"give {credential} or {credential}_env, not both"
            )
    for credential in spec.required_credentials():
        literal = credential in ("username", "consumer_key") and getattr(spec, credential)
        if not literal and not getattr(spec, f"{credential}_env"):
            problems.add(
                (*path, f"{credential}_env"),
                f"auth {spec.auth} needs {credential}_env (the variable carrying the "
                f"{credential.replace('_', ' ')})",
            )
    host = spec.login_host
    if host and spec.sandbox and host == "login.salesforce.com":
        problems.add(
            (*path, "login_host"), "sandbox: true logs in at test.salesforce.com or a My Domain"
        )
    if spec.auth == "client_credentials" and spec.effective_login_host() in (
        "login.salesforce.com",
        "test.salesforce.com",
    ):
        problems.add(
            (*path, "login_host"),
            "auth client_credentials needs the org's My Domain login host "
            "(e.g. acme.my.salesforce.com)",
        )


# --------------------------------------------------------------------------- agreements


@dataclass
class AgreementParts:
    """The validated parts of one agreement; ``None`` where validation failed."""

    raw: Mapping[str, Any]
    spec: AgreementSpec | None
    scope: ScopeSpec | None
    lead_definition: LeadDefinitionSpec | None
    marketing: MarketingSpec | None
    sales: SalesSpec | None


def check_agreement(
    parts: AgreementParts,
    path: Path,
    names: Names,
    local_calendars: Iterable[str],
    problems: Problems,
) -> None:
    """All cross-value checks of one agreement."""
    raw = parts.raw
    calendars = names.calendars | set(local_calendars)

    connections = raw.get("connections")
    if isinstance(connections, list):
        for index, name in enumerate(connections):
            if isinstance(name, str | int) and str(name) not in names.connections:
                problems.add(
                    (*path, "connections", index),
                    f"undefined connection {str(name)!r}{_known(names.connections)}",
                )

    def calendar_ref(name: object, at: Path) -> None:
        if isinstance(name, str | int) and str(name) not in calendars:
            problems.add(at, f"undefined calendar {str(name)!r}{_known(calendars)}")

    default = raw.get("calendar")
    if default is not None:
        calendar_ref(default, (*path, "calendar"))
    team_calendars = raw.get("team_calendars")
    if isinstance(team_calendars, dict):
        for team, name in team_calendars.items():
            calendar_ref(name, (*path, "team_calendars", str(team)))

    if parts.scope is not None:
        _check_scope(parts.scope, team_calendars, (*path, "scope"), problems)
    if parts.lead_definition is not None:
        _check_lead_definition(parts.lead_definition, (*path, "lead_definition"), problems)
    if parts.marketing is not None:
        _check_marketing(parts.marketing, default, (*path, "marketing"), problems, calendar_ref)
    if parts.sales is not None:
        if default is None:
            problems.add(
                (*path, "calendar"),
                "sales commitments are measured in a calendar: name the default calendar "
                "(calendar: <name>)",
            )
        _check_sales(parts.sales, (*path, "sales"), problems)
    if parts.spec is not None:
        _check_consequences(parts.spec, (*path, "consequences"), problems)


def _known(names: set[str]) -> str:
    return f" (defined: {', '.join(sorted(names))})" if names else " (none is defined)"


def _check_scope(scope: ScopeSpec, team_calendars: object, path: Path, problems: Problems) -> None:
    reason = contradiction(scope.when)
    if reason:
        problems.add((*path, "when"), f"the scope matches no lead: {reason}")
    if scope.teams and isinstance(team_calendars, dict):
        for team in team_calendars:
            if str(team) not in scope.teams:
                problems.add(
                    (*path[:-1], "team_calendars", str(team)),
                    f"team {str(team)!r} is not in scope.teams, so this calendar never applies",
                )


def _check_lead_definition(spec: LeadDefinitionSpec, path: Path, problems: Problems) -> None:
    if spec.mql is not None and not (spec.mql.stages or spec.mql.statuses):
        problems.add((*path, "mql"), "no stage or status means MQL: no lead would ever count")
    mql = spec.mql
    if mql is None:
        return
    for other in ("disqualified", "recycle", "accepted"):
        section = getattr(spec, other)
        if section is None:
            continue
        for kind in ("stages", "statuses"):
            clash = _fold_set(getattr(mql, kind)) & _fold_set(getattr(section, kind))
            if clash:
                problems.add(
                    (*path, other, kind),
                    f"{', '.join(sorted(clash))} also means MQL: a lead cannot be both",
                )
    if spec.rejected is not None:
        clash = _fold_set(mql.statuses) & _fold_set(spec.rejected.statuses)
        if clash:
            problems.add(
                (*path, "rejected", "statuses"),
                f"{', '.join(sorted(clash))} also means MQL: a lead cannot be both",
            )


def _fold_set(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values}


def _check_marketing(
    spec: MarketingSpec, default_calendar: object, path: Path, problems: Problems, calendar_ref: Any
) -> None:
    goal = spec.goal
    if goal.marketing_share is not None and goal.self_sourced_leads is not None:
        problems.add(
            (*path, "goal", "self_sourced_leads"),
            "give marketing_share or self_sourced_leads, not both",
        )
    pacing = spec.pacing
    if pacing.calendar is not None:
        calendar_ref(pacing.calendar, (*path, "pacing", "calendar"))
    elif pacing.basis is PacingBasis.BUSINESS_DAYS and default_calendar is None:
        problems.add(
            (*path, "pacing"),
            "business_days pacing needs a calendar: set pacing.calendar or the agreement's "
            "calendar (or use basis: calendar_days)",
        )
    if spec.value_field is not None and not spec.value_weights:
        problems.add(
            (*path, "value_field"), "value_field is set but value_weights is empty or missing"
        )
    if spec.value_weights and spec.value_field is None:
        problems.add(
            (*path, "value_weights"), "value_weights need value_field (the lead field they key on)"
        )
    if spec.default_value is not None and spec.value_field is None:
        problems.add((*path, "default_value"), "default_value needs value_field and value_weights")


def _check_sales(spec: SalesSpec, path: Path, problems: Problems) -> None:
    if spec.speed is None and spec.depth is None and spec.acceptance is None:
        problems.add(path, "no commitment: give at least one of speed, depth, acceptance")
    if spec.speed is not None:
        _check_tiers(spec.speed, (*path, "speed", "tiers"), problems)
    _check_clock(spec.clock, (*path, "clock"), problems)


def _check_tiers(speed: SpeedSpec, path: Path, problems: Problems) -> None:
    """Rules that can never match: contradictory, or shadowed by an earlier rule that every lead
    matching this one already matches (first match wins)."""
    for index, rule in enumerate(speed.tiers):
        here = (*path, index, "when") if rule.when else (*path, index)
        reason = contradiction(rule.when)
        if reason:
            problems.add(here, f"tier {rule.tier} can never match: {reason}")
            continue
        for earlier_index, earlier in enumerate(speed.tiers[:index]):
            if not implies(rule.when, earlier.when):
                continue
            if earlier.when:
                why = (
                    f"every lead matching {format_when(rule.when)!r} also matches "
                    f"tiers[{earlier_index}] (tier {earlier.tier}: "
                    f"{format_when(earlier.when)!r}), which comes first"
                )
            else:
                why = (
                    f"tiers[{earlier_index}] (tier {earlier.tier}) comes first and has no "
                    "condition, so it takes every lead"
                )
            problems.add(here, f"tier {rule.tier} can never match: {why}")
            break


def _check_clock(clock: ClockSpec, path: Path, problems: Problems) -> None:
    clash = _fold_set(clock.pause_statuses) & _fold_set(clock.cancel_statuses)
    if clash:
        problems.add(
            (*path, "cancel_statuses"),
            f"{', '.join(sorted(clash))} both pauses and cancels the clock; choose one",
        )
    seen: set[float] = set()
    for index, fraction in enumerate(clock.warn_at):
        if fraction in seen:
            problems.add((*path, "warn_at", index), f"warning at {fraction:.0%} is listed twice")
        seen.add(fraction)


def _check_consequences(spec: AgreementSpec, path: Path, problems: Problems) -> None:
    committed = {
        Metric.MARKETING: spec.marketing is not None,
        Metric.SPEED: spec.sales is not None and spec.sales.speed is not None,
        Metric.DEPTH: spec.sales is not None and spec.sales.depth is not None,
        Metric.ACCEPTANCE: spec.sales is not None and spec.sales.acceptance is not None,
    }
    seen: dict[tuple[Metric, float], int] = {}
    for index, consequence in enumerate(spec.consequences):
        here = (*path, index)
        if not committed[consequence.metric]:
            problems.add(
                (*here, "metric"),
                f"the agreement has no {consequence.metric.value} commitment, so this "
                "consequence can never fire",
            )
        key = (consequence.metric, consequence.below)
        if key in seen:
            problems.add(
                (*here, "below"),
                f"same metric and threshold as consequences[{seen[key]}]; merge their actions",
            )
        seen.setdefault(key, index)
        _check_actions(consequence, here, problems)


def _check_actions(consequence: ConsequenceSpec, path: Path, problems: Problems) -> None:
    for index, action in enumerate(consequence.actions):
        if action.kind is ActionKind.CARRY_SHORTFALL and consequence.metric is not Metric.MARKETING:
            problems.add(
                (*path, "actions", index, "carry_shortfall"),
                "carry_shortfall carries marketing's shortfall: use it with metric: marketing",
            )
