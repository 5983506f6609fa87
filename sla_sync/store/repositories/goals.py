"""Goal versions: the engine's :class:`~sla_sync.domain.GoalVersion` per agreement, stored whole.

A version is stored with every field (Decimals as their exact text) and reads back equal to the
one published. Versions of a period may be published until the period's goal is frozen (the
period closed); then every attempt to publish another version for it raises. None of these
functions commits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sla_sync.domain import (
    Goal,
    GoalVersion,
    InputSource,
    ResolvedGoalInputs,
    ResolvedInput,
    ensure_utc,
)
from sla_sync.store.models import GoalVersionRow
from sla_sync.store.records import GoalPeriodFrozenError, NotFoundError, StoredGoalVersion


def publish_goal_version(
    session: Session, version: GoalVersion, *, published_at: datetime
) -> StoredGoalVersion:
    """Store ``version`` as published at ``published_at`` (not frozen).

    The version number is the engine's (``version.version``, counted per agreement).

    Raises:
        GoalPeriodFrozenError: the goal of ``version.period`` is frozen (a closed period keeps
            its goal).
        sqlalchemy.exc.IntegrityError: the agreement already has a version with this number.
    """
    ensure_utc(published_at, what="published_at")
    latest = _latest_goal_row(session, version.agreement, version.period)
    if latest is not None and latest.frozen:
        raise GoalPeriodFrozenError(
            f"goal of {version.agreement} for {version.period} is frozen at version "
            f"{latest.version}"
        )
    row = GoalVersionRow(
        agreement=version.agreement,
        period=version.period,
        version=version.version,
        computed_leads=version.computed.leads,
        computed_customers=str(version.computed.customers),
        computed_value=str(version.computed.value),
        inputs=_inputs_json(version.inputs),
        proration=str(version.proration),
        effective_from=version.effective_from,
        carried_over=str(version.carried_over),
        carried_over_value=str(version.carried_over_value),
        reissued_from=version.reissued_from,
        note=version.note,
        published_at=published_at,
        frozen=False,
    )
    session.add(row)
    session.flush()
    return _stored(row)


def freeze_goal_period(session: Session, agreement: str, period: str) -> StoredGoalVersion:
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
    return _stored(latest)


def current_goal(session: Session, agreement: str, period: str) -> StoredGoalVersion | None:
    """The latest goal version of the period, or ``None`` if none was published."""
    row = _latest_goal_row(session, agreement, period)
    return None if row is None else _stored(row)


def goal_history(session: Session, agreement: str, period: str) -> list[StoredGoalVersion]:
    """Every goal version of the period, oldest first."""
    stmt = (
        select(GoalVersionRow)
        .where(GoalVersionRow.agreement == agreement, GoalVersionRow.period == period)
        .order_by(GoalVersionRow.version)
    )
    return [_stored(r) for r in session.scalars(stmt)]


def _latest_goal_row(session: Session, agreement: str, period: str) -> GoalVersionRow | None:
    stmt = (
        select(GoalVersionRow)
        .where(GoalVersionRow.agreement == agreement, GoalVersionRow.period == period)
        .order_by(GoalVersionRow.version.desc())
        .limit(1)
    )
    return session.scalars(stmt).one_or_none()


def _input_json(item: ResolvedInput | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"value": str(item.value), "source": item.source.value, "months": item.months}


def _input(data: dict[str, Any]) -> ResolvedInput:
    return ResolvedInput(
        value=Decimal(data["value"]), source=InputSource(data["source"]), months=data["months"]
    )


def _optional_input(data: dict[str, Any] | None) -> ResolvedInput | None:
    return None if data is None else _input(data)


def _inputs_json(inputs: ResolvedGoalInputs) -> dict[str, Any]:
    return {
        "revenue_goal": _input_json(inputs.revenue_goal),
        "average_deal_size": _input_json(inputs.average_deal_size),
        "lead_to_customer_rate": _input_json(inputs.lead_to_customer_rate),
        "marketing_share": _input_json(inputs.marketing_share),
        "self_sourced_leads": _input_json(inputs.self_sourced_leads),
    }


def _inputs(data: dict[str, Any]) -> ResolvedGoalInputs:
    return ResolvedGoalInputs(
        revenue_goal=_input(data["revenue_goal"]),
        average_deal_size=_input(data["average_deal_size"]),
        lead_to_customer_rate=_input(data["lead_to_customer_rate"]),
        marketing_share=_optional_input(data["marketing_share"]),
        self_sourced_leads=_optional_input(data["self_sourced_leads"]),
    )


def _stored(r: GoalVersionRow) -> StoredGoalVersion:
    goal = GoalVersion(
        agreement=r.agreement,
        period=r.period,
        version=r.version,
        computed=Goal(
            leads=r.computed_leads,
            customers=Decimal(r.computed_customers),
            value=Decimal(r.computed_value),
        ),
        inputs=_inputs(r.inputs),
        proration=Decimal(r.proration),
        effective_from=r.effective_from,
        carried_over=Decimal(r.carried_over),
        carried_over_value=Decimal(r.carried_over_value),
        reissued_from=r.reissued_from,
        note=r.note,
    )
    return StoredGoalVersion(goal=goal, published_at=r.published_at, frozen=r.frozen)


def latest_goal(session: Session, agreement: str) -> StoredGoalVersion | None:
    """The agreement's latest goal version of any period (the engine's ``previous``)."""
    stmt = (
        select(GoalVersionRow)
        .where(GoalVersionRow.agreement == agreement)
        .order_by(GoalVersionRow.version.desc())
        .limit(1)
    )
    row = session.scalars(stmt).one_or_none()
    return None if row is None else _stored(row)
