"""A report as Markdown and as HTML, from one description of its content.

:func:`report_sections` says what the report shows (headings, lines, tables of plain text);
the two renderers only differ in syntax, so both forms always hold the same figures. Every
text is escaped by the renderer: owner names, lead ids and team names come from the CRM and may
hold anything (``<script>``, ``|``). Figures are formatted with :mod:`sla_sync.explain.render`'s
helpers, so a ratio reads the same here, in ``sla explain`` and in the demo.

The HTML file is self-contained: the pacing chart is embedded as a base64 ``data:`` PNG (the same
PNG is saved next to it).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sla_sync.domain import Attainment
from sla_sync.explain.render import _number, _ratio
from sla_sync.pipeline.figures import breached
from sla_sync.pipeline.reports import WeeklyReport, owner_name, team_rows
from sla_sync.sla.periods import zone


@dataclass(slots=True)
class Table:
    """Plain-text cells; the first column is a label, the others figures (right-aligned) unless
    ``numeric`` is false."""

    headers: tuple[str, ...]
    numeric: bool = True  # columns after the first hold figures
    rows: list[tuple[str, ...]] = field(default_factory=list)
    bold: set[int] = field(default_factory=set)  # indexes of rows shown in bold


@dataclass(slots=True)
class Section:
    """A heading, lines of text, then tables."""

    heading: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


# --------------------------------------------------------------------------- content


def report_sections(report: WeeklyReport) -> list[Section]:
    """What the report shows, in order."""
    return [
        _overview(report),
        _marketing(report),
        _sales(report),
        _at_risk(report),
        _misses(report),
    ]


def _local(report: WeeklyReport, instant: datetime | None) -> str:
    if instant is None:
        return "-"
    return instant.astimezone(zone(report.policy.timezone)).strftime("%a %Y-%m-%d %H:%M")


def _overview(report: WeeklyReport) -> Section:
    policy, last = report.policy, report.window_end - timedelta(days=1)
    window = f"{report.window_start:%a %Y-%m-%d} to {last:%a %Y-%m-%d}"
    state = "closed (frozen figures)" if report.figures.closed else "open (live figures)"
    lines = [
        f"Agreement {policy.id}: {policy.provider} -> {policy.recipient}.",
        (
            f"Window {report.label}: {window} ({policy.timezone}); reporting period "
            f"{report.period.label}, {state}."
        ),
        f"Figures as of {_local(report, report.as_of)} ({policy.timezone}).",
    ]
    total = report.figures.total
    if total is not None and total.consequences:
        lines.append(
            "Consequences if the period closed now: " + "; ".join(total.consequences) + "."
        )
    elif total is not None:
        lines.append("Consequences if the period closed now: none.")
    return Section(heading=report.title, lines=lines)


def _marketing(report: WeeklyReport) -> Section:
    section = Section(heading="Marketing")
    marketing = report.marketing
    if marketing is None:
        section.lines.append("No marketing goal for this period.")
        return section
    status, goal = marketing.status, marketing.goal
    window = "this week" if report.is_week else f"in {report.period.label}"
    goal_name = "weekly goal (its business days' share)" if report.is_week else "goal"
    table = Table(headers=("figure", "value"))
    table.rows += [
        (f"MQLs delivered {window}", str(marketing.window_delivered)),
        (goal_name, _number(marketing.window_goal)),
        (f"MQLs delivered in {report.period.label} to date", str(status.delivered)),
        ("expected to date (ideal line, business days)", _number(status.expected_leads)),
        (f"goal {report.period.label} (version {goal.version})", str(goal.leads_goal)),
        (f"pace index ({status.measure})", _number(status.pace_index, 2)),
        (
            "attainment of the goal",
            "-" if status.attainment is None else f"{100 * status.attainment:.1f} %",
        ),
    ]
    if status.delivered_value is not None:
        table.rows.append(
            ("value delivered", f"${status.delivered_value:,.0f} of ${status.value_goal:,.0f}")
        )
    if status.required_per_remaining_day is not None:
        table.rows.append(
            (
                f"needed per remaining day ({status.measure})",
                _number(status.required_per_remaining_day),
            )
        )
    total = report.figures.total
    if total is not None:
        table.rows.append(
            ("acceptance rate (accepted in time / decided)", _ratio(total.acceptance))
        )
    if goal.carried_over:
        section.lines.append(
            f"The goal includes {_number(goal.carried_over)} MQLs carried over from the last "
            "period's shortfall."
        )
    section.tables.append(table)
    section.lines.append("Pacing chart: cumulative MQLs per day against the ideal line.")
    return section


def _sales_cells(report: WeeklyReport, row: Attainment) -> tuple[str, ...]:
    return (
        _ratio(row.speed),
        _ratio(row.depth),
        _ratio(row.acceptance),
        str(row.running),
        str(report.figures.at_risk.get(row.scope_id, 0)),
        str(breached(row)),
        _number(row.median_first_touch_minutes),
        _number(row.p90_first_touch_minutes),
    )


_SALES_HEADERS = (
    "scope",
    "speed",
    "depth",
    "acceptance",
    "open",
    "at risk",
    "breached",
    "median min",
    "p90 min",
)


def _sales(report: WeeklyReport) -> Section:
    section = Section(heading="Sales")
    total = report.figures.total
    if report.policy.sales is None or total is None:
        section.lines.append("No sales figures for this period.")
        return section
    section.lines.append(
        f"Cycles started in {report.period.label} to date (speed, depth, acceptance: met/decided; "
        "minutes: business minutes to first touch; at risk: past the warning point now)."
    )
    table = Table(headers=_SALES_HEADERS)
    table.bold.add(len(table.rows))
    table.rows.append((f"agreement {report.policy.id}", *_sales_cells(report, total)))
    if report.is_week and report.window_sales is not None:
        table.rows.append(
            (f"· started in {report.label}", *_sales_cells(report, report.window_sales))
        )
    for team, reps in team_rows(report):
        table.bold.add(len(table.rows))
        table.rows.append((f"team {team.scope_id}", *_sales_cells(report, team)))
        table.rows += [
            (f"· {owner_name(report, rep.scope_id)}", *_sales_cells(report, rep)) for rep in reps
        ]
    section.tables.append(table)
    return section


def _at_risk(report: WeeklyReport) -> Section:
    section = Section(heading=f"Leads at risk now ({report.at_risk_total})")
    if not report.at_risk:
        section.lines.append("No lead is past its warning point.")
        return section
    table = Table(headers=("lead", "owner", "team", "clock", "deadline"), numeric=False)
    table.rows += [
        (
            lead.lead_id,
            lead.owner,
            lead.team or "-",
            lead.kind.value,
            _local(report, lead.deadline_at),
        )
        for lead in report.at_risk
    ]
    section.tables.append(table)
    if report.at_risk_total > len(report.at_risk):
        section.lines.append(
            f"Showing {len(report.at_risk)} of {report.at_risk_total}, soonest first."
        )
    return section


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    return f"{days} d {rest // 60}:{rest % 60:02d}" if days else f"{rest // 60}:{rest % 60:02d}"


def _misses(report: WeeklyReport) -> Section:
    where = "this week" if report.is_week else f"in {report.period.label}"
    section = Section(heading=f"Worst misses {where} ({report.misses_total} breached)")
    if not report.misses:
        section.lines.append("No breached cycle.")
        return section
    table = Table(headers=("lead", "owner", "team", "clock", "deadline", "late by"), numeric=False)
    table.rows += [
        (
            miss.lead_id,
            miss.owner,
            miss.team or "-",
            miss.kind.value,
            _local(report, miss.deadline_at),
            _duration(miss.late_by) + (" (still open)" if miss.open else ""),
        )
        for miss in report.misses
    ]
    section.tables.append(table)
    section.lines.append(
        "Late by: wall-clock time from the deadline to the touch or decision (still open: to "
        "the report's instant)."
    )
    return section


# --------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#~])")


def md_escape(text: str) -> str:
    """Plain text for a Markdown line or table cell: HTML-escaped (Markdown passes raw HTML
    through), Markdown punctuation backslash-escaped, line breaks folded."""
    flat = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def render_markdown(report: WeeklyReport) -> str:
    """The report as GitHub-flavoured Markdown (the chart is a separate attachment)."""
    out: list[str] = []
    for index, section in enumerate(report_sections(report)):
        out.append(("# " if index == 0 else "## ") + md_escape(section.heading))
        out.append("")
        for line in section.lines:
            out += [md_escape(line), ""]
        for table in section.tables:
            out.append("| " + " | ".join(md_escape(h) for h in table.headers) + " |")
            align = "---:" if table.numeric else "---"
            out.append("|" + "|".join(["---"] + [align] * (len(table.headers) - 1)) + "|")
            for number, row in enumerate(table.rows):
                cells = [md_escape(cell) for cell in row]
                if number in table.bold:
                    cells[0] = f"**{cells[0]}**"
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- HTML

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em;
       color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #e3e3e3; white-space: nowrap; }
th { text-align: left; background: #f5f5f5; }
td.n, th.n { text-align: right; }
tr.b td { font-weight: bold; }
img { max-width: 100%; }
"""


def _align(table: Table, column: int) -> str:
    return ' class="n"' if table.numeric and column > 0 else ""


def render_html(report: WeeklyReport, png: bytes) -> str:
    """The report as one self-contained HTML page, ``png`` embedded as a data URI."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
    ]
    image = base64.b64encode(png).decode("ascii")
    for index, section in enumerate(report_sections(report)):
        tag = "h1" if index == 0 else "h2"
        parts.append(f"<{tag}>{esc(section.heading)}</{tag}>")
        parts += [f"<p>{esc(line)}</p>" for line in section.lines]
        for table in section.tables:
            parts.append("<table><thead><tr>")
            parts += [f"<th{_align(table, i)}>{esc(h)}</th>" for i, h in enumerate(table.headers)]
            parts.append("</tr></thead><tbody>")
            for number, row in enumerate(table.rows):
                parts.append('<tr class="b">' if number in table.bold else "<tr>")
                parts += [f"<td{_align(table, i)}>{esc(cell)}</td>" for i, cell in enumerate(row)]
                parts.append("</tr>")
            parts.append("</tbody></table>")
        if section.heading == "Marketing" and report.marketing is not None:
            parts.append(
                f'<img alt="pacing chart of {esc(report.policy.id)} {esc(report.period.label)}" '
                f'width="1000" height="500" src="data:image/png;base64,{image}">'
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
