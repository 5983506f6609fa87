"""The weekly status report of an agreement: what it holds, where it lands, how it is sent.

A report covers a *window*: one ISO week (the weekly report) or one whole reporting period
(``sla-sync report --period``), in the agreement's reporting time zone. A week is reported inside
the period that holds its Thursday (the rule that puts an ISO week in a year); its days outside
that period belong to the other period's figures and are left out of the window.

Every number comes from the store or from the engine's own functions applied to stored data, the
same ones the evaluate step uses, so the report, ``sla explain`` and the demo never disagree:

* sales per agreement, team and rep: the stored period attainment
  (:func:`sla_sync.pipeline.figures.agreement_figures`; a closed period's frozen snapshot), and
  the week's own figures by :func:`~sla_sync.sla.attainment.aggregate_sales` over the stored
  cycles started in the window;
* marketing: :func:`~sla_sync.sla.attainment.marketing_status` over the stored MQL entries and
  the period's stored goal version as of the window's end (or now, inside it); the daily
  cumulative line by :func:`~sla_sync.sla.volume.delivered`, the ideal line by
  :func:`~sla_sync.sla.pacing.expected_to_date`, the week's goal by
  :func:`~sla_sync.sla.pacing.weekly_goals`;
* leads at risk now: the status the push step writes (at risk = open cycle past its warning);
* worst misses: breached cycles started in the window, longest ``late_by`` first (a breached
  cycle nobody touched yet counts its time since the deadline).

Files: ``<data_dir>/reports/<agreement>/<label>.md``, ``.html`` (self-contained: the chart is
embedded as a base64 ``data:`` image) and ``.png`` (the pacing chart alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sla_sync.connectors.base import SlaStatus
from sla_sync.domain import (
    Attainment,
    CycleKind,
    CycleState,
    GoalVersion,
    LeadCycle,
    Owner,
)
from sla_sync.pipeline.figures import (
    AgreementFigures,
    agreement_connection_ids,
    agreement_figures,
    agreement_owners,
)
from sla_sync.sla.attainment import MarketingStatus, aggregate_sales, marketing_status
from sla_sync.sla.pacing import expected_to_date, weekly_goals
from sla_sync.sla.periods import Period, local_midnight, zone
from sla_sync.sla.policy import AgreementPolicy, PeriodKind
from sla_sync.sla.volume import MqlDelivery, delivered
from sla_sync.store import repositories as repo

if TYPE_CHECKING:
    from sla_sync.definitions import SlaSyncConfig

#: Rows shown in the "at risk now" and "worst misses" tables (the counts are always complete).
LIST_LIMIT = 15
_JUST_BEFORE = timedelta(microseconds=1)
_OPEN_STATES = (CycleState.RUNNING, CycleState.PAUSED)
_FAR = datetime.max.replace(tzinfo=UTC)  # sorts a cycle without a deadline last


class Sender(Protocol):
    """What the report and the close need of a notifier
    (:class:`sla_sync.pipeline.notify.Notifier`)."""

    def send(
        self,
        recipients: Sequence[str],
        title: str,
        body: str,
        *,
        attachments: Sequence[Path | str] = (),
    ) -> bool: ...


class ReportError(ValueError):
    """The report cannot be made: unknown agreement, or a label that is not a week or period."""


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True, kw_only=True)
class DayPoint:
    """One local day of the period: cumulative MQLs delivered by its end (``None`` for days after
    the report's instant) and the ideal line once the day is over."""

    day: date
    delivered: int | None
    ideal: Decimal
    business_day: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketingSection:
    """Marketing's delivery in the window and period-to-date."""

    goal: GoalVersion
    status: MarketingStatus  # the engine's status of the period at the report's instant
    window_delivered: int  # MQLs first delivered in the window
    window_goal: Decimal  # the weekly goal (the period goal for a period report)
    days: tuple[DayPoint, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AtRiskLead:
    """An open cycle past its warning point, as of the last cycle."""

    lead_id: str
    owner: str
    team: str | None
    kind: CycleKind
    deadline_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Miss:
    """A breached cycle started in the window; ``late_by`` is how long after its deadline it was
    stopped, or (``open``) how long it has been overdue at the report's instant."""

    lead_id: str
    owner: str
    team: str | None
    kind: CycleKind
    deadline_at: datetime
    late_by: timedelta
    open: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeklyReport:
    """Everything one report shows. ``label`` names the window (``2026-W47`` or ``2026-11``)."""

    policy: AgreementPolicy
    label: str
    window: Period
    period: Period
    as_of: datetime
    figures: AgreementFigures
    window_sales: Attainment | None
    owners: Mapping[str, Owner]
    marketing: MarketingSection | None
    at_risk: tuple[AtRiskLead, ...]
    at_risk_total: int
    misses: tuple[Miss, ...]
    misses_total: int

    @property
    def is_week(self) -> bool:
        """Whether the window is one week of a longer period."""
        return self.window.kind is PeriodKind.WEEK and self.period.kind is not PeriodKind.WEEK

    @property
    def window_start(self) -> date:
        """First local day of the window inside the period."""
        return max(self.window.start, self.period.start)

    @property
    def window_end(self) -> date:
        """Local day after the window inside the period (exclusive)."""
        return min(self.window.end, self.period.end)

    @property
    def title(self) -> str:
        """``SLA report na 2026-W47 (2026-11)``."""
        kind = "weekly report" if self.is_week else "report"
        scope = f" ({self.period.label})" if self.is_week else ""
        return f"SLA {kind}: {self.policy.id} {self.label}{scope}"


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where a report was written."""

    markdown: Path
    html: Path
    png: Path


def resolve_window(
    policy: AgreementPolicy, *, week: str | None = None, period: str | None = None
) -> tuple[Period, Period]:
    """``(window, period)`` for a week label (``2026-W47``) or a period label (``2026-11``).

    Raises:
        ReportError: both or neither given, a malformed label, or a period label of another kind
            than the agreement's reporting period.
    """
    if (week is None) == (period is None):
        raise ReportError("give either a week (2026-W47) or a period (2026-11)")
    try:
        if week is not None:
            window = Period.parse(week, policy.timezone)
            if window.kind is not PeriodKind.WEEK:
                raise ReportError(f"{week!r} is not an ISO week like 2026-W47")
            thursday = window.start + timedelta(days=3)
            return window, Period.of(policy.period, thursday, policy.timezone)
        assert period is not None
        whole = Period.parse(period, policy.timezone)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if whole.kind is not policy.period:
        raise ReportError(
            f"{policy.id} reports by {policy.period.value}: {period!r} is a {whole.kind.value}"
        )
    return whole, whole


def previous_week(policy: AgreementPolicy, now: datetime) -> str:
    """The label of the ISO week that ended last, as of ``now`` in the agreement's zone."""
    return Period.containing(now, PeriodKind.WEEK, policy.timezone).previous().label


def build_report(
    engine: Engine,
    policy: AgreementPolicy,
    *,
    now: datetime,
    week: str | None = None,
    period: str | None = None,
) -> WeeklyReport:
    """Read the report of ``policy`` for a week or a period from the store, as of ``now``.

    The report's instant is the window's end, or ``now`` while the window is still running.

    Raises:
        ReportError: see :func:`resolve_window`; a window that has not started at ``now``.
    """
    window, whole = resolve_window(policy, week=week, period=period)
    start = local_midnight(max(window.start, whole.start), zone(policy.timezone))
    end = local_midnight(min(window.end, whole.end), zone(policy.timezone))
    if now < start:
        raise ReportError(f"{window.label} has not started yet")
    as_of = min(now, end)
    sessions = sessionmaker(engine)
    with sessions() as session:
        owners = agreement_owners(session, policy)
        figures = agreement_figures(
            session,
            agreement_connection_ids(session, policy),
            policy,
            as_of=as_of,
            period=whole,
            final=as_of >= whole.utc_end,
        )
        window_cycles = repo.load_cycles(
            session, agreement=policy.id, started_from=start, started_before=end
        )
        marketing = _marketing(session, policy, whole, window, figures.goal, as_of)
    window_sales = None
    if policy.sales is not None:
        window_sales = aggregate_sales(
            window_cycles, agreement=policy.id, period=whole, owners=owners
        )[0]
    at_risk = _at_risk(figures, owners)
    misses = _misses(window_cycles, owners, as_of)
    return WeeklyReport(
        policy=policy,
        label=window.label,
        window=window,
        period=whole,
        as_of=as_of,
        figures=figures,
        window_sales=window_sales,
        owners=owners,
        marketing=marketing,
        at_risk=tuple(at_risk[:LIST_LIMIT]),
        at_risk_total=len(at_risk),
        misses=tuple(misses[:LIST_LIMIT]),
        misses_total=len(misses),
    )


def _marketing(
    session: Session,
    policy: AgreementPolicy,
    whole: Period,
    window: Period,
    goal: GoalVersion | None,
    as_of: datetime,
) -> MarketingSection | None:
    volume = policy.volume
    if volume is None or goal is None:
        return None
    deliveries = [
        MqlDelivery(lead_id=lead, at=at, segment=segment)
        for lead, at, segment in repo.load_mqls(
            session, policy.id, start=whole.utc_start, end=whole.utc_end
        )
    ]
    status = marketing_status(deliveries, goal, whole, as_of, volume)
    tz = zone(policy.timezone)

    def count_by(instant: datetime) -> int:
        """MQLs of the period first delivered before ``instant``."""
        cutoff = min(instant - _JUST_BEFORE, as_of)
        return delivered(deliveries, whole, {}, None, as_of=cutoff).count

    start = local_midnight(max(window.start, whole.start), tz)
    window_delivered = status.delivered - count_by(start)
    if window.kind is PeriodKind.WEEK and whole.kind is not PeriodKind.WEEK:
        # The engine's weekly goals of the period (the last week takes the rounding remainder,
        # so the weeks of a period add up to its goal exactly).
        shares = weekly_goals(
            goal.leads_goal, whole, basis=volume.pacing, calendar=volume.pacing_calendar
        )
        window_goal = dict(shares)[window]
    else:
        window_goal = Decimal(goal.leads_goal)
    today = whole.local_date(as_of)
    days = []
    day = whole.start
    while day < whole.end:
        after = local_midnight(day + timedelta(days=1), tz)
        business = (
            volume.pacing_calendar.count_business_days(day, day + timedelta(days=1)) > 0
            if volume.pacing_calendar is not None
            else True
        )
        days.append(
            DayPoint(
                day=day,
                delivered=count_by(after) if day <= today else None,
                ideal=expected_to_date(
                    goal.leads_goal,
                    whole,
                    after,
                    volume.pacing,
                    volume.pacing_calendar,
                    effective_from=goal.effective_from,
                ),
                business_day=business,
            )
        )
        day += timedelta(days=1)
    return MarketingSection(
        goal=goal,
        status=status,
        window_delivered=window_delivered,
        window_goal=window_goal,
        days=tuple(days),
    )


def _owner_name(owners: Mapping[str, Owner], owner_id: str | None) -> str:
    if owner_id is None:
        return "(no owner)"
    owner = owners.get(owner_id)
    return owner.name if owner is not None and owner.name else owner_id


def _at_risk(figures: AgreementFigures, owners: Mapping[str, Owner]) -> list[AtRiskLead]:
    """Leads at risk, each with its warned open cycle whose deadline comes first."""
    found = []
    for item in figures.statuses:
        if item.status is not SlaStatus.AT_RISK:
            continue
        warned = [c for c in item.current or (item.cycle,) if c.warned and c.state in _OPEN_STATES]
        cycle = min(warned or [item.cycle], key=lambda c: c.deadline_at or _FAR)
        found.append(
            AtRiskLead(
                lead_id=item.lead_id,
                owner=_owner_name(owners, cycle.owner_id),
                team=cycle.team,
                kind=cycle.kind,
                deadline_at=cycle.deadline_at,
            )
        )
    found.sort(key=lambda lead: (lead.deadline_at or _FAR, lead.lead_id))
    return found


def _misses(
    cycles: Sequence[LeadCycle], owners: Mapping[str, Owner], as_of: datetime
) -> list[Miss]:
    found = []
    for cycle in cycles:
        if cycle.state is not CycleState.BREACHED or cycle.breached_at is None:
            continue
        late, still_open = cycle.late_by, False
        if late is None and cycle.stopped_at is None and cycle.kind is not CycleKind.DEPTH:
            late, still_open = as_of - cycle.breached_at, True
        if late is None or late < timedelta(0):
            continue
        found.append(
            Miss(
                lead_id=cycle.lead_id,
                owner=_owner_name(owners, cycle.owner_id),
                team=cycle.team,
                kind=cycle.kind,
                deadline_at=cycle.breached_at,
                late_by=late,
                open=still_open,
            )
        )
    found.sort(key=lambda miss: (-miss.late_by, miss.lead_id))
    return found


def reps_of_team(report: WeeklyReport, team: str) -> list[Attainment]:
    """The owner rows of ``team`` (by the owner's current team), by name."""
    mine = [
        row
        for row in report.figures.reps
        if (owner := report.owners.get(row.scope_id)) is not None and owner.team == team
    ]
    return sorted(mine, key=lambda row: _owner_name(report.owners, row.scope_id))


def team_rows(report: WeeklyReport) -> list[tuple[Attainment, list[Attainment]]]:
    """Each team row (by name) with its reps."""
    return [
        (team, reps_of_team(report, team.scope_id))
        for team in sorted(report.figures.teams, key=lambda row: row.scope_id)
    ]


def owner_name(report: WeeklyReport, owner_id: str) -> str:
    """A rep's display name (the CRM's, unescaped: renderers escape it)."""
    return _owner_name(report.owners, owner_id)


# --------------------------------------------------------------------------- files and sending


def report_dir(data_dir: Path, agreement: str) -> Path:
    """``<data_dir>/reports/<agreement>``."""
    return Path(data_dir) / "reports" / agreement


def write_report(report: WeeklyReport, folder: Path) -> ReportFiles:
    """Render ``report`` and write ``<folder>/<label>.{md,html,png}`` (replacing an earlier
    render); ``folder`` is usually :func:`report_dir`."""
    from sla_sync.pipeline.report_chart import pacing_chart_png
    from sla_sync.pipeline.report_render import render_html, render_markdown

    folder.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(
        markdown=folder / f"{report.label}.md",
        html=folder / f"{report.label}.html",
        png=folder / f"{report.label}.png",
    )
    png = pacing_chart_png(report)
    _replace(files.png, png)
    _replace(files.markdown, render_markdown(report).encode("utf-8"))
    _replace(files.html, render_html(report, png).encode("utf-8"))
    return files


def _replace(path: Path, data: bytes) -> None:
    """Write through a temporary file so a reader never sees half a report."""
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)


def send_report(
    report: WeeklyReport,
    files: ReportFiles,
    recipients: Sequence[str],
    notifier: Sender,
) -> bool:
    """Send the Markdown body with the PNG and the HTML attached; ``False`` when not sent."""
    if not recipients:
        return False
    body = files.markdown.read_text(encoding="utf-8")
    return notifier.send(recipients, report.title, body, attachments=[files.png, files.html])


def report_recipients(config: SlaSyncConfig, agreement_id: str) -> tuple[str, ...]:
    """The agreement's ``reporting.weekly_report.to``."""
    return tuple(config.agreement_spec(agreement_id).reporting.weekly_report.to)


@dataclass(frozen=True, slots=True)
class SentReport:
    """What :func:`send_weekly_report` did."""

    report: WeeklyReport
    files: ReportFiles
    sent: bool


def send_weekly_report(
    engine: Engine,
    config: SlaSyncConfig,
    agreement_id: str,
    *,
    now: datetime,
    data_dir: Path,
    notifier: Sender | None = None,
) -> SentReport:
    """Render the week that ended last (as of ``now`` in the agreement's zone), save it under
    ``data_dir``, and send it to ``reporting.weekly_report.to`` when a notifier is given.

    Raises:
        KeyError: no agreement ``agreement_id``.
    """
    policy = config.agreement_policy(agreement_id)
    report = build_report(engine, policy, now=now, week=previous_week(policy, now))
    files = write_report(report, report_dir(data_dir, agreement_id))
    sent = False
    if notifier is not None:
        sent = send_report(report, files, report_recipients(config, agreement_id), notifier)
    return SentReport(report=report, files=files, sent=sent)
