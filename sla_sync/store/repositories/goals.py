"""Goal versions: marketing's volume goal per agreement and period, versioned and freezable.

A period's goal may be re-published (monthly re-evaluation) until the period closes; then it is
frozen and every attempt to publish another version raises. None of these functions commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sla_sync.domain import ensure_utc
from sla_sync.store.models import GoalVersionRow
from sla_sync.store.records import (
    GoalFigures,
    GoalPeriodFrozenError,
    GoalVersion,
    NotFoundError,
)


def publish_goal_version(
    session: Session,
    *,
    agreement: str,
    period: str,
    figures: GoalFigures,
    published_at: datetime,
    inputs: Mapping[str, Any] | None = None,
) -> GoalVersion:
    """Publish the next goal version of ``agreement`` for ``period`` (1 for the first).

    Raises:
        GoalPeriodFrozenError: the period's goal is frozen (a closed period keeps its goal).
        sqlalchemy.exc.IntegrityError: a concurrent publisher took the same version number.
    """
    ensure_utc(published_at, what="published_at")
    latest = _latest_goal_row(session, agreement, period)
    if latest is not None and latest.frozen:
        raise GoalPeriodFrozenError(
            f"goal of {agreement} for {period} is frozen at version {latest.version}"
        )
    row = GoalVersionRow(
        agreement=agreement,
        period=period,
        version=1 if latest is None else latest.version + 1,
        frozen=False,
        mql_goal=figures.mql_goal,
        value_goal=figures.value_goal,
        revenue_goal=figures.revenue_goal,
        average_deal_size=figures.average_deal_size,
        lead_to_customer_rate=figures.lead_to_customer_rate,
        marketing_share=figures.marketing_share,
        self_sourced_leads=figures.self_sourced_leads,
        carried_credit=figures.carried_credit,
        inputs=dict(inputs or {}),
        published_at=published_at,
    )
    session.add(row)
    session.flush()
    return _goal(row)


def freeze_goal_period(session: Session, agreement: str, period: str) -> GoalVersion:
    """Freeze the period's goal at its latest version (idempotent).

    Raises:
        NotFoundError: no goal was published for the period.
    """
    latest = _latest_goal_row(session, agreement, period)
    if latest is None:
        raise NotFoundError(f"no goal published for {agreement} in {period}")
    session.execute(
        update(GoalVersionRow)
        .where(GoalVersionRow.agreement == agreement, GoalVersionRow.period == period)
        .values(frozen=True)
    )
    session.refresh(latest)
    return _goal(latest)


def current_goal(session: Session, agreement: str, period: str) -> GoalVersion | None:
    """The latest goal version of the period, or ``None`` if none was published."""
    row = _latest_goal_row(session, agreement, period)
    return None if row is None else _goal(row)


def goal_history(session: Session, agreement: str, period: str) -> list[GoalVersion]:
    """Every goal version of the period, oldest first."""
    stmt = (
        select(GoalVersionRow)
        .where(GoalVersionRow.agreement == agreement, GoalVersionRow.period == period)
        .order_by(GoalVersionRow.version)
    )
    return [_goal(r) for r in session.scalars(stmt)]


def _latest_goal_row(session: Session, agreement: str, period: str) -> GoalVersionRow | None:
    stmt = (
        select(GoalVersionRow)
        .where(GoalVersionRow.agreement == agreement, GoalVersionRow.period == period)
        .order_by(GoalVersionRow.version.desc())
        .limit(1)
    )
    return session.scalars(stmt).one_or_none()


def _goal(r: GoalVersionRow) -> GoalVersion:
    def dec(value: Decimal | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return GoalVersion(
        agreement=r.agreement,
        period=r.period,
        version=r.version,
        figures=GoalFigures(
            mql_goal=Decimal(r.mql_goal),
            value_goal=dec(r.value_goal),
            revenue_goal=dec(r.revenue_goal),
            average_deal_size=dec(r.average_deal_size),
            lead_to_customer_rate=dec(r.lead_to_customer_rate),
            marketing_share=dec(r.marketing_share),
            self_sourced_leads=dec(r.self_sourced_leads),
            carried_credit=Decimal(r.carried_credit),
        ),
        inputs=dict(r.inputs),
        published_at=r.published_at,
        frozen=r.frozen,
    )
