"""The SLA definition language end to end: the shipped example, broken copies, conversion.

Broken copies are made by editing the example's text, so each test shows the one change it makes
and asserts the problem's path *and* line (the line of the edited text).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from sla_sync.definitions import (
    ConfigError,
    ConfigProblem,
    HubSpotConnection,
    SalesforceConnection,
    SlaSyncConfig,
    check_config_file,
    check_config_text,
    load_config,
    load_config_text,
)
from sla_sync.domain import TouchDirection, TouchKind
from sla_sync.settings import MissingSecretError, read_secret
from sla_sync.sla.policy import (
    ActionKind,
    ClockStart,
    Condition,
    Duration,
    DurationUnit,
    Fixed,
    Metric,
    Operator,
    PacingBasis,
    PeriodKind,
    ReassignmentPolicy,
    TierChangePolicy,
    Trailing,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "sla-sync.example.yaml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
CLI = Path(sys.executable).with_name("sla-sync")

HUBSPOT_TOKEN = "pat-na1-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
SF_SESSION = "00D5e000000AbCd!AQ4AQLgN0aUsQ8tL5r7bM2xYzPq9WvKeHjC0dF1gS3"


def edit(old: str, new: str, text: str = TEXT) -> str:
    """``text`` with the one occurrence of ``old`` replaced (fails loudly if not unique)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based line where the unique ``needle`` starts."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    return text[: text.index(needle)].count("\n") + 1


def at(problems: list[ConfigProblem], path: str) -> ConfigProblem:
    """The one problem at ``path``."""
    found = [p for p in problems if p.path == path]
    assert len(found) == 1, f"expected one problem at {path}, got:\n" + "\n".join(
        map(str, problems)
    )
    return found[0]


@dataclass(frozen=True)
class Broken:
    """One broken copy: replace ``old`` by ``new``; expect a problem at ``path`` on the line
    where ``line_at`` (default ``new``) is, whose message contains ``says``."""

    old: str
    new: str
    path: str
    says: str
    line_at: str | None = None


BROKEN: dict[str, Broken] = {
    # calendars (validated by the calendar engine, placed in the file by definitions)
    "calendar hours syntax": Broken(
        'hours: {mon-thu: ["08:30-17:30"], fri: ["08:30-16:00"]}',
        'hours: {mon-thu: ["9-17"], fri: ["08:30-16:00"]}',
        "agreements[1].calendars.london.hours.mon-thu",
        '"9-17" is not HH:MM-HH:MM',
    ),
    "dated calendar version": Broken(
        'hours: {mon-fri: ["08:00-17:00"], sat: ["09:00-13:00"]}',
        'hours: {mon-fri: ["08:00-17:00"], sat: ["9-13"]}',
        "calendars.sf-sales[1].hours.sat",
        '"9-13" is not HH:MM-HH:MM',
    ),
    "calendar unknown time zone": Broken(
        "timezone: Europe/London\n        hours",
        "timezone: Europe/Londn\n        hours",
        "agreements[1].calendars.london.timezone",
        "not an IANA time zone",
        line_at="timezone: Europe/Londn",
    ),
    "calendar unknown holiday country": Broken(
        "country: GB,",
        "country: XX,",
        "agreements[1].calendars.london.holidays.country",
        '"XX"',
    ),
    "calendar without working time": Broken(
        'hours: {mon-fri: ["09:00-12:00", "13:00-17:00"]}',
        "hours: {sat: []}",
        "calendars.ny-sales.hours",
        "no working time",
    ),
    "reporting time zone": Broken(
        "reporting: {period: quarter, timezone: Europe/London}",
        "reporting: {period: quarter, timezone: Europe/Lundon}",
        "agreements[1].reporting.timezone",
        "unknown time zone",
    ),
    # references and duplicates
    "undefined default calendar": Broken(
        "calendar: london", "calendar: paris", "agreements[1].calendar", "undefined calendar"
    ),
    "undefined team calendar": Broken(
        "sf-inbound: sf-sales",
        "sf-inbound: la-sales",
        "agreements[0].team_calendars.sf-inbound",
        "undefined calendar 'la-sales'",
    ),
    "undefined pacing calendar": Broken(
        "pacing: {basis: business_days, calendar: ny-sales}",
        "pacing: {basis: business_days, calendar: nyc}",
        "agreements[0].marketing.pacing.calendar",
        "undefined calendar 'nyc'",
    ),
    "undefined connection": Broken(
        "connections: [salesforce-emea]",
        "connections: [salesforce-apac]",
        "agreements[1].connections[0]",
        "undefined connection 'salesforce-apac'",
    ),
    "duplicate agreement id": Broken(
        "id: enterprise-fast-lane\n",
        "id: smarketing-na\n",
        "agreements[2].id",
        "duplicate agreement id 'smarketing-na' (first at agreements[0], line 100)",
        line_at="id: smarketing-na\n    description: Enterprise",
    ),
    "duplicate connection name": Broken(
        "  - name: salesforce-emea\n",
        "  - name: hubspot-main\n",
        "connections[1].name",
        "duplicate connection 'hubspot-main' (first at connections[0], line 34)",
        line_at="name: hubspot-main\n    kind: salesforce",
    ),
    # tier rules that can never match
    "tier shadowed by an unconditional rule": Broken(
        "when: lead_score >= 50\n",
        "\n",
        "agreements[0].sales.speed.tiers[2]",
        "tier C can never match: tiers[1] (tier B) comes first and has no condition",
        line_at="- tier: C\n            target: 2 business_days",
    ),
    "tier shadowed by a broader earlier rule": Broken(
        "when: lead_score >= 80 and lead_source in [demo_request, contact_sales]",
        "when: lead_score >= 40",
        "agreements[0].sales.speed.tiers[1].when",
        "tier B can never match: every lead matching 'lead_score >= 50' also matches tiers[0]",
        line_at="when: lead_score >= 50",
    ),
    "tier with contradictory comparisons": Broken(
        "when: lead_score >= 50",
        "when: lead_score >= 80 and lead_score < 50",
        "agreements[0].sales.speed.tiers[1].when",
        "tier B can never match: lead_score: no number satisfies",
    ),
    "tier with an empty in-list": Broken(
        "when: lead_score >= 50",
        "when: lead_source in []",
        "agreements[0].sales.speed.tiers[1].when",
        "an empty list matches nothing",
    ),
    "tier with exists and missing": Broken(
        "when: lead_score >= 50",
        "when: phone exists and phone missing",
        "agreements[0].sales.speed.tiers[1].when",
        "both set and missing",
    ),
    "malformed when clause": Broken(
        "when: lead_score >= 50",
        "when: lead_score >= 50 and rating = Hot",
        "agreements[0].sales.speed.tiers[1].when",
        "clause 2",
    ),
    "scope that matches no lead": Broken(
        "when: employees >= 1000",
        "when: employees >= 1000 and employees < 10",
        "agreements[2].scope.when",
        "the scope matches no lead",
    ),
    # ranges and units
    "marketing share above 1": Broken(
        "marketing_share: 60%",
        "marketing_share: 1.5",
        "agreements[0].marketing.goal.marketing_share",
        "at most 1",
    ),
    "close rate of zero": Broken(
        "lead_to_customer_rate: 5%",
        "lead_to_customer_rate: 0",
        "agreements[1].marketing.goal.lead_to_customer_rate",
        "greater than 0",
    ),
    "negative revenue goal": Broken(
        "revenue_goal: 450000",
        "revenue_goal: -5",
        "agreements[1].marketing.goal.revenue_goal",
        "must not be negative",
    ),
    "zero duration": Broken(
        "target: 30 business_minutes",
        "target: 0 business_minutes",
        "agreements[0].sales.speed.tiers[0].target",
        "must be positive",
    ),
    "unknown duration unit": Broken(
        "target: 30 business_minutes",
        "target: 30 biz_minutes",
        "agreements[0].sales.speed.tiers[0].target",
        "unknown duration unit 'biz_minutes'",
    ),
    "duration without a unit": Broken(
        "acceptance: {within: 3 business_days}",
        "acceptance: {within: 3}",
        "agreements[1].sales.acceptance.within",
        "<number> <unit>",
    ),
    "warning at 100 %": Broken(
        "warn_at: [50%, 75%]",
        "warn_at: [50%, 100%]",
        "agreements[0].sales.clock.warn_at[1]",
        "outside (0, 1)",
    ),
    "min attempts below 1": Broken(
        "min_attempts: 5",
        "min_attempts: 0",
        "agreements[0].sales.depth.min_attempts",
        "greater than or equal to 1",
    ),
    "trailing zero months": Broken(
        "average_deal_size: trailing(3 months)",
        "average_deal_size: trailing(0 months)",
        "agreements[0].marketing.goal.average_deal_size",
        "at least 1 month",
    ),
    "share and self-sourced leads together": Broken(
        "self_sourced_leads: 40 ",
        "self_sourced_leads: 40\n        marketing_share: 0.5 ",
        "agreements[1].marketing.goal.self_sourced_leads",
        "not both",
        line_at="self_sourced_leads: 40\n",
    ),
    "value field without weights": Broken(
        "      value_weights:\n        demo_request: 1000\n        free_trial: 360\n"
        "        ebook: 40\n      default_value: 40\n",
        "",
        "agreements[0].marketing.value_field",
        "value_weights is empty or missing",
        line_at="value_field: lead_source",
    ),
    "consequence threshold above 100 %": Broken(
        "below: 95%",
        "below: 150%",
        "agreements[2].consequences[0].below",
        "outside (0, 1]",
    ),
    "carry shortfall on a sales metric": Broken(
        "below: 75%\n        actions:\n          - escalate: [cro]",
        "below: 75%\n        actions:\n          - carry_shortfall: 50%",
        "agreements[0].consequences[1].actions[0].carry_shortfall",
        "use it with metric: marketing",
        line_at="- carry_shortfall: 50%\n      - metric: marketing",
    ),
    "consequence on a metric without commitment": Broken(
        "metric: acceptance",
        "metric: depth",
        "agreements[1].consequences[1].metric",
        "no depth commitment",
    ),
    # contradictions between values
    "team calendar outside the scope's teams": Broken(
        "ny-inbound: ny-sales",
        "ny-outbound: ny-sales",
        "agreements[0].team_calendars.ny-outbound",
        "not in scope.teams",
    ),
    "status that means MQL and disqualified": Broken(
        "disqualified: {statuses: [Closed - Not Converted]}",
        "disqualified: {statuses: [Closed - Not Converted, marketing QUALIFIED]}",
        "agreements[1].lead_definition.disqualified.statuses",
        "marketing qualified also means MQL",
    ),
    "status that pauses and cancels": Broken(
        "cancel_statuses: [duplicate]",
        "cancel_statuses: [duplicate, Meeting_Booked]",
        "agreements[0].sales.clock.cancel_statuses",
        "both pauses and cancels",
    ),
    "warning listed twice": Broken(
        "warn_at: [50%, 75%]",
        "warn_at: [75%, 0.75]",
        "agreements[0].sales.clock.warn_at[1]",
        "listed twice",
    ),
    "value weights without a field": Broken(
        "      value_field: lead_source\n",
        "",
        "agreements[0].marketing.value_weights",
        "need value_field",
        line_at="value_weights:\n        demo_request",
    ),
    "same consequence twice": Broken(
        "below: 75%\n        actions:\n          - escalate: [cro]",
        "below: 90%\n        actions:\n          - escalate: [cro]",
        "agreements[0].consequences[1].below",
        "same metric and threshold as consequences[0]",
        line_at="below: 90%\n        actions:\n          - escalate: [cro]",
    ),
    "mql with no stage or status": Broken(
        "mql: {stages: [marketingqualifiedlead]}",
        "mql: {stages: []}",
        "agreements[0].lead_definition.mql",
        "no stage or status means MQL",
    ),
    "empty token key": Broken(
        "    token_env: HUBSPOT_TOKEN\n",
        "    token_env: HUBSPOT_TOKEN\n    token:\n",
        "connections[0].token",
        "credentials are named by token_env",
        line_at="    token:\n",
    ),
    # schema
    "unknown key (typo)": Broken(
        "reset_on_remql: true",
        "reset_on_reqml: true",
        "agreements[0].sales.clock.reset_on_reqml",
        "did you mean 'reset_on_remql'?",
    ),
    "unknown enum value": Broken(
        "reassignment: per_owner",
        "reassignment: round_robin",
        "agreements[0].sales.clock.reassignment",
        "'record_clock' or 'per_owner'",
    ),
    "missing required key": Broken(
        "parties: {provider: marketing-emea, recipient: sales-emea}",
        "parties: {provider: marketing-emea}",
        "agreements[1].parties.recipient",
        "required",
        line_at="parties: {provider: marketing-emea}",
    ),
    "unknown connection kind": Broken(
        "kind: salesforce", "kind: pipedrive", "connections[1].kind", "hubspot or salesforce"
    ),
    "salesforce auth without its credential": Broken(
        "    private_key_env: SALESFORCE_PRIVATE_KEY ",
        "    # private key removed ",
        "connections[1].private_key_env",
        "auth jwt needs private_key_env",
        line_at="  - name: salesforce-emea",
    ),
    "credential variable in lower case": Broken(
        "consumer_key_env: SALESFORCE_CONSUMER_KEY",
        "consumer_key_env: salesforce_key",
        "connections[1].consumer_key_env",
        "NAME of an environment variable",
    ),
    "duplicate YAML key": Broken(
        "    sandbox: false\n",
        "    sandbox: false\n    sandbox: true\n",
        "connections[1].sandbox",
        "duplicate key 'sandbox'",
        line_at="    sandbox: true\n",
    ),
}


def test_example_file_is_valid() -> None:
    assert check_config_file(EXAMPLE) == []


def test_example_file_loads() -> None:
    config = load_config(EXAMPLE)
    assert isinstance(config, SlaSyncConfig)
    assert [p.id for p in config.agreement_policies()] == [
        "smarketing-na",
        "smarketing-emea",
        "enterprise-fast-lane",
    ]


def test_cli_config_check_passes_on_the_example() -> None:
    result = subprocess.run(
        [str(CLI), "config", "check", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_copy_names_the_place(case: str, tmp_path: Path) -> None:
    broken = BROKEN[case]
    text = edit(broken.old, broken.new)
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    problems = check_config_file(file)
    problem = at(problems, broken.path)
    assert broken.says in problem.message, str(problem)
    assert problem.line == line_of(text, broken.line_at or broken.new), str(problem)
    assert str(problem).startswith(f"line {problem.line}: {broken.path}: ")


def test_cli_reports_the_place_and_fails(tmp_path: Path) -> None:
    text = edit(
        'hours: {mon-thu: ["08:30-17:30"], fri: ["08:30-16:00"]}',
        'hours: {mon-thu: ["9-17"], fri: ["08:30-16:00"]}',
    )
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [str(CLI), "config", "check", str(file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    line = line_of(text, 'mon-thu: ["9-17"]')
    assert (
        f'line {line}: agreements[1].calendars.london.hours.mon-thu: "9-17" is not HH:MM-HH:MM'
        in result.stderr
    )


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = edit("calendar: london", "calendar: paris")
    text = edit("min_attempts: 5", "min_attempts: 0", text)
    text = edit("when: lead_score >= 50", "when: lead_score >== 50", text)
    text = edit("kind: salesforce", "kind: pipedrive", text)
    paths = {p.path for p in check_config_text(text)}
    assert {
        "agreements[1].calendar",
        "agreements[0].sales.depth.min_attempts",
        "agreements[0].sales.speed.tiers[1].when",
        "connections[1].kind",
    } <= paths


def test_problems_come_in_file_order() -> None:
    text = edit("calendar: london", "calendar: paris")
    text = edit("min_attempts: 5", "min_attempts: 0", text)
    lines = [p.line or 0 for p in check_config_text(text)]
    assert lines == sorted(lines)


# --------------------------------------------------------------------------- secrets


SECRET_CASES = {
    "hubspot token under token": (
        "    token_env: HUBSPOT_TOKEN\n",
        f"    token: {HUBSPOT_TOKEN}\n",
        "connections[0].token",
        HUBSPOT_TOKEN,
        "literal secret not allowed; name an environment variable with token_env",
    ),
    "hubspot token pasted into token_env": (
        "    token_env: HUBSPOT_TOKEN\n",
        f'    token_env: "{HUBSPOT_TOKEN}"\n',
        "connections[0].token_env",
        HUBSPOT_TOKEN,
        "looks like a HubSpot private-app token: literal secret not allowed",
    ),
    "password under password": (
        "    private_key_env: SALESFORCE_PRIVATE_KEY ",
        "    private_key_env: SALESFORCE_PRIVATE_KEY\n    password: Tr0ub4dor&3-xyzzy",
        "connections[1].password",
        "Tr0ub4dor&3-xyzzy",
        "name an environment variable with password_env",
    ),
    "salesforce session id anywhere": (
        "username: sla-sync@acme-emea.example.com",
        f'username: "{SF_SESSION}"',
        "connections[1].username",
        SF_SESSION,
        "looks like a Salesforce session id",
    ),
    "pem private key": (
        "    private_key_env: SALESFORCE_PRIVATE_KEY ",
        '    private_key: "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAsecretbits\\n"',
        "connections[1].private_key",
        "MIIEowIBAAKCAQEAsecretbits",
        "literal secret not allowed; name an environment variable with private_key_env",
    ),
    "password in a URL": (
        "    # base_url: https://api.hubapi.com\n",
        "    base_url: https://ops:hunter22@proxy.example.com\n",
        "connections[0].base_url",
        "hunter22",
        "looks like a URL with a password",
    ),
}


@pytest.mark.parametrize("case", list(SECRET_CASES), ids=list(SECRET_CASES))
def test_literal_secret_is_refused_without_echoing_it(case: str, tmp_path: Path) -> None:
    old, new, path, secret, says = SECRET_CASES[case]
    text = edit(old, new)
    file = tmp_path / "secret.yaml"
    file.write_text(text, encoding="utf-8")
    problems = check_config_file(file)
    problem = at(problems, path)
    assert says in problem.message
    assert problem.line == line_of(text, new.strip().split("\n")[-1])
    assert all(secret not in str(p) for p in problems)
    with pytest.raises(ConfigError) as raised:
        load_config(file)
    assert secret not in str(raised.value)
    result = subprocess.run(
        [str(CLI), "config", "check", str(file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "literal secret not allowed" in result.stderr
    assert secret not in result.stdout + result.stderr


def test_secret_in_a_comment_is_refused() -> None:
    text = edit(
        "    token_env: HUBSPOT_TOKEN\n", f"    token_env: HUBSPOT_TOKEN   # {HUBSPOT_TOKEN}\n"
    )
    problems = check_config_text(text)
    assert [p.line for p in problems] == [line_of(text, HUBSPOT_TOKEN)]
    assert all(HUBSPOT_TOKEN not in str(p) for p in problems)


def test_bad_yaml_does_not_quote_the_line() -> None:
    text = edit("    token_env: HUBSPOT_TOKEN\n", f"    token_env: [{HUBSPOT_TOKEN}\n    kind: x\n")
    problems = check_config_text(text)
    assert problems, "expected a syntax problem"
    assert all(HUBSPOT_TOKEN not in str(p) for p in problems)


# --------------------------------------------------------------------------- file-level problems


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    problems = check_config_file(tmp_path / "nope.yaml")
    assert [p.message for p in problems] == ["file not found"]
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "nope.yaml")
    assert raised.value.problems == tuple(problems)


def test_yaml_syntax_error_has_its_line() -> None:
    text = edit("warn_below: 0.85", "warn_below: [0.85")
    (problem,) = check_config_text(text)
    assert problem.message.startswith("invalid YAML:")
    # The parser notices at the next token: the next non-blank line.
    broken_line = line_of(text, "warn_below: [0.85")
    lines = text.splitlines()
    next_token = next(n for n in range(broken_line + 1, len(lines)) if lines[n - 1].strip())
    assert problem.line == next_token
    assert problem.path == ""
    assert str(problem).startswith(f"line {problem.line}: invalid YAML")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    (problem,) = check_config_text(text)
    assert "must be a mapping" in problem.message


def test_invalid_date_is_a_problem_with_its_line() -> None:
    text = edit("add: [2026-12-24, 2026-12-31]", "add: [2026-02-30]")
    (problem,) = check_config_text(text)
    assert "'2026-02-30' is not a valid date" in problem.message
    assert problem.line == line_of(text, "2026-02-30")


def test_empty_sections_are_problems() -> None:
    problems = check_config_text("version: 1\nconnections: []\nagreements: []\n")
    assert {p.path for p in problems} == {"connections", "agreements"}


def test_load_config_raises_config_error_with_every_problem() -> None:
    text = edit("calendar: london", "calendar: paris")
    text = edit("min_attempts: 5", "min_attempts: 0", text)
    with pytest.raises(ConfigError) as raised:
        load_config_text(text, source="broken.yaml")
    error = raised.value
    assert isinstance(error, ValueError)
    assert {p.path for p in error.problems} == {
        "agreements[1].calendar",
        "agreements[0].sales.depth.min_attempts",
    }
    assert str(error).startswith("broken.yaml: 2 problem(s)")


def test_yaml_12_scalars_keep_country_codes_and_times_as_text() -> None:
    # YAML 1.1 would turn NO (Norway) into False; the file's loader keeps it text.
    text = edit("country: GB, subdivision: ENG,", "country: NO,")
    assert check_config_text(text) == []


def test_problem_str_forms() -> None:
    assert str(ConfigProblem("a.b", "bad", 3)) == "line 3: a.b: bad"
    assert str(ConfigProblem("a.b", "bad")) == "a.b: bad"
    assert str(ConfigProblem("", "file not found")) == "file not found"


# --------------------------------------------------------------------------- conversion


@pytest.fixture(scope="module")
def config() -> SlaSyncConfig:
    return load_config(EXAMPLE)


def test_tiers_keep_order_units_and_conditions(config: SlaSyncConfig) -> None:
    sales = config.agreement_policy("smarketing-na").sales
    assert sales is not None and sales.speed is not None
    tiers = sales.speed.tiers
    assert [t.tier for t in tiers] == ["A", "B", "C"]
    assert [t.target for t in tiers] == [
        Duration(30, DurationUnit.BUSINESS_MINUTES),
        Duration(4, DurationUnit.BUSINESS_HOURS),
        Duration(2, DurationUnit.BUSINESS_DAYS),
    ]
    assert tiers[0].when == (
        Condition("lead_score", Operator.GE, 80.0),
        Condition("lead_source", Operator.IN, ("demo_request", "contact_sales")),
    )
    assert tiers[2].when == ()
    emea = config.agreement_policy("smarketing-emea").sales
    assert emea is not None and emea.speed is not None
    assert emea.speed.tiers[1].when == (
        Condition("rating", Operator.EQ, "Warm"),
        Condition("phone", Operator.EXISTS),
    )


def test_depth_acceptance_and_durations(config: SlaSyncConfig) -> None:
    na = config.agreement_policy("smarketing-na").sales
    assert na is not None and na.depth is not None and na.acceptance is not None
    assert (na.depth.min_attempts, na.depth.window) == (
        5,
        Duration(10, DurationUnit.BUSINESS_DAYS),
    )
    assert na.acceptance.within == Duration(2, DurationUnit.BUSINESS_DAYS)
    fast = config.agreement_policy("enterprise-fast-lane").sales
    assert fast is not None and fast.depth is not None
    assert fast.depth.window == Duration(14, DurationUnit.DAYS)  # "2 weeks"
    assert fast.clock.escalate_after == Duration(90, DurationUnit.MINUTES)
    assert fast.acceptance is None


def test_calendars_are_bound_per_team_and_local_ones_win(config: SlaSyncConfig) -> None:
    na = config.agreement_policy("smarketing-na").sales
    assert na is not None
    assert na.calendar.name == "ny-sales"
    assert {team: cal.name for team, cal in na.team_calendars.items()} == {
        "ny-inbound": "ny-sales",
        "sf-inbound": "sf-sales",
    }
    assert na.team_calendars["sf-inbound"].timezone == "America/Los_Angeles"
    emea = config.agreement_policy("smarketing-emea").sales
    assert emea is not None
    assert (emea.calendar.name, emea.calendar.timezone) == ("london", "Europe/London")
    assert "london" not in config.calendars  # agreement-local


def test_agreement_local_calendar_shadows_top_level_name() -> None:
    text = edit("      london:\n", "      ny-sales:\n")
    text = edit("    calendar: london\n", "    calendar: ny-sales\n", text)
    config = load_config_text(text)
    emea = config.agreement_policy("smarketing-emea").sales
    na = config.agreement_policy("smarketing-na").sales
    assert emea is not None and na is not None
    assert emea.calendar.timezone == "Europe/London"
    assert na.calendar.timezone == "America/New_York"


def test_goal_inputs_fixed_and_trailing(config: SlaSyncConfig) -> None:
    na = config.agreement_policy("smarketing-na").volume
    assert na is not None
    assert na.goal.revenue_goal == Fixed(Decimal(200000))
    assert na.goal.marketing_share == Fixed(Decimal("0.6"))
    assert na.goal.average_deal_size == Trailing(3)
    assert na.goal.lead_to_customer_rate == Trailing(6)
    assert na.goal.self_sourced_leads is None
    assert na.value_field == "lead_source"
    assert dict(na.value_weights) == {
        "demo_request": Decimal(1000),
        "free_trial": Decimal(360),
        "ebook": Decimal(40),
    }
    assert na.default_value == Decimal(40)
    assert na.pacing is PacingBasis.BUSINESS_DAYS
    assert na.pacing_calendar is not None and na.pacing_calendar.name == "ny-sales"
    assert (na.period, na.timezone, na.warn_below, na.weekly_reports) == (
        PeriodKind.MONTH,
        "America/New_York",
        0.9,
        True,
    )
    emea = config.agreement_policy("smarketing-emea").volume
    assert emea is not None
    assert emea.goal.self_sourced_leads == Fixed(Decimal(40))
    assert emea.goal.lead_to_customer_rate == Fixed(Decimal("0.05"))
    assert emea.goal.marketing_share is None
    assert (emea.pacing, emea.pacing_calendar, emea.period) == (
        PacingBasis.CALENDAR_DAYS,
        None,
        PeriodKind.QUARTER,
    )


def test_lead_definition_clock_and_touches(config: SlaSyncConfig) -> None:
    emea = config.agreement_policy("smarketing-emea").sales
    assert emea is not None
    assert emea.lead_definition.mql_statuses == frozenset({"marketing qualified"})
    assert emea.lead_definition.mql_stages == frozenset()
    assert emea.lead_definition.disqualified_statuses == frozenset({"closed - not converted"})
    assert emea.clock.start is ClockStart.ASSIGNMENT
    assert emea.clock.reassignment is ReassignmentPolicy.RECORD_CLOCK
    assert emea.clock.tier_change is TierChangePolicy.RETROACTIVE
    assert emea.touches.directions == frozenset({TouchDirection.OUTBOUND})
    na = config.agreement_policy("smarketing-na").sales
    assert na is not None
    assert na.clock.warn_at == (0.5, 0.75)
    assert na.clock.pause_statuses == frozenset({"meeting_booked"})
    assert na.touches.kinds == frozenset({TouchKind.CALL, TouchKind.EMAIL, TouchKind.MEETING})
    assert na.touches.count_automated is False
    fast = config.agreement_policy("enterprise-fast-lane").sales
    assert fast is not None
    assert fast.lead_definition.mql_stages == frozenset({"marketingqualifiedlead"})  # default


def test_scope_and_consequences(config: SlaSyncConfig) -> None:
    na = config.agreement_policy("smarketing-na")
    assert na.scope.teams == frozenset({"ny-inbound", "sf-inbound", "enterprise-na"})
    assert na.scope.when == (Condition("country", Operator.NOT_IN, ("GB", "IE", "DE", "FR", "NL")),)
    assert (na.provider, na.recipient, na.connections) == (
        "marketing",
        "sales-na",
        ("hubspot-main",),
    )
    last = na.consequences[-1]
    assert (last.metric, last.below) == (Metric.MARKETING, 0.75)
    assert [(a.kind, a.targets, a.share) for a in last.actions] == [
        (ActionKind.ESCALATE, ("cmo",), None),
        (ActionKind.CARRY_SHORTFALL, (), 0.5),
    ]
    fast = config.agreement_policy("enterprise-fast-lane")
    assert fast.volume is None
    assert fast.connections == ("hubspot-main", "salesforce-emea")


def test_connections_settings_and_credentials(config: SlaSyncConfig, tmp_path: Path) -> None:
    hubspot = config.connection("hubspot-main")
    assert isinstance(hubspot, HubSpotConnection)
    assert hubspot.portal_id == 24681357
    assert hubspot.credential_env() == {"token": "HUBSPOT_TOKEN"}
    assert "token_env" not in hubspot.settings()
    assert hubspot.settings()["daily_quota_share"] == 0.4
    assert hubspot.resolve_credentials(read_secret, {"HUBSPOT_TOKEN": "t0k"}) == {"token": "t0k"}
    key_file = tmp_path / "key.pem"
    key_file.write_text("KEY\n", encoding="utf-8")
    salesforce = config.connection("salesforce-emea")
    assert isinstance(salesforce, SalesforceConnection)
    assert salesforce.effective_login_host() == "acme-emea.my.salesforce.com"
    environ = {"SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_PRIVATE_KEY_FILE": str(key_file)}
    assert config.resolve_credentials("salesforce-emea", read_secret, environ) == {
        "consumer_key": "ck",
        "private_key": "KEY",
        "username": "sla-sync@acme-emea.example.com",
    }
    with pytest.raises(MissingSecretError, match="HUBSPOT_TOKEN"):
        hubspot.resolve_credentials(read_secret, {})
    with pytest.raises(KeyError):
        config.connection("nope")


def test_salesforce_connection_checks() -> None:
    text = edit("    login_host: acme-emea.my.salesforce.com\n", "")
    text = edit("auth: jwt", "auth: client_credentials", text)
    text = edit(
        "    username: sla-sync@acme-emea.example.com",
        "    consumer_key: abc\n    username: sla-sync@acme-emea.example.com",
        text,
    )
    problems = check_config_text(text)
    assert "My Domain" in at(problems, "connections[1].login_host").message
    assert "needs consumer_secret_env" in at(problems, "connections[1].consumer_secret_env").message
    assert "not both" in at(problems, "connections[1].consumer_key_env").message
    text = edit(
        "sandbox: false",
        "sandbox: true",
        edit("login_host: acme-emea.my.salesforce.com\n", "login_host: login.salesforce.com\n"),
    )
    problem = at(check_config_text(text), "connections[1].login_host")
    assert "test.salesforce.com" in problem.message


MINIMAL = """\
connections:
  - {name: hs, kind: hubspot, token_env: HS_TOKEN}
calendars:
  c: {timezone: UTC, hours: {mon-fri: ["09:00-17:00"]}}
agreements:
  - id: a
    parties: {provider: m, recipient: s}
    reporting: {timezone: UTC}
    connections: [hs]
    calendar: c
    sales: {acceptance: {within: 1 business_days}}
recipients: {x: {url_env: X_URL}}
"""


def test_minimal_file_loads_with_defaults() -> None:
    (policy,) = load_config_text(MINIMAL).agreement_policies()
    assert policy.period is PeriodKind.MONTH
    assert policy.sales is not None and policy.sales.speed is None
    assert policy.sales.clock.warn_at == (0.75,)
    assert policy.volume is None and policy.consequences == ()


def test_sales_without_any_commitment() -> None:
    text = edit("sales: {acceptance: {within: 1 business_days}}", "sales: {}", MINIMAL)
    problem = at(check_config_text(text), "agreements[0].sales")
    assert "no commitment" in problem.message
    assert problem.line == line_of(text, "sales: {}")


# --------------------------------------------------------------------------- only real problems

BROKEN_FILE = """\
connections:
  - name: hs
    kind: hubspot
    token: pat-na1-11111111-2222-3333-4444-555555555555
agreements:
  - id: a
    parties: {provider: marketing, recipient: sales}
    reporting: {period: month, timezone: America/New_York}
    connections: [hs, sf]
    calendar: ny
    calendars:
      ny:
        timezone: America/New_York
        hours: {mon: ["9-17"], tue-fri: ["09:00-17:00"]}
        holidays: {country: ZZ}
    sales:
      speed:
        tiers:
          - tier: A
            target: 30 business_minutes
          - tier: B
            when: lead_score >= 50
            target: 4 business_hours
          - tier: C
            when: lead_score >= 80 and lead_score < 50
            target: 1 fortnight
    marketing:
      goal: {revenue_goal: 5000, average_deal_size: 100, lead_to_customer_rate: 0}
"""


def test_a_file_with_many_problems_gets_each_once_and_nothing_else(tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(BROKEN_FILE, encoding="utf-8")
    problems = check_config_file(file)
    tiers = "agreements[0].sales.speed.tiers"
    expected = [
        # a consequence of the literal token (the secret's message names token_env too)
        (2, "connections[0].token_env", "required key is missing"),
        (4, "connections[0].token", "literal secret not allowed"),
        (9, "agreements[0].connections[1]", "undefined connection 'sf'"),
        (14, "agreements[0].calendars.ny.hours.mon", '"9-17" is not HH:MM-HH:MM'),
        (15, "agreements[0].calendars.ny.holidays.country", '"ZZ"'),
        (22, f"{tiers}[1].when", "tier B can never match: tiers[0] (tier A) comes first"),
        (25, f"{tiers}[2].when", "tier C can never match: lead_score: no number satisfies"),
        (26, f"{tiers}[2].target", "unknown duration unit 'fortnight'"),
        (28, "agreements[0].marketing.goal.lead_to_customer_rate", "must be greater than 0"),
    ]
    assert [(p.line, p.path) for p in problems] == [(line, path) for line, path, _ in expected]
    for problem, (_, _, says) in zip(problems, expected, strict=True):
        assert says in problem.message, str(problem)
    assert all("Tuple should have" not in p.message for p in problems)
    assert not any(p.path in ("connections", "agreements") for p in problems)


@dataclass(frozen=True)
class Exactly:
    """Edits ``(old, new)`` applied to ``base`` must give problems at exactly the paths of
    ``expect`` (path -> text its message contains): every real problem, and no consequence of
    another one."""

    edits: tuple[tuple[str, str], ...]
    expect: dict[str, str]
    base: str = TEXT


SPEED = "sales: {acceptance: {within: 1 business_days}}"

EXACTLY: dict[str, Exactly] = {
    # cascades: a list whose items are all invalid is not also "too short"
    "list with only invalid items": Exactly(
        (
            (
                SPEED,
                (
                    "sales: {speed: {tiers: [{tier: A}]}, touches: {kinds: [fax]}}\n"
                    "    consequences: [{metric: speed, below: 50%, actions: [{}]}]"
                ),
            ),
        ),
        {
            "agreements[0].sales.speed.tiers[0].target": "required key is missing",
            "agreements[0].sales.touches.kinds[0]": "'call'",
            "agreements[0].consequences[0].actions[0]": "exactly one of",
        },
        MINIMAL,
    ),
    "only connection and only agreement invalid": Exactly(
        (
            (
                "  - {name: hs, kind: hubspot, token_env: HS_TOKEN}",
                "  - {name: hs, kind: pipedrive}",
            ),
            ("parties: {provider: m, recipient: s}", "parties: {provider: m}"),
        ),
        {
            "connections[0].kind": "hubspot or salesforce",
            "agreements[0].parties.recipient": "required key is missing",
        },
        MINIMAL,
    ),
    # cascades: a misspelt key is not also "missing" for the checks that need its value
    "misspelt default calendar": Exactly(
        (("    calendar: london\n", "    calender: london\n"),),
        {"agreements[1].calender": "did you mean 'calendar'?"},
    ),
    "misspelt commitment": Exactly(
        (
            (
                SPEED,
                (
                    "sales: {sped: {tiers: [{tier: A, target: 1 hours}]}}\n"
                    "    consequences: [{metric: speed, below: 50%, actions: [{notify: [x]}]}]"
                ),
            ),
        ),
        {"agreements[0].sales.sped": "did you mean 'speed'?"},
        MINIMAL,
    ),
    "misspelt when does not make a catch-all rule": Exactly(
        (
            (
                SPEED,
                (
                    "sales:\n      speed:\n        tiers:\n"
                    "          - {tier: A, whn: lead_score > 5, target: 1 hours}\n"
                    "          - {tier: B, when: lead_score > 9, target: 2 hours}\n"
                    "          - {tier: C, target: 3 hours}\n"
                    "          - {tier: D, target: 4 hours}"
                ),
            ),
        ),
        {
            "agreements[0].sales.speed.tiers[0].whn": "did you mean 'when'?",
            "agreements[0].sales.speed.tiers[3]": "tiers[2] (tier C) comes first",
        },
        MINIMAL,
    ),
    "invalid commitment still is one": Exactly(
        (
            (
                SPEED,
                (
                    "sales: {speed: {tiers: [{tier: A, target: 1 fortnight}]}}\n"
                    "    consequences: [{metric: speed, below: 50%, actions: [{notify: [x]}]}]"
                ),
            ),
        ),
        {"agreements[0].sales.speed.tiers[0].target": "unknown duration unit 'fortnight'"},
        MINIMAL,
    ),
    # gating: each check runs on the valid parts, whatever else is invalid
    "tiers despite a bad target, calendar and goal": Exactly(
        (
            ("when: lead_score >= 50", "when: lead_score >= 80 and lead_score < 50"),
            ("target: 2 business_days", "target: 2 fortnights"),
            ("revenue_goal: 200000", "revenue_goal: lots"),
            ("calendar: ny-sales\n    team_calendars", "calendar: nyc\n    team_calendars"),
        ),
        {
            "agreements[0].calendar": "undefined calendar 'nyc'",
            "agreements[0].marketing.goal.revenue_goal": "expected a number",
            "agreements[0].sales.speed.tiers[1].when": "tier B can never match",
            "agreements[0].sales.speed.tiers[2].target": "unknown duration unit",
        },
    ),
    "tier without a valid name still shadows": Exactly(
        (("- tier: B\n            when: lead_score >= 50\n", "- tier: ''\n"),),
        {
            "agreements[0].sales.speed.tiers[1].tier": "at least 1 character",
            "agreements[0].sales.speed.tiers[2]": "tiers[1] comes first and has no condition",
        },
    ),
    "scope despite invalid teams": Exactly(
        (
            (
                "    scope:\n      when: employees >= 1000",
                '    scope:\n      teams: [""]\n      when: employees >= 1000 and employees < 10',
            ),
        ),
        {
            "agreements[2].scope.teams[0]": "at least 1 character",
            "agreements[2].scope.when": "the scope matches no lead",
        },
    ),
    "consequences despite an invalid goal": Exactly(
        (
            ("revenue_goal: 200000", "revenue_goal: lots"),
            (
                "below: 75%\n        actions:\n          - escalate: [cro]",
                "below: 90%\n        actions:\n          - escalate: [cro]",
            ),
            ("lead_to_customer_rate: 5%", "lead_to_customer_rate: 0"),
            ("metric: acceptance", "metric: depth"),
        ),
        {
            "agreements[0].marketing.goal.revenue_goal": "expected a number",
            "agreements[0].consequences[1].below": "same metric and threshold",
            "agreements[1].marketing.goal.lead_to_customer_rate": "greater than 0",
            "agreements[1].consequences[1].metric": "no depth commitment",
        },
    ),
    "lead definition overlap despite invalid values": Exactly(
        (
            ("sql: {stages: [converted]}", "sql: {stages: [converted], statuses: [x]}"),
            (
                "disqualified: {statuses: [Closed - Not Converted]}",
                "disqualified: {statuses: [Closed - Not Converted, marketing QUALIFIED, []]}",
            ),
        ),
        {
            "agreements[1].lead_definition.sql.statuses": "unknown key 'statuses'",
            "agreements[1].lead_definition.disqualified.statuses[2]": "valid string",
            "agreements[1].lead_definition.disqualified.statuses": "also means MQL",
        },
    ),
    "pacing calendar despite an invalid goal": Exactly(
        (
            ("revenue_goal: 200000", "revenue_goal: lots"),
            (
                "pacing: {basis: business_days, calendar: ny-sales}",
                "pacing: {basis: business_days, calendar: nyc}",
            ),
        ),
        {
            "agreements[0].marketing.goal.revenue_goal": "expected a number",
            "agreements[0].marketing.pacing.calendar": "undefined calendar 'nyc'",
        },
    ),
    "clock despite invalid values": Exactly(
        (
            ("warn_at: [50%, 75%]", "warn_at: [100%, 75%, 0.75]"),
            ("cancel_statuses: [duplicate]", "cancel_statuses: [duplicate, Meeting_Booked]"),
            ("reassignment: per_owner", "reassignment: round_robin"),
        ),
        {
            "agreements[0].sales.clock.warn_at[0]": "outside (0, 1)",
            "agreements[0].sales.clock.warn_at[2]": "listed twice",
            "agreements[0].sales.clock.cancel_statuses": "both pauses and cancels",
            "agreements[0].sales.clock.reassignment": "'record_clock' or 'per_owner'",
        },
    ),
    "salesforce credentials despite an invalid setting": Exactly(
        (
            ("    private_key_env: SALESFORCE_PRIVATE_KEY ", "    # private key removed "),
            ('api_version: "62.0"', 'api_version: "62"'),
        ),
        {
            "connections[1].private_key_env": "auth jwt needs private_key_env",
            "connections[1].api_version": "should match pattern",
        },
    ),
}


@pytest.mark.parametrize("case", list(EXACTLY), ids=list(EXACTLY))
def test_every_real_problem_and_no_consequence(case: str) -> None:
    exactly = EXACTLY[case]
    text = exactly.base
    for old, new in exactly.edits:
        text = edit(old, new, text)
    problems = check_config_text(text)
    assert {p.path for p in problems} == set(exactly.expect), "\n".join(map(str, problems))
    for path, says in exactly.expect.items():
        problem = at(problems, path)
        assert says in problem.message, str(problem)
        assert problem.line is not None


def test_a_list_that_is_really_empty_is_reported() -> None:
    text = edit(SPEED, "sales: {speed: {tiers: []}, touches: {kinds: []}}", MINIMAL)
    problems = check_config_text(text)
    assert {p.path: p.message for p in problems} == {
        "agreements[0].sales.speed.tiers": "needs at least 1 item",
        "agreements[0].sales.touches.kinds": "needs at least 1 item",
    }
