"""Render agreement evaluations as text tables (rich) or JSON.

Text shows instants in the agreement's reporting time zone (what the team heads read); JSON gives
every instant as UTC ISO-8601 with ``Z`` and every duration in seconds, for tooling.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from sla_sync.domain import Attainment, CycleState, GoalVersion, LeadCycle, Ratio
from sla_sync.explain.scenario import Scenario
from sla_sync.sla.attainment import MarketingStatus
from sla_sync.sla.evaluate import AgreementEvaluation
from sla_sync.sla.policy import Consequence

# Wide enough for the cycle table with its notes; the text goes to a terminal or a file.
_WIDTH = 200

_STATE_STYLE = {
    CycleState.MET: "green",
    CycleState.BREACHED: "red",
    CycleState.RUNNING: "yellow",
    CycleState.PAUSED: "cyan",
    CycleState.CANCELLED: "dim",
}


def utc_iso(value: datetime | None) -> str | None:
    """``2026-11-20T18:00:00Z`` (seconds precision), or ``None``."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "-"
    return value.astimezone(zone).strftime("%a %m-%d %H:%M")


def _hours_minutes(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes = seconds // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


def _ratio(ratio: Ratio) -> str:
    if ratio.pct is None:
        return "-"
    return f"{ratio.met}/{ratio.decided} {ratio.pct:.1f} %"


def _number(value: float | Decimal | None, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):,.{digits}f}"


# --------------------------------------------------------------------------- text


def render_text(scenario: Scenario, evaluations: Sequence[AgreementEvaluation]) -> str:
    """Human-readable report: per agreement, the lead cycles, attainment and marketing status."""
    buffer = StringIO()
    console = Console(file=buffer, width=_WIDTH, force_terminal=False, color_system=None)
    for index, evaluation in enumerate(evaluations):
        if index:
            console.print()
        _agreement_text(console, scenario, evaluation)
    return buffer.getvalue().rstrip("\n")


def _agreement_text(console: Console, scenario: Scenario, evaluation: AgreementEvaluation) -> None:
    policy = evaluation.agreement
    zone = ZoneInfo(policy.timezone)
    console.rule(f"agreement {policy.id}: {policy.provider} -> {policy.recipient}")
    console.print(
        f"period {evaluation.period.label} ({policy.timezone}), as of "
        f"{evaluation.as_of.astimezone(zone):%a %Y-%m-%d %H:%M} {zone.key} = "
        f"{utc_iso(evaluation.as_of)}; "
        f"{len(evaluation.lead_ids)} of {len(scenario.histories)} leads in scope"
    )
    if evaluation.cycles:
        console.print(_cycles_table(evaluation.cycles, zone, scenario))
    elif policy.sales is not None:
        console.print("no sales cycle started yet")
    console.print(_attainment_table(evaluation))
    if evaluation.goal is not None:
        console.print(_goal_text(evaluation))
    console.print(_consequences_text(evaluation.consequences))


def _cycles_table(cycles: Sequence[LeadCycle], zone: ZoneInfo, scenario: Scenario) -> Table:
    table = Table(
        title=f"lead cycles (times in {zone.key}; business time h:mm)", title_justify="left"
    )
    for header in (
        "lead",
        "kind",
        "#",
        "tier",
        "owner",
        "start",
        "deadline",
        "first touch / stop",
        "business",
        "target",
        "attempts",
        "state",
        "note",
    ):
        if header == "note":
            table.add_column(header, min_width=24, overflow="fold")
        else:
            table.add_column(header, no_wrap=True)
    for cycle in sorted(cycles, key=lambda c: (c.lead_id, c.kind.value, c.number)):
        owner = scenario.owners.get(cycle.owner_id) if cycle.owner_id else None
        stop = cycle.first_touch_at or cycle.stopped_at
        attempts = (
            f"{cycle.attempts}/{cycle.attempts_required}"
            if cycle.attempts_required is not None
            else "-"
        )
        table.add_row(
            cycle.lead_id,
            cycle.kind.value,
            str(cycle.number),
            cycle.tier or "-",
            owner.name if owner else (cycle.owner_id or "-"),
            _local(cycle.started_at, zone),
            _local(cycle.deadline_at, zone),
            _local(stop, zone),
            _hours_minutes(cycle.business_seconds),
            _hours_minutes(cycle.target_seconds),
            attempts,
            f"[{_STATE_STYLE[cycle.state]}]{cycle.state.value}[/]",
            _cycle_note(cycle, zone),
        )
    return table


def _cycle_note(cycle: LeadCycle, zone: ZoneInfo) -> str:
    notes = []
    if cycle.cancel_reason and cycle.state is CycleState.CANCELLED:
        notes.append(f"cancelled: {cycle.cancel_reason}")
    elif cycle.cancel_reason:
        notes.append(f"clock stopped: {cycle.cancel_reason}")
    if cycle.state is CycleState.BREACHED and cycle.breached_at is not None:
        late = cycle.late_by
        suffix = f", stopped {_hours_minutes(int(late.total_seconds()))} late" if late else ""
        notes.append(f"breached at {_local(cycle.breached_at, zone)}{suffix}")
    if cycle.escalated_at is not None:
        notes.append(f"escalated {_local(cycle.escalated_at, zone)}")
    if cycle.warning_at is not None and cycle.state is not CycleState.MET:
        notes.append(f"warned {_local(cycle.warning_at, zone)}")
    if cycle.paused_seconds:
        notes.append(f"paused {_hours_minutes(cycle.paused_seconds)}")
    return "; ".join(notes)


def _attainment_table(evaluation: AgreementEvaluation) -> Table:
    table = Table(
        title=f"sales attainment {evaluation.period.label} (cycles started in the period)",
        title_justify="left",
    )
    for header in ("scope", "id", "speed", "depth", "acceptance", "open", "median min", "p90 min"):
        table.add_column(header, no_wrap=True)
    for row in evaluation.attainment:
        table.add_row(
            row.scope.value,
            row.scope_id,
            _ratio(row.speed),
            _ratio(row.depth),
            _ratio(row.acceptance),
            str(row.running),
            _number(row.median_first_touch_minutes),
            _number(row.p90_first_touch_minutes),
        )
    return table


def _goal_text(evaluation: AgreementEvaluation) -> str:
    decision = evaluation.goal
    assert decision is not None  # only called with a goal decision
    if decision.version is None:
        return f"marketing {evaluation.period.label}: no goal ({decision.error})"
    version = decision.version
    status = evaluation.marketing
    headline = (
        f"marketing {evaluation.period.label}: goal {version.leads_goal} MQLs "
        f"(version {version.version}: {_inputs_text(version)})"
    )
    lines = [headline]
    if decision.error:
        lines.append(f"  goal inputs failed, previous goal kept: {decision.error}")
    if status is not None:
        lines.append("  " + _status_text(status))
    return "\n".join(lines)


def _inputs_text(version: GoalVersion) -> str:
    inputs = version.inputs
    parts = [
        f"R=${inputs.revenue_goal.value:,}",
        f"ASP=${inputs.average_deal_size.value:,}",
        f"r={inputs.lead_to_customer_rate.value}",
    ]
    if inputs.marketing_share is not None:
        parts.insert(1, f"m={inputs.marketing_share.value}")
    if inputs.self_sourced_leads is not None:
        parts.append(f"W={inputs.self_sourced_leads.value}")
    if version.proration != 1:
        parts.append(f"prorated x{float(version.proration):.3f}")
    if version.carried_over:
        parts.append(f"+{version.carried_over} carried over")
    return ", ".join(parts)


def _status_text(status: MarketingStatus) -> str:
    attainment = "-" if status.attainment is None else f"{100 * status.attainment:.1f} %"
    value = ""
    if status.delivered_value is not None:
        value = f" (value ${status.delivered_value:,.0f} of ${status.value_goal:,.0f})"
    return (
        f"delivered {status.delivered}{value}; expected to date "
        f"{_number(status.expected_to_date)} ({status.measure}); pace index "
        f"{_number(status.pace_index, 2)}; attainment {attainment}; gap {_number(status.gap)}"
    )


def _consequences_text(consequences: Sequence[Consequence]) -> str:
    if not consequences:
        return "consequences if the period closed now: none"
    lines = ["consequences if the period closed now:"]
    lines.extend(f"  {describe_consequence(rule)}" for rule in consequences)
    return "\n".join(lines)


def describe_consequence(rule: Consequence) -> str:
    """``speed < 90 %: notify sales_head, marketing_head``."""
    actions = []
    for action in rule.actions:
        if action.share is not None:
            actions.append(f"{action.kind.value} {100 * action.share:.0f} %")
        else:
            actions.append(f"{action.kind.value} {', '.join(action.targets)}".rstrip())
    return f"{rule.metric.value} < {100 * rule.below:.0f} %: {'; '.join(actions)}"


# --------------------------------------------------------------------------- JSON


def render_json(scenario: Scenario, evaluations: Sequence[AgreementEvaluation]) -> str:
    """The evaluations as a JSON document (UTC instants with ``Z``, durations in seconds)."""
    document = {
        "as_of": utc_iso(evaluations[0].as_of) if evaluations else utc_iso(scenario.as_of),
        "agreements": [_agreement_json(evaluation) for evaluation in evaluations],
    }
    return json.dumps(document, indent=2, default=_json_default)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _agreement_json(evaluation: AgreementEvaluation) -> dict[str, Any]:
    policy = evaluation.agreement
    return {
        "id": policy.id,
        "provider": policy.provider,
        "recipient": policy.recipient,
        "period": evaluation.period.label,
        "timezone": policy.timezone,
        "leads": list(evaluation.lead_ids),
        "cycles": [cycle_json(cycle) for cycle in evaluation.cycles],
        "attainment": [_attainment_json(row) for row in evaluation.attainment],
        "marketing": _marketing_json(evaluation),
        "consequences": [describe_consequence(rule) for rule in evaluation.consequences],
    }


def cycle_json(cycle: LeadCycle) -> dict[str, Any]:
    """One cycle as a JSON-ready mapping."""
    return {
        "lead": cycle.lead_id,
        "kind": cycle.kind.value,
        "number": cycle.number,
        "state": cycle.state.value,
        "tier": cycle.tier,
        "owner": cycle.owner_id,
        "team": cycle.team,
        "started_at": utc_iso(cycle.started_at),
        "deadline_at": utc_iso(cycle.deadline_at),
        "warning_at": utc_iso(cycle.warning_at),
        "first_touch_at": utc_iso(cycle.first_touch_at),
        "stopped_at": utc_iso(cycle.stopped_at),
        "breached_at": utc_iso(cycle.breached_at),
        "escalated_at": utc_iso(cycle.escalated_at),
        "next_check_at": utc_iso(cycle.next_check_at),
        "target_seconds": cycle.target_seconds,
        "business_seconds": cycle.business_seconds,
        "paused_seconds": cycle.paused_seconds,
        "late_seconds": None if cycle.late_by is None else int(cycle.late_by.total_seconds()),
        "attempts": cycle.attempts,
        "attempts_required": cycle.attempts_required,
        "cancel_reason": cycle.cancel_reason,
    }


def _ratio_json(ratio: Ratio) -> dict[str, Any]:
    return {"met": ratio.met, "decided": ratio.decided, "pct": ratio.pct}


def _attainment_json(row: Attainment) -> dict[str, Any]:
    return {
        "scope": row.scope.value,
        "id": row.scope_id,
        "speed": _ratio_json(row.speed),
        "depth": _ratio_json(row.depth),
        "acceptance": _ratio_json(row.acceptance),
        "open": row.running,
        "median_first_touch_minutes": row.median_first_touch_minutes,
        "p90_first_touch_minutes": row.p90_first_touch_minutes,
    }


def _marketing_json(evaluation: AgreementEvaluation) -> dict[str, Any] | None:
    decision = evaluation.goal
    if decision is None:
        return None
    status = evaluation.marketing
    version = decision.version
    return {
        "goal_outcome": decision.outcome.value,
        "goal_error": decision.error,
        "goal_version": version.version if version else None,
        "leads_goal": version.leads_goal if version else None,
        "value_goal": version.value_goal if version else None,
        "delivered": status.delivered if status else None,
        "delivered_value": status.delivered_value if status else None,
        "expected_to_date": status.expected_to_date if status else None,
        "pace_index": status.pace_index if status else None,
        "attainment": status.attainment if status else None,
        "gap": status.gap if status else None,
    }
