"""The period close: freeze a finished period, publish the next goal, act on its consequences.

For one agreement and the reporting period that ended last (as of ``now`` in the agreement's
reporting time zone), in one transaction:

1. recompute the period's attainment one last time from the stored cycles and MQL entries (the
   evaluate step's own computation, as of ``now``: the ideal line is the whole goal);
2. freeze it: every scope's figures become the closed snapshot (late data later moves the live
   figures only; both numbers are kept) and the period's goal version is frozen;
3. take the consequences that fire on the frozen figures (the engine's
   :func:`~sla_sync.sla.attainment.triggered_consequences`: per metric the most severe rule);
4. publish the next period's goal version (the engine's
   :func:`~sla_sync.sla.volume.publish_goal_version`), with marketing's shortfall carried in
   when a marketing consequence says ``carry_shortfall``
   (:func:`~sla_sync.sla.attainment.carry_over_from`).
   If the worker already published that period's goal (a sync ran after midnight, before the
   close) without the carry-over, a new version with the same numbers plus the carry-over
   replaces it.

Then each ``notify:``/``escalate:`` action of a fired consequence is sent to its recipients and
recorded (``record_period_alert``) once it went out; one that was recorded is never sent again
and one that failed (or had no notifier) is sent by the next close run.

Idempotent: a period already closed is not recomputed; its next goal already carries what it
should; notified consequences are recorded. A second run changes nothing and sends nothing.
``dry_run`` does all of it in a transaction that is rolled back, and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sla_sync.domain import Attainment, GoalVersion, ScopeKind
from sla_sync.explain.render import describe_consequence
from sla_sync.pipeline.evaluate import _recompute_attainment
from sla_sync.pipeline.figures import agreement_connection_ids
from sla_sync.pipeline.reports import Sender
from sla_sync.sla.attainment import attainment_figures, carry_over_from, triggered_consequences
from sla_sync.sla.pacing import ZERO
from sla_sync.sla.periods import Period
from sla_sync.sla.policy import ActionKind, AgreementPolicy, Consequence, Metric
from sla_sync.sla.volume import GoalOutcome, publish_goal_version
from sla_sync.store import repositories as repo
from sla_sync.store.records import AlertKind

if TYPE_CHECKING:
    from sla_sync.definitions import SlaSyncConfig


class CloseError(ValueError):
    """The period cannot be closed (it has not ended yet, or the label is not a period)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One ``notify``/``escalate`` action of a fired consequence.

    ``status``: ``sent`` now, ``already`` sent by an earlier close, ``failed`` (not delivered:
    tried again next run), ``pending`` (no notifier or a dry run).
    """

    name: str
    kind: ActionKind
    recipients: tuple[str, ...]
    title: str
    body: str
    status: str


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    """What :func:`close_period_and_notify` did (or, in a dry run, would do)."""

    agreement: str
    period: str
    already_closed: bool
    scopes_closed: int
    goal_frozen: int | None  # the period's frozen goal version
    consequences: tuple[str, ...]
    carried_over: Decimal
    carried_over_value: Decimal
    next_period: str
    next_goal: GoalVersion | None
    next_goal_action: str  # published, reissued, carried, kept, failed, none
    notices: tuple[Notice, ...] = field(default=())
    dry_run: bool = False


def period_to_close(policy: AgreementPolicy, now: datetime, label: str | None = None) -> Period:
    """The period named ``label``, or the one that ended last as of ``now``.

    Raises:
        CloseError: a malformed label, another period kind, or a period not over at ``now``.
    """
    if label is None:
        return Period.containing(now, policy.period, policy.timezone).previous()
    try:
        period = Period.parse(label, policy.timezone)
    except ValueError as exc:
        raise CloseError(str(exc)) from None
    if period.kind is not policy.period:
        raise CloseError(f"{policy.id} reports by {policy.period.value}, not {period.kind.value}")
    if now < period.utc_end:
        raise CloseError(f"{policy.id}: {label} has not ended yet")
    return period


def close_period_and_notify(
    engine: Engine,
    config: SlaSyncConfig,
    agreement_id: str,
    *,
    now: datetime,
    notifier: Sender | None = None,
    period: str | None = None,
    dry_run: bool = False,
) -> CloseOutcome:
    """Close ``period`` (default: the one that ended last) of ``agreement_id``; see the module.

    Raises:
        KeyError: no agreement ``agreement_id``.
        CloseError: see :func:`period_to_close`.
    """
    policy = config.agreement_policy(agreement_id)
    target = period_to_close(policy, now, period)
    sessions = sessionmaker(engine)
    with sessions() as session:
        try:
            closing = _close(session, policy, target, now)
        except BaseException:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()
    notices = _notify(sessions, policy, target, closing, now, notifier, dry_run)
    return CloseOutcome(
        agreement=policy.id,
        period=target.label,
        already_closed=closing.already_closed,
        scopes_closed=closing.scopes_closed,
        goal_frozen=closing.goal_frozen,
        consequences=tuple(describe_consequence(rule) for rule in closing.fired),
        carried_over=closing.carry[0],
        carried_over_value=closing.carry[1],
        next_period=target.next().label,
        next_goal=closing.next_goal,
        next_goal_action=closing.next_goal_action,
        notices=notices,
        dry_run=dry_run,
    )


@dataclass(slots=True)
class _Closing:
    already_closed: bool = False
    scopes_closed: int = 0
    goal_frozen: int | None = None
    row: Attainment | None = None
    fired: tuple[Consequence, ...] = ()
    carry: tuple[Decimal, Decimal] = (ZERO, ZERO)
    next_goal: GoalVersion | None = None
    next_goal_action: str = "none"


def _close(session: Session, policy: AgreementPolicy, target: Period, now: datetime) -> _Closing:
    out = _Closing()
    records = repo.load_attainments(session, policy.id, target.label)
    out.already_closed = bool(records) and all(r.closed_at is not None for r in records)
    if not out.already_closed:
        ids = agreement_connection_ids(session, policy)
        # connection_id only matters for the current period (push queueing): not here.
        _recompute_attainment(session, ids[0] if ids else 0, policy, target, now, current=False)
        out.scopes_closed = repo.close_period(session, policy.id, target.label, closed_at=now)
    stored = repo.current_goal(session, policy.id, target.label)
    if stored is not None:
        if not stored.frozen:
            stored = repo.freeze_goal_period(session, policy.id, target.label)
        out.goal_frozen = stored.goal.version
    rows = repo.load_attainments(session, policy.id, target.label, scope=ScopeKind.AGREEMENT)
    out.row = next((r.final or r.current for r in rows), None)
    if out.row is None:
        return out
    out.fired = triggered_consequences(closing_figures(out.row), policy.consequences)
    if policy.volume is not None and stored is not None:
        _publish_next(session, policy, target, stored.goal, out, now)
    return out


def closing_figures(row: Attainment) -> dict[Metric, float | None]:
    """The figures consequences watch, from a (frozen) agreement row: marketing in the
    agreement's measure (implied value when it has value weights, as the evaluate step uses)."""
    figures = attainment_figures(row)
    if row.value_goal is not None:
        figures[Metric.MARKETING] = (
            None if row.value_goal == 0 else (row.value_delivered or 0.0) / row.value_goal
        )
    return figures


def _publish_next(
    session: Session,
    policy: AgreementPolicy,
    target: Period,
    goal: GoalVersion,
    out: _Closing,
    now: datetime,
) -> None:
    assert policy.volume is not None and out.row is not None
    value = None if out.row.value_delivered is None else Decimal(str(out.row.value_delivered))
    out.carry = carry_over_from(out.fired, goal, out.row.mqls_delivered, value)
    carry, carry_value = out.carry
    following = target.next()
    existing = repo.current_goal(session, policy.id, following.label)
    latest = repo.latest_goal(session, policy.id)
    if existing is None:
        decision = publish_goal_version(
            policy.volume,
            agreement=policy.id,
            period=following,
            actuals=None,  # the store holds no closed-won figures: trailing inputs re-issue
            previous=latest.goal if latest is not None else None,
            carry_over=carry,
            carry_over_value=carry_value,
        )
        out.next_goal = decision.version
        out.next_goal_action = decision.outcome.value
        if decision.version is not None and decision.outcome in (
            GoalOutcome.PUBLISHED,
            GoalOutcome.REISSUED,
        ):
            repo.publish_goal_version(session, decision.version, published_at=now)
        return
    out.next_goal = existing.goal
    out.next_goal_action = "kept"
    wanted = (carry, carry_value)
    if (existing.goal.carried_over, existing.goal.carried_over_value) == wanted or existing.frozen:
        return
    assert latest is not None  # ``existing`` is one
    version = replace(
        existing.goal,
        version=latest.goal.version + 1,
        carried_over=carry,
        carried_over_value=carry_value,
        note=f"version {existing.goal.version} with the shortfall of {target.label} carried over",
    )
    repo.publish_goal_version(session, version, published_at=now)
    out.next_goal = version
    out.next_goal_action = "carried"


# --------------------------------------------------------------------------- notifications


def _figure_text(metric: Metric, row: Attainment, figure: float | None) -> str:
    pct = "-" if figure is None else f"{100 * figure:.1f} %"
    if metric is Metric.MARKETING:
        if row.value_goal is not None:
            return (
                f"{pct} (${row.value_delivered or 0:,.0f} of ${row.value_goal:,.0f} implied value)"
            )
        return f"{pct} ({row.mqls_delivered} of {row.mql_goal or 0:.0f} MQLs)"
    ratio = {Metric.SPEED: row.speed, Metric.DEPTH: row.depth, Metric.ACCEPTANCE: row.acceptance}
    return f"{pct} ({ratio[metric].met} met of {ratio[metric].decided} decided)"


def _notices(
    policy: AgreementPolicy, target: Period, outcome: _Closing
) -> list[tuple[str, ActionKind, tuple[str, ...], str, str]]:
    """``(name, kind, recipients, title, body)`` of every message the fired rules call for."""
    row = outcome.row
    if row is None:
        return []
    figures = closing_figures(row)
    found: list[tuple[str, ActionKind, tuple[str, ...], str, str]] = []
    for rule in outcome.fired:
        figure = _figure_text(rule.metric, row, figures.get(rule.metric))
        for action in rule.actions:
            if action.kind is ActionKind.CARRY_SHORTFALL or not action.targets:
                continue
            name = f"{rule.metric.value}<{100 * rule.below:g}%:{action.kind.value}"
            verb = "Escalation" if action.kind is ActionKind.ESCALATE else "Consequence"
            title = (
                f"SLA {verb.lower()}: {policy.id} {target.label}: {rule.metric.value} "
                f"below {100 * rule.below:g} %"
            )
            lines = [
                (
                    f"{verb} of agreement {policy.id} ({policy.provider} -> "
                    f"{policy.recipient}) at the close of {target.label}:"
                ),
                f"{rule.metric.value} attainment {figure} is below {100 * rule.below:g} %.",
                f"Rule: {describe_consequence(rule)}.",
            ]
            if rule.metric is Metric.MARKETING and outcome.carry[0] > 0:
                lines.append(
                    f"{outcome.carry[0]:g} MQLs of the shortfall are carried into "
                    f"{target.next().label}'s goal."
                )
            found.append((name, action.kind, tuple(action.targets), title, "\n".join(lines)))
    return found


def _notify(
    sessions: sessionmaker[Session],
    policy: AgreementPolicy,
    target: Period,
    outcome: _Closing,
    now: datetime,
    notifier: Sender | None,
    dry_run: bool,
) -> tuple[Notice, ...]:
    planned = _notices(policy, target, outcome)
    if not planned:
        return ()
    with sessions() as session:
        done = {
            str(alert.detail.get("name"))
            for alert in repo.list_alerts(session, agreement=policy.id)
            if alert.kind is AlertKind.CONSEQUENCE and alert.period == target.label
        }
    notices = []
    for name, kind, recipients, title, body in planned:
        if name in done:
            status = "already"
        elif notifier is None or dry_run:
            status = "pending"
        elif notifier.send(recipients, title, body):
            with sessions() as session, session.begin():
                repo.record_period_alert(
                    session,
                    agreement=policy.id,
                    period=target.label,
                    scope=ScopeKind.AGREEMENT,
                    scope_id=policy.id,
                    name=name,
                    raised_at=now,
                    detail={"name": name, "recipients": list(recipients), "title": title},
                )
            status = "sent"
        else:
            status = "failed"
        notices.append(Notice(name, kind, recipients, title, body, status))
    return tuple(notices)


def describe_close(outcome: CloseOutcome) -> list[str]:
    """Lines saying what a close did (``sla-sync period close`` prints them)."""
    head = f"{outcome.agreement} {outcome.period}:"
    if outcome.dry_run:
        head += " (dry run: nothing stored or sent)"
    lines = [head]
    if outcome.already_closed:
        lines.append("  already closed: figures stay as frozen")
    else:
        lines.append(f"  froze the figures of {outcome.scopes_closed} scope(s)")
    if outcome.goal_frozen is not None:
        lines.append(f"  goal version {outcome.goal_frozen} frozen")
    lines.append("  consequences: " + ("; ".join(outcome.consequences) or "none"))
    goal = outcome.next_goal
    if goal is None:
        lines.append(f"  {outcome.next_period}: no goal ({outcome.next_goal_action})")
    else:
        carry = f", {goal.carried_over:g} MQLs carried over" if goal.carried_over else ""
        lines.append(
            f"  {outcome.next_period}: goal {goal.leads_goal} MQLs, version {goal.version} "
            f"({outcome.next_goal_action}{carry})"
        )
    lines.extend(
        f"  {notice.kind.value} {', '.join(notice.recipients)}: {notice.title} [{notice.status}]"
        for notice in outcome.notices
    )
    return lines
