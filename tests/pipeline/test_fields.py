"""Desired SLA field values from cycles (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sla_sync.connectors.base import SlaField, SlaStatus
from sla_sync.domain import CycleKind, CycleState, LeadCycle
from sla_sync.pipeline.fields import (
    desired_fields,
    differences,
    format_instant,
    format_pct,
    pick_agreement,
    status_of,
)

T0 = datetime(2026, 11, 16, 14, 5, 30, 123456, tzinfo=UTC)


def cycle(kind: CycleKind = CycleKind.SPEED, **kw: object) -> LeadCycle:
    base: dict[str, object] = {
        "lead_id": "L1",
        "agreement": "na",
        "kind": kind,
        "number": 1,
        "state": CycleState.RUNNING,
        "started_at": T0,
        "owner_id": "ana",
        "tier": "A",
        "deadline_at": T0 + timedelta(hours=1),
    }
    base.update(kw)
    return LeadCycle(**base)  # type: ignore[arg-type]


def test_formats_are_canonical() -> None:
    assert format_instant(T0) == "2026-11-16T14:05:30Z"
    assert format_instant(None) is None
    assert format_pct(87.5) == "87.5"
    assert format_pct(100.0) == "100"
    assert format_pct(2 / 3 * 100) == "66.7"
    assert format_pct(0.04) == "0"
    assert format_pct(None) is None


def test_never_managed_leads_without_cycles_get_nothing() -> None:
    assert desired_fields([], managed=False) is None


def test_managed_leads_leaving_every_agreement_become_not_in_sla() -> None:
    desired = desired_fields([], managed=True)
    assert desired is not None
    assert desired[SlaField.STATUS] == SlaStatus.NOT_IN_SLA.value
    assert all(v is None for k, v in desired.items() if k is not SlaField.STATUS)
    assert SlaField.UPDATED_AT not in desired


def test_open_lead_fields() -> None:
    depth = cycle(
        CycleKind.DEPTH, attempts=1, attempts_required=3, deadline_at=T0 + timedelta(days=3)
    )
    speed = cycle(warning_at=T0 + timedelta(minutes=45))
    desired = desired_fields([speed, depth], managed=False, owner_speed={("na", "ana"): 87.5})
    assert desired == {
        SlaField.STATUS: "at_risk",
        SlaField.DUE_AT: "2026-11-16T15:05:30Z",
        SlaField.FIRST_TOUCH_AT: None,
        SlaField.MINUTES_TO_FIRST_TOUCH: None,
        SlaField.ATTEMPTS_MADE: "1",
        SlaField.ATTEMPTS_REQUIRED: "3",
        SlaField.TIER: "A",
        SlaField.AGREEMENT: "na",
        SlaField.OWNER_SPEED_MTD: "87.5",
    }


def test_decided_lead_keeps_owner_speed_as_last_written() -> None:
    touched = T0 + timedelta(minutes=20)
    speed = cycle(
        state=CycleState.MET,
        first_touch_at=touched,
        stopped_at=touched,
        business_seconds=20 * 60 + 59,
    )
    desired = desired_fields([speed], managed=True, owner_speed={("na", "ana"): 50.0})
    assert desired is not None
    assert desired[SlaField.STATUS] == "met"
    assert desired[SlaField.MINUTES_TO_FIRST_TOUCH] == "20"
    assert desired[SlaField.FIRST_TOUCH_AT] == "2026-11-16T14:25:30Z"
    assert SlaField.OWNER_SPEED_MTD not in desired


@pytest.mark.parametrize(
    ("states", "status"),
    [
        ((CycleState.BREACHED, CycleState.RUNNING), SlaStatus.BREACHED),
        ((CycleState.CANCELLED, CycleState.CANCELLED), SlaStatus.CLOSED),
        ((CycleState.PAUSED, CycleState.PAUSED), SlaStatus.PAUSED),
        ((CycleState.MET, CycleState.RUNNING), SlaStatus.ON_TRACK),
        ((CycleState.MET, CycleState.MET), SlaStatus.MET),
        ((CycleState.CANCELLED, CycleState.MET), SlaStatus.CLOSED),
    ],
)
def test_status(states: tuple[CycleState, CycleState], status: SlaStatus) -> None:
    speed, depth = states
    current = {
        CycleKind.SPEED: cycle(state=speed),
        CycleKind.DEPTH: cycle(CycleKind.DEPTH, state=depth),
    }
    assert status_of(current) is status


def test_the_current_episode_is_the_highest_numbered_cycle() -> None:
    old = cycle(state=CycleState.BREACHED)
    new = cycle(number=2, started_at=T0 + timedelta(days=30), deadline_at=T0 + timedelta(days=31))
    desired = desired_fields([new, old], managed=False)
    assert desired is not None
    assert desired[SlaField.STATUS] == "on_track"


def test_several_agreements_open_speed_cycle_with_earliest_deadline_wins() -> None:
    na = cycle(deadline_at=T0 + timedelta(hours=4))
    hot = replace(na, agreement="hot", deadline_at=T0 + timedelta(hours=2))
    met = replace(na, agreement="aaa", state=CycleState.MET, started_at=T0 + timedelta(days=1))
    assert pick_agreement([na, hot, met]) == "hot"
    paused = replace(hot, state=CycleState.PAUSED, deadline_at=None)
    assert pick_agreement([na, paused]) == "na"
    assert pick_agreement([replace(na, deadline_at=T0), replace(hot, deadline_at=T0)]) == "hot"


def test_several_agreements_without_open_speed_cycle_most_recent_wins() -> None:
    older = cycle(state=CycleState.MET)
    newer = replace(older, agreement="zz", started_at=T0 + timedelta(days=2))
    assert pick_agreement([older, newer]) == "zz"
    tie = replace(older, agreement="aa")
    assert pick_agreement([older, tie]) == "aa"


def test_differences_only_what_the_crm_does_not_hold() -> None:
    desired = {SlaField.STATUS: "met", SlaField.TIER: None, SlaField.AGREEMENT: "na"}
    assert differences(desired, {"status": "met", "agreement": "na"}) == {}
    assert differences(desired, {"status": "on_track", "tier": "A", "agreement": "na"}) == {
        SlaField.STATUS: "met",
        SlaField.TIER: None,
    }
