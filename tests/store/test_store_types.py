"""UtcDateTime: aware UTC on both backends; naive refused; SQLite strings sort by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from sla_sync.domain import NaiveDatetimeError
from sla_sync.store import repositories as repo
from sla_sync.store.models import RunRow

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 3, 8, 1, 59, 59, 999999, tzinfo=NEW_YORK),  # just before a DST gap
        datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=1),  # repeated hour, second pass
        datetime(2026, 6, 30, 23, 45, tzinfo=KOLKATA),  # half-hour offset, other UTC date
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
    ],
)
def test_aware_instants_round_trip_as_utc(session: Session, instant: datetime) -> None:
    run_id = repo.start_run(session, kind="sync", started_at=instant)
    session.commit()
    session.expunge_all()
    stored = session.get_one(RunRow, run_id).started_at
    # Compare in UTC: PEP 495 makes inter-zone == false for fold=1 times in a repeated hour.
    assert stored == instant.astimezone(UTC)
    assert stored.timestamp() == instant.timestamp()
    assert stored.tzinfo is UTC
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(session: Session) -> None:
    session.add(
        RunRow(
            id="r1",
            kind="sync",
            started_at=datetime(2026, 1, 1, 12, 0),  # noqa: DTZ001 - the point of the test
            outcome="running",
            counts={},
            api_calls={},
        )
    )
    with pytest.raises(StatementError) as caught:
        session.flush()
    assert isinstance(caught.value.orig, NaiveDatetimeError)
    assert "naive" in str(caught.value.orig)


def test_naive_datetime_refused_by_repositories_with_a_clear_message(session: Session) -> None:
    with pytest.raises(NaiveDatetimeError, match="started_at"):
        repo.start_run(session, kind="sync", started_at=datetime(2026, 1, 1))  # noqa: DTZ001


def test_instants_order_by_time_not_by_text(session: Session) -> None:
    # Same wall-clock text, different instants: only UTC storage orders these correctly.
    instants = [
        datetime(2026, 5, 1, 9, 0, tzinfo=KOLKATA),  # 03:30Z
        datetime(2026, 5, 1, 9, 0, tzinfo=UTC),  # 09:00Z
        datetime(2026, 5, 1, 9, 0, tzinfo=NEW_YORK),  # 13:00Z
        datetime(2026, 5, 1, 4, 0, tzinfo=UTC),  # 04:00Z
    ]
    for n, instant in enumerate(instants):
        repo.start_run(session, kind="sync", started_at=instant, run_id=f"r{n}")
    session.flush()
    ordered = session.scalars(select(RunRow.started_at).order_by(RunRow.started_at)).all()
    assert ordered == sorted(instants)
    after = session.scalars(
        select(RunRow.id).where(RunRow.started_at > datetime(2026, 5, 1, 8, tzinfo=UTC))
    ).all()
    assert sorted(after) == ["r1", "r2"]


def test_storage_format(migrated_engine: Engine, backend: str) -> None:
    with migrated_engine.begin() as connection:
        connection.execute(
            RunRow.__table__.insert().values(
                id="r",
                kind="sync",
                started_at=datetime(2026, 5, 1, 9, 0, tzinfo=NEW_YORK),
                outcome="running",
                counts={},
                api_calls={},
            )
        )
        if backend == "sqlite":
            raw = connection.execute(text("SELECT started_at FROM runs")).scalar()
            assert raw == "2026-05-01T13:00:00.000000Z"
        else:
            kind = connection.execute(
                text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'runs' AND column_name = 'started_at'"
                )
            ).scalar()
            assert kind == "timestamp with time zone"
