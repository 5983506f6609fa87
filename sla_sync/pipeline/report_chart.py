"""The pacing chart of a report: cumulative MQLs per day against the ideal line and the goal.

Drawn with matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``): no pyplot, so no
process-wide backend or figure registry is touched and a worker thread can draw safely.
1000 x 500 pixels.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sla_sync.pipeline.reports import WeeklyReport
from sla_sync.sla.periods import zone

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 5.0, 100


def pacing_chart_png(report: WeeklyReport) -> bytes:
    """The chart as PNG bytes. Without a marketing goal it says so instead of plotting."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    marketing = report.marketing
    period = report.period
    if marketing is None:
        axes.set_axis_off()
        axes.text(
            0.5,
            0.5,
            f"{report.policy.id} {period.label}: no marketing goal to pace",
            ha="center",
            va="center",
            fontsize=14,
        )
        return _png(figure)
    days = marketing.days
    xs = list(range(1, len(days) + 1))
    ideal = [float(point.ideal) for point in days]
    done = [(x, point.delivered) for x, point in zip(xs, days, strict=True)]
    shown = [(x, count) for x, count in done if count is not None]
    goal = marketing.goal.leads_goal
    for x, point in zip(xs, days, strict=True):
        if not point.business_day:
            axes.axvspan(x - 0.5, x + 0.5, color="#eeeeee", linewidth=0)
    axes.plot(xs, ideal, color="#888888", linestyle="--", label="ideal line (business days)")
    if shown:
        axes.step(
            [x for x, _ in shown],
            [count for _, count in shown],
            where="mid",
            color="#1f77b4",
            linewidth=2,
            label="delivered (cumulative)",
        )
        axes.plot([shown[-1][0]], [shown[-1][1]], "o", color="#1f77b4")
    axes.axhline(goal, color="#d62728", linewidth=1.2, label=f"goal {goal}")
    for x, point in zip(xs, days, strict=True):
        if point.day.weekday() == 0 and x > 1:  # ISO weeks start on Monday
            axes.axvline(x - 0.5, color="#bbbbbb", linewidth=0.8)
            week = point.day.isocalendar()
            axes.text(x - 0.4, goal * 1.02, f"W{week.week:02d}", fontsize=8, color="#666666")
    start = report.window_start
    end = report.window_end
    if report.is_week:
        left = (start - period.start).days + 0.5
        right = (end - period.start).days + 0.5
        axes.axvspan(left, right, color="#fff3c4", alpha=0.6, linewidth=0, label=report.label)
    axes.set_xlim(0.5, len(days) + 0.5)
    axes.set_ylim(0, max([goal, *(count for _, count in shown)]) * 1.12 + 1)
    ticks = [x for x, point in zip(xs, days, strict=True) if point.day.day in (1, 8, 15, 22, 29)]
    axes.set_xticks(ticks, [days[x - 1].day.strftime("%b %d") for x in ticks])
    axes.set_ylabel("MQLs")
    local = report.as_of.astimezone(zone(report.policy.timezone))
    axes.set_title(
        f"{report.policy.id}: MQLs delivered in {period.label} vs the ideal line "
        f"(as of {local:%Y-%m-%d %H:%M %Z})"
    )
    axes.legend(loc="lower right", fontsize=9)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    return _png(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
