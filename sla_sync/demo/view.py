"""How the demo prints: marketing's and sales' figures, contacts read back, run summary, next steps.

Figures are formatted with :mod:`sla_sync.explain.render`'s helpers (ratios, numbers, goal
inputs), so the demo and ``sla-sync sla explain`` print the same figure the same way. Local times
are shown in New York time, the sandbox's main team; CRM values as HubSpot holds them (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from sla_sync.connectors.base import SlaField
from sla_sync.demo.result import ContactReadBack, DemoResult
from sla_sync.domain import Attainment, Owner
from sla_sync.explain.render import _inputs_text, _number, _ratio
from sla_sync.pipeline.figures import AgreementFigures, breached, owner_label
from sla_sync.pipeline.render import render_cycle

_ZONE = "America/New_York"
_CONTACT_FIELDS = (
    (SlaField.STATUS, "status"),
    (SlaField.DUE_AT, "due"),
    (SlaField.FIRST_TOUCH_AT, "first touch"),
    (SlaField.MINUTES_TO_FIRST_TOUCH, "minutes"),
    (SlaField.ATTEMPTS_MADE, "attempts"),
    (SlaField.TIER, "tier"),
    (SlaField.AGREEMENT, "agreement"),
    (SlaField.OWNER_SPEED_MTD, "owner MTD %"),
)


#: Columns when the output is not a terminal (a file, a pipe, a test): the tables' natural width.
PLAIN_WIDTH = 120


def make_console() -> Console:
    """A console for the demo: the terminal's width, or :data:`PLAIN_WIDTH` columns when the
    output is redirected (rich would assume 80 and squeeze the tables)."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=PLAIN_WIDTH)
    return console


def show(console: Console, result: DemoResult) -> None:
    """Print every section of the demo."""
    _header(console, result)
    for figures in result.figures:
        _marketing(console, figures)
        _sales(console, figures, result.owners)
    _contacts(console, result.contacts)
    _summary(console, result)
    _next_steps(console, result)


def show_running(console: Console, result: DemoResult, description: str) -> None:
    """``--keep-running``: where the sandbox is and how to point sla-sync at it."""
    setup = result.setup
    console.rule("the sandbox keeps running: Ctrl-C stops it")
    console.print(description, highlight=False)
    console.print(
        f"\nTo sync this portal again: copy {setup.config_path}, set base_url: "
        f"{result.hubspot_url} in the copy, then\n"
        f"  {result.token_env}={result.hubspot_token} sla-sync sync --config <copy> "
        f"--data-dir {setup.options.data_dir}",
        highlight=False,
    )


# --------------------------------------------------------------------------- sections


def _header(console: Console, result: DemoResult) -> None:
    seeded, setup = result.seeded, result.setup
    console.rule("sla-sync demo: one worker cycle against a seeded HubSpot sandbox")
    console.print(
        f"portal: {seeded.get('contacts', setup.options.leads)} contacts, "
        f"{seeded.get('engagements', 0)} activities, {seeded.get('owners', 0)} owners in 4 teams "
        f"(New York, Los Angeles, Chicago, London)\n"
        f"now:    {_local(result)} = {result.now:%Y-%m-%dT%H:%M:%SZ}, the sandbox clock (the "
        f"seed's snapshot instant)\n"
        f"store:  {setup.database_url} ({setup.note})\n"
        f"ran:    db upgrade; crm init ({_schema_text(result)}); "
        f"sync --full (pull, evaluate, write back)",
        highlight=False,
    )


def _schema_text(result: DemoResult) -> str:
    actions: dict[str, int] = {}
    for change in result.schema:
        actions[change.action] = actions.get(change.action, 0) + 1
    return ", ".join(f"{count} {action}" for action, count in sorted(actions.items())) or "-"


def _marketing(console: Console, figures: AgreementFigures) -> None:
    policy = figures.policy
    console.rule(f"marketing: {policy.id} ({policy.provider} -> {policy.recipient})")
    total, goal = figures.total, figures.goal
    period = f"period {figures.period.label} ({policy.timezone})"
    if goal is None or total is None:
        console.print(f"{period}: no marketing goal stored", highlight=False)
        return
    share = "" if total.marketing_pct is None else f" = {total.marketing_pct:.1f} % of the goal"
    # With value weights the agreement is measured in implied value: pace and consequences too.
    measure = " on value" if total.value_goal is not None else ""
    print_ = partial(console.print, highlight=False)
    print_(
        f"{period}: goal [bold]{goal.leads_goal}[/] MQLs = ceil(R x m / (ASP x r)) with "
        f"{_inputs_text(goal)} (goal version {goal.version})"
    )
    print_(
        f"delivered [bold]{total.mqls_delivered}[/] MQLs{share}; expected to date "
        f"{_number(total.expected_to_date)} (business days so far)"
    )
    if total.value_delivered is not None:
        print_(
            f"value: ${total.value_delivered:,.0f} delivered of ${total.value_goal or 0:,.0f} "
            "(implied by lead source)"
        )
    print_(f"pace index{measure}: [bold]{_number(total.pace_index, 2)}[/] (1.00 = on pace)")
    print_(f"if the period closed now: {'; '.join(total.consequences) or 'no consequence'}")


def _sales(console: Console, figures: AgreementFigures, owners: Mapping[str, Owner]) -> None:
    policy = figures.policy
    console.rule(f"sales: {policy.id} ({policy.recipient}), cycles started in {figures.period}")
    if figures.total is None:
        console.print("no sales figures stored", highlight=False)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("scope", no_wrap=True)
    for header in ("speed", "depth", "acceptance"):
        table.add_column(header, no_wrap=True, justify="right")
    for header in ("open", "at risk", "breached", "median min", "p90 min"):
        table.add_column(header, no_wrap=True, justify="right")

    def add(row: Attainment, label: str, style: str | None = None) -> None:
        table.add_row(
            label,
            _ratio(row.speed),
            _ratio(row.depth),
            _ratio(row.acceptance),
            str(row.running),
            str(figures.at_risk.get(row.scope_id, 0)),
            str(breached(row)),
            _number(row.median_first_touch_minutes),
            _number(row.p90_first_touch_minutes),
            style=style,
        )

    add(figures.total, f"agreement {policy.id}", style="bold")
    for team in sorted(figures.teams, key=lambda r: r.scope_id):
        add(team, f"team {team.scope_id}", style="bold")
        for rep in _reps_of(figures.reps, team.scope_id, owners):
            add(rep, f"  {owner_label(owners, rep.scope_id)}")
    console.print(table)
    console.print(
        "speed, depth, acceptance: met/decided (breached = decided - met); open: cycles still "
        "running; at risk: leads past the warning point now; minutes: business minutes to first "
        "touch",
        style="dim",
        highlight=False,
    )


def _reps_of(
    reps: Sequence[Attainment], team: str, owners: Mapping[str, Owner]
) -> list[Attainment]:
    mine = [r for r in reps if (owner := owners.get(r.scope_id)) and owner.team == team]
    return sorted(mine, key=lambda r: owner_label(owners, r.scope_id))


def _contacts(console: Console, contacts: Sequence[ContactReadBack]) -> None:
    console.rule("what reps see on contacts: the SLA properties read back through the HubSpot API")
    if not contacts:
        console.print("no contact carries SLA properties", highlight=False)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("contact", no_wrap=True)
    for _, header in _CONTACT_FIELDS:
        table.add_column(header, no_wrap=True)
    table.add_column("= store", no_wrap=True)
    for contact in contacts:
        cells = [_value(contact.crm.get(name)) for name, _ in _CONTACT_FIELDS]
        made = contact.crm.get(SlaField.ATTEMPTS_MADE)
        required = contact.crm.get(SlaField.ATTEMPTS_REQUIRED)
        if made is not None and required is not None:
            cells[4] = f"{made}/{required}"
        check = "[green]yes[/]" if contact.matches else "[red]NO[/]"
        table.add_row(contact.lead_id, *cells, check)
    console.print(table)
    console.print(
        "instants in UTC as HubSpot holds them; '= store': the CRM holds every value the store "
        "recorded as confirmed",
        style="dim",
        highlight=False,
    )


def _summary(console: Console, result: DemoResult) -> None:
    """What ``sla-sync sync`` prints for the cycle, plus values written and the time taken."""
    console.rule("run summary (as `sla-sync sync` prints it)")
    render_cycle(console, result.report)
    values = sum(len(update.values) for update in result.report.changes)
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
    console.print(f"property values written: {values}; time: {timings}", highlight=False)


def _next_steps(console: Console, result: DemoResult) -> None:
    setup = result.setup
    config, database = setup.config_path, setup.database_url.removeprefix("sqlite:///")
    token = result.hubspot_token
    console.rule("look further")
    console.print(
        f"the store:       {database}\n"
        "                 (SQLite: runs, cycles, attainment, goals, confirmed values)\n"
        "browse the CRM:  sla-sync demo --keep-running   (keeps this sandbox up, prints its URL "
        "and token)\n"
        f"sync by hand:    sla-sync sandbox serve --seed {setup.options.leads}   (a sandbox on "
        f":8081, where {config} points)\n"
        f"                 export {result.token_env}={token}\n"
        "                 sla-sync db upgrade --data-dir .sla-sync-sandbox\n"
        f"                 sla-sync crm init --config {config}\n"
        f"                 sla-sync sync --config {config} --data-dir .sla-sync-sandbox "
        "[--full] [--dry-run]\n"
        f"try the rules:   sla-sync sla explain --config {config} "
        "--scenario config/scenarios/example.json\n"
        f"                 sla-sync config check {config}",
        highlight=False,
    )


# --------------------------------------------------------------------------- formatting


def _local(result: DemoResult) -> str:
    return result.now.astimezone(ZoneInfo(_ZONE)).strftime(f"%a %Y-%m-%d %H:%M {_ZONE}")


def _value(value: str | None) -> str:
    """A property value for the table: ISO instants shortened to the minute."""
    if value is None or value == "":
        return "-"
    if len(value) >= 16 and value[4] == "-" and value[10] == "T":
        return value[:16].replace("T", " ") + "Z"
    return value
