"""Behaviour of the shared value types that reports and write-back rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sla_sync.domain import (
    CycleKind,
    CycleState,
    LeadCycle,
    NaiveDatetimeError,
    Ratio,
    ensure_utc,
)

START = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
DEADLINE = START + timedelta(minutes=30)


def cycle(
    state: CycleState, stopped_at: datetime | None, breached_at: datetime | None
) -> LeadCycle:
    return LeadCycle(
        lead_id="L1",
        agreement="a",
        kind=CycleKind.SPEED,
        number=1,
        state=state,
        started_at=START,
        deadline_at=DEADLINE,
        stopped_at=stopped_at,
        breached_at=breached_at,
    )


@pytest.mark.parametrize(
    ("state", "stopped_at", "breached_at", "late_by"),
    [
        # T31: deadline 10:00, touch 10:20 -> breached, 20 minutes since target.
        (CycleState.BREACHED, DEADLINE + timedelta(minutes=20), DEADLINE, timedelta(minutes=20)),
        (CycleState.BREACHED, None, DEADLINE, None),  # still untouched
        (CycleState.MET, DEADLINE - timedelta(minutes=1), None, None),
        (CycleState.RUNNING, None, None, None),
    ],
)
def test_late_by_is_the_time_from_deadline_to_a_late_stop(
    state: CycleState,
    stopped_at: datetime | None,
    breached_at: datetime | None,
    late_by: timedelta | None,
) -> None:
    assert cycle(state, stopped_at, breached_at).late_by == late_by


def test_ratio_has_no_percentage_when_nothing_was_decided() -> None:
    assert Ratio(met=0, decided=0).pct is None
    assert Ratio(met=3, decided=4).pct == 75.0


def test_ensure_utc_normalises_offsets_and_rejects_naive_values() -> None:
    local = datetime(2025, 3, 9, 1, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert ensure_utc(local) == datetime(2025, 3, 9, 6, 30, tzinfo=UTC)
    assert ensure_utc(local).tzinfo is UTC
    with pytest.raises(NaiveDatetimeError, match=r"touch\.at"):
        ensure_utc(datetime(2025, 3, 9, 1, 30), what="touch.at")  # noqa: DTZ001
