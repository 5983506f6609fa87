"""Checks that need more than one value: references, duplicates, rules that can never match.

Each function takes the raw (secret-redacted) data of one part and reads the values it needs one
by one with :mod:`sla_sync.definitions.partial`: a check runs on every value that is valid and
skips only the values that are not (their schema problems are already reported) or that cannot be
known, so one bad value neither hides the other problems of its part nor adds a problem that is a
mere consequence of it.

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

from pydantic import TypeAdapter

from sla_sync.definitions.conditions import contradiction, format_when, implies
from sla_sync.definitions.connections import (
    REQUIRED_CREDENTIALS,
    SalesforceConnection,
    effective_login_host,
)
from sla_sync.definitions.models import (
    ActionSpec,
    AgreementSpec,
    ConsequenceSpec,
    GoalSpec,
    LeadDefinitionSpec,
    MarketingSpec,
    PacingSpec,
    SalesSpec,
    ScopeSpec,
    StagesAndStatuses,
    TierSpec,
)
from sla_sync.definitions.partial import NAME, UNKNOWN, section, valid_items, value
from sla_sync.definitions.problems import Path, Problems, format_path
from sla_sync.definitions.scalars import OpenFraction
from sla_sync.sla.policy import Condition, Metric, PacingBasis

_FRACTION = TypeAdapter[float](OpenFraction)


@dataclass
class Names:
    """Names defined in the file, taken from the raw data so that a connection or calendar with
    its own problems still counts as defined."""

    connections: set[str] = field(default_factory=set)
    calendars: set[str] = field(default_factory=set)
    recipients: set[str] = field(default_factory=set)


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


def check_connection(raw: Mapping[str, Any], path: Path, problems: Problems) -> None:
    """Credentials the chosen auth flow needs, and login host consistency (Salesforce)."""
    if raw.get("kind") != "salesforce":
        return

    def known(key: str) -> Any:
        return value(SalesforceConnection, raw, key)

    for credential in ("username", "consumer_key"):
        literal, env = known(credential), known(f"{credential}_env")
        if isinstance(literal, str) and literal and isinstance(env, str):
            problems.add(
                (*path, f"{credential}_env"), f"give {credential} or {credential}_env, not both"
            )
    auth = known("auth")
    for credential in REQUIRED_CREDENTIALS.get(auth, ()) if isinstance(auth, str) else ():
        literal = known(credential) if credential in ("username", "consumer_key") else None
        env = known(f"{credential}_env")
        if literal is UNKNOWN or env is UNKNOWN:
            continue
        if not literal and not env:
            problems.add(
                (*path, f"{credential}_env"),
                f"auth {auth} needs {credential}_env (the variable carrying the "
                f"{credential.replace('_', ' ')})",
            )
    host, sandbox = known("login_host"), known("sandbox")
    if host is UNKNOWN or sandbox is UNKNOWN:
        return
    if host and sandbox and host == "login.salesforce.com":
        problems.add(
            (*path, "login_host"), "sandbox: true logs in at test.salesforce.com or a My Domain"
        )
    if auth == "client_credentials" and effective_login_host(host, sandbox) in (
        "login.salesforce.com",
        "test.salesforce.com",
    ):
        problems.add(
            (*path, "login_host"),
            "auth client_credentials needs the org's My Domain login host "
            "(e.g. acme.my.salesforce.com)",
        )


# --------------------------------------------------------------------------- agreements


def check_agreement(
    raw: Mapping[str, Any],
    path: Path,
    names: Names,
    local_calendars: Iterable[str],
    problems: Problems,
) -> None:
    """All cross-value checks of one agreement (``raw``: its data as written)."""
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

    if raw.get("calendar") is not None:
        calendar_ref(raw["calendar"], (*path, "calendar"))
    team_calendars = raw.get("team_calendars")
    if isinstance(team_calendars, dict):
        for team, name in team_calendars.items():
            calendar_ref(name, (*path, "team_calendars", str(team)))
    default = value(AgreementSpec, raw, "calendar")  # a name, None (omitted) or UNKNOWN

    scope = section(AgreementSpec, raw, "scope")
    if isinstance(scope, Mapping):
        _check_scope(scope, team_calendars, (*path, "scope"), problems)
    lead_definition = section(AgreementSpec, raw, "lead_definition")
    if isinstance(lead_definition, Mapping):
        _check_lead_definition(lead_definition, (*path, "lead_definition"), problems)
    marketing = section(AgreementSpec, raw, "marketing")
    if isinstance(marketing, Mapping):
        _check_marketing(marketing, default, (*path, "marketing"), problems, calendar_ref)
    if raw.get("sales") is not None and default is None:
        problems.add(
            (*path, "calendar"),
            "sales commitments are measured in a calendar: name the default calendar "
            "(calendar: <name>)",
        )
    sales = section(AgreementSpec, raw, "sales")
    if isinstance(sales, Mapping):
        _check_sales(sales, (*path, "sales"), problems)
    committed = {
        Metric.MARKETING: marketing is not None,
        Metric.SPEED: _commits(sales, "speed"),
        Metric.DEPTH: _commits(sales, "depth"),
        Metric.ACCEPTANCE: _commits(sales, "acceptance"),
    }
    consequences = raw.get("consequences")
    if isinstance(consequences, list):
        _check_consequences(consequences, committed, (*path, "consequences"), problems)
    _check_agreement_recipients(raw, path, names.recipients, problems)


def check_recipient_refs(
    items: object, path: Path, recipients: set[str], problems: Problems
) -> None:
    """Report each name in the list ``items`` (at ``path``) that is not a recipient."""
    for index, name in valid_items(NAME, items):
        if name not in recipients:
            problems.add(
                (*path, index),
                f"undefined recipient {name!r}{_known(recipients)}: add it under recipients: "
                "with the url_env variable that carries its notification URL",
            )


def _check_agreement_recipients(
    raw: Mapping[str, Any], path: Path, recipients: set[str], problems: Problems
) -> None:
    consequences = raw.get("consequences")
    for index, consequence in enumerate(consequences if isinstance(consequences, list) else []):
        actions = consequence.get("actions") if isinstance(consequence, Mapping) else None
        for action_index, action in enumerate(actions if isinstance(actions, list) else []):
            if not isinstance(action, Mapping):
                continue
            for kind in ("notify", "escalate"):
                here = (*path, "consequences", index, "actions", action_index, kind)
                check_recipient_refs(action.get(kind), here, recipients, problems)
    reporting = raw.get("reporting")
    weekly = reporting.get("weekly_report") if isinstance(reporting, Mapping) else None
    if isinstance(weekly, Mapping):
        here = (*path, "reporting", "weekly_report", "to")
        check_recipient_refs(weekly.get("to"), here, recipients, problems)
    alerts = raw.get("alerts")
    if isinstance(alerts, Mapping):
        for key in ("breaches_to", "escalate_to"):
            check_recipient_refs(alerts.get(key), (*path, "alerts", key), recipients, problems)


def _known(names: set[str]) -> str:
    return f" (defined: {', '.join(sorted(names))})" if names else " (none is defined)"


def _commits(sales: object, key: str) -> bool:
    """Whether the agreement has (or may have: unknown counts) sales commitment ``key``."""
    if sales is None:
        return False
    return section(SalesSpec, sales, key) is not None


def _names(raw: object, key: str) -> set[str]:
    """The valid names listed under ``key`` of the mapping ``raw``, case-folded."""
    items = raw.get(key) if isinstance(raw, Mapping) else None
    return {name.strip().casefold() for _, name in valid_items(NAME, items)}


def _check_scope(
    scope: Mapping[str, Any], team_calendars: object, path: Path, problems: Problems
) -> None:
    when = value(ScopeSpec, scope, "when")
    reason = contradiction(when) if isinstance(when, tuple) else None
    if reason:
        problems.add((*path, "when"), f"the scope matches no lead: {reason}")
    teams = value(ScopeSpec, scope, "teams")
    if isinstance(teams, tuple) and teams and isinstance(team_calendars, dict):
        for team in team_calendars:
            if str(team) not in teams:
                problems.add(
                    (*path[:-1], "team_calendars", str(team)),
                    f"team {str(team)!r} is not in scope.teams, so this calendar never applies",
                )


def _check_lead_definition(spec: Mapping[str, Any], path: Path, problems: Problems) -> None:
    mql = section(LeadDefinitionSpec, spec, "mql")
    if not isinstance(mql, Mapping):  # omitted (the defaults) or invalid
        return
    stages = value(StagesAndStatuses, mql, "stages")
    statuses = value(StagesAndStatuses, mql, "statuses")
    if stages == () and statuses == ():
        problems.add((*path, "mql"), "no stage or status means MQL: no lead would ever count")
    others = [
        (other, kind)
        for other in ("disqualified", "recycle", "accepted")
        for kind in ("stages", "statuses")
    ]
    others.append(("rejected", "statuses"))
    for other, kind in others:
        clash = _names(mql, kind) & _names(spec.get(other), kind)
        if clash:
            problems.add(
                (*path, other, kind),
                f"{', '.join(sorted(clash))} also means MQL: a lead cannot be both",
            )


def _check_marketing(
    spec: Mapping[str, Any],
    default_calendar: object,
    path: Path,
    problems: Problems,
    calendar_ref: Any,
) -> None:
    goal = section(MarketingSpec, spec, "goal")
    share = value(GoalSpec, goal, "marketing_share")
    own = value(GoalSpec, goal, "self_sourced_leads")
    if share not in (None, UNKNOWN) and own not in (None, UNKNOWN):
        problems.add(
            (*path, "goal", "self_sourced_leads"),
            "give marketing_share or self_sourced_leads, not both",
        )
    pacing = section(MarketingSpec, spec, "pacing")
    calendar = value(PacingSpec, pacing, "calendar")
    basis = value(PacingSpec, pacing, "basis")
    if isinstance(calendar, str):
        calendar_ref(calendar, (*path, "pacing", "calendar"))
    elif calendar is None and basis is PacingBasis.BUSINESS_DAYS and default_calendar is None:
        problems.add(
            (*path, "pacing"),
            "business_days pacing needs a calendar: set pacing.calendar or the agreement's "
            "calendar (or use basis: calendar_days)",
        )
    value_field = value(MarketingSpec, spec, "value_field")
    weights = spec.get("value_weights")
    if isinstance(value_field, str) and value(MarketingSpec, spec, "value_weights") == {}:
        problems.add(
            (*path, "value_field"), "value_field is set but value_weights is empty or missing"
        )
    if isinstance(weights, Mapping) and weights and value_field is None:
        problems.add(
            (*path, "value_weights"), "value_weights need value_field (the lead field they key on)"
        )
    if spec.get("default_value") is not None and value_field is None:
        problems.add((*path, "default_value"), "default_value needs value_field and value_weights")


def _check_sales(spec: Mapping[str, Any], path: Path, problems: Problems) -> None:
    if all(section(SalesSpec, spec, k) is None for k in ("speed", "depth", "acceptance")):
        problems.add(path, "no commitment: give at least one of speed, depth, acceptance")
    speed = section(SalesSpec, spec, "speed")
    tiers = speed.get("tiers") if isinstance(speed, Mapping) else None
    if isinstance(tiers, list):
        _check_tiers(tiers, (*path, "speed", "tiers"), problems)
    clock = section(SalesSpec, spec, "clock")
    if isinstance(clock, Mapping):
        _check_clock(clock, (*path, "clock"), problems)


def _check_tiers(tiers: list[Any], path: Path, problems: Problems) -> None:
    """Rules that can never match: contradictory, or shadowed by an earlier rule that every lead
    matching this one already matches (first match wins).

    Every tier whose ``when`` is known takes part, whatever else is wrong with it or its
    neighbours; a tier whose ``when`` is not known is left out (it can neither be shown to
    shadow a later tier nor to be shadowed)."""
    earlier_rules: list[tuple[int, str | None, tuple[Condition, ...]]] = []
    for index, rule in enumerate(tiers):
        when = value(TierSpec, rule, "when")
        if not isinstance(when, tuple):
            continue
        tier = value(TierSpec, rule, "tier")
        name = tier if isinstance(tier, str) else None
        what = f"tier {name}" if name is not None else f"tiers[{index}]"
        here = (*path, index, "when") if when else (*path, index)
        earlier_rules.append((index, name, when))
        reason = contradiction(when)
        if reason:
            problems.add(here, f"{what} can never match: {reason}")
            continue
        for earlier_index, earlier_name, earlier_when in earlier_rules[:-1]:
            if not implies(when, earlier_when):
                continue
            earlier = f"tiers[{earlier_index}]"
            if earlier_when:
                label = f"tier {earlier_name}: " if earlier_name is not None else ""
                why = (
                    f"every lead matching {format_when(when)!r} also matches "
                    f"{earlier} ({label}{format_when(earlier_when)!r}), which comes first"
                )
            else:
                label = f" (tier {earlier_name})" if earlier_name is not None else ""
                why = f"{earlier}{label} comes first and has no condition, so it takes every lead"
            problems.add(here, f"{what} can never match: {why}")
            break


def _check_clock(clock: Mapping[str, Any], path: Path, problems: Problems) -> None:
    clash = _names(clock, "pause_statuses") & _names(clock, "cancel_statuses")
    if clash:
        problems.add(
            (*path, "cancel_statuses"),
            f"{', '.join(sorted(clash))} both pauses and cancels the clock; choose one",
        )
    seen: set[float] = set()
    for index, fraction in valid_items(_FRACTION, clock.get("warn_at")):
        if fraction in seen:
            problems.add((*path, "warn_at", index), f"warning at {fraction:.0%} is listed twice")
        seen.add(fraction)


def _check_consequences(
    consequences: list[Any], committed: Mapping[Metric, bool], path: Path, problems: Problems
) -> None:
    seen: dict[tuple[Metric, float], int] = {}
    for index, consequence in enumerate(consequences):
        here = (*path, index)
        metric = value(ConsequenceSpec, consequence, "metric")
        if not isinstance(metric, Metric):
            continue
        if not committed[metric]:
            problems.add(
                (*here, "metric"),
                f"the agreement has no {metric.value} commitment, so this "
                "consequence can never fire",
            )
        below = value(ConsequenceSpec, consequence, "below")
        if isinstance(below, float):
            key = (metric, below)
            if key in seen:
                problems.add(
                    (*here, "below"),
                    f"same metric and threshold as consequences[{seen[key]}]; merge their actions",
                )
            seen.setdefault(key, index)
        actions = consequence.get("actions")
        if metric is Metric.MARKETING or not isinstance(actions, list):
            continue
        for action_index, action in enumerate(actions):
            if value(ActionSpec, action, "carry_shortfall") not in (None, UNKNOWN):
                problems.add(
                    (*here, "actions", action_index, "carry_shortfall"),
                    "carry_shortfall carries marketing's shortfall: use it with metric: marketing",
                )
