"""``sla-sync sla explain`` on the shipped example scenario, through the real CLI.

Every expected number below was computed by hand from the calendars of
``config/sla-sync.example.yaml`` (the arithmetic is in the comment of each case), not copied from
the program's output. Facts used throughout:

* November 2026: Sun 1st; Mon 16 .. Fri 20 is the scenario's week; Thanksgiving Thu 26.
  New York is on EST (UTC-5), Los Angeles on PST (UTC-8), London on GMT (UTC+0).
* ny-sales: Mon-Fri 09:00-12:00 + 13:00-17:00 = 7 business hours a day; US/NY holidays (in
  October-November 2026: Columbus Day Mon 12 Oct, Election Day Tue 3 Nov, Veterans Day Wed 11
  Nov, Thanksgiving Thu 26 Nov).
* sf-sales from 2026-07-01: Mon-Fri 08:00-17:00 + Sat 09:00-13:00; US/CA holidays (Veterans
  Day, Thanksgiving, Day after Thanksgiving Fri 27 Nov).
* london: Mon-Thu 08:30-17:30 (9 h), Fri 08:30-16:00 (7.5 h).
* The scenario's ``as_of`` is Fri 2026-11-20 21:00Z = 16:00 EST = 13:00 PST = 21:00 GMT.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sla_sync.cli import main

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "sla-sync.example.yaml"
SCENARIO = REPO / "config" / "scenarios" / "example.json"
AGREEMENTS = ("smarketing-na", "smarketing-emea", "enterprise-fast-lane")

NA, EMEA, FAST = AGREEMENTS

H = 3600  # seconds per hour
M = 60  # seconds per minute


def run(*args: str) -> Result:
    """``sla-sync sla explain --config <example> ARGS`` in-process."""
    return CliRunner().invoke(main, ["sla", "explain", "--config", str(CONFIG), *args])


def explain_json(*args: str) -> dict[str, Any]:
    result = run("--scenario", str(SCENARIO), "--json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def agreement(document: dict[str, Any], agreement_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [a for a in document["agreements"] if a["id"] == agreement_id]
    assert len(found) == 1, f"{agreement_id} not in {[a['id'] for a in document['agreements']]}"
    return found[0]


def cycle(
    document: dict[str, Any], agreement_id: str, lead: str, kind: str, number: int = 1
) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c
        for c in agreement(document, agreement_id)["cycles"]
        if (c["lead"], c["kind"], c["number"]) == (lead, kind, number)
    ]
    assert len(found) == 1, f"{agreement_id} {lead} {kind} #{number}: {found}"
    return found[0]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """The JSON report of the whole example scenario at its own as_of."""
    return explain_json()


# --------------------------------------------------------------------------- per lead

# (agreement, lead, kind, number, expected subset of the JSON cycle)
CASES: list[Any] = [
    # L-1001 (ana, ny-inbound -> ny-sales): score 90 + demo_request -> tier A, 30 business minutes.
    # MQL Mon 16 Nov 14:05Z = 09:05 EST; deadline 09:35 EST = 14:35Z; call 09:20 EST = 14:20Z
    # -> 15 min = 900 s, met.
    pytest.param(
        NA,
        "L-1001",
        "speed",
        1,
        {
            "state": "met",
            "tier": "A",
            "owner": "ana",
            "started_at": "2026-11-16T14:05:00Z",
            "deadline_at": "2026-11-16T14:35:00Z",
            "first_touch_at": "2026-11-16T14:20:00Z",
            "business_seconds": 15 * M,
            "target_seconds": 30 * M,
        },
        id="L-1001-tier-A-met-in-15-minutes",
    ),
    # L-1001 depth: 5 touches (Mon 09:20, Mon 14:00, Tue 10:00, Wed 11:00, Thu 09:30 EST), all in
    # the 10-business-day window -> met at the 5th, Thu 19 Nov 14:30Z. Business time Mon 09:05 ->
    # Thu 09:30: Mon 2:55 + 4:00, Tue 7:00, Wed 7:00, Thu 0:30 = 21:25 = 77100 s.
    pytest.param(
        NA,
        "L-1001",
        "depth",
        1,
        {
            "state": "met",
            "attempts": 5,
            "attempts_required": 5,
            "stopped_at": "2026-11-19T14:30:00Z",
            "business_seconds": 21 * H + 25 * M,
            "target_seconds": 10 * 7 * H,
        },
        id="L-1001-depth-met-at-fifth-touch",
    ),
    # L-1001 acceptance: status in_progress (accepted) at 15:00Z = 10:00 EST: 55 min after the
    # MQL; 2 business days from Mon 09:05 -> Wed 18 Nov 09:05 EST = 14:05Z (2 x 7 h = 14 h).
    pytest.param(
        NA,
        "L-1001",
        "acceptance",
        1,
        {
            "state": "met",
            "stopped_at": "2026-11-16T15:00:00Z",
            "deadline_at": "2026-11-18T14:05:00Z",
            "business_seconds": 55 * M,
            "target_seconds": 14 * H,
        },
        id="L-1001-accepted",
    ),
    # L-1002 (ben): tier A (85, contact_sales). MQL Tue 17 Nov 16:40Z = 11:40 EST. 20 min to
    # 12:00, lunch 12:00-13:00 is closed, 10 more -> deadline 13:10 EST = 18:10Z. Call 13:30 EST =
    # 18:30Z: breached (sticky) at 18:10Z, stopped 20 min (1200 s) late; business time 11:40 ->
    # 13:30 = 20 + 30 = 50 min. Warning at 50 % (15 business min) = 11:55 EST = 16:55Z.
    pytest.param(
        NA,
        "L-1002",
        "speed",
        1,
        {
            "state": "breached",
            "tier": "A",
            "owner": "ben",
            "started_at": "2026-11-17T16:40:00Z",
            "deadline_at": "2026-11-17T18:10:00Z",
            "breached_at": "2026-11-17T18:10:00Z",
            "first_touch_at": "2026-11-17T18:30:00Z",
            "business_seconds": 50 * M,
            "late_seconds": 20 * M,
            "warning_at": "2026-11-17T16:55:00Z",
        },
        id="L-1002-lunch-excluded-sticky-breach",
    ),
    # L-1002 acceptance: no decision; Tue 11:40 + 2 business days = Thu 19 Nov 11:40 EST = 16:40Z.
    # Still counting to as_of: Tue 0:20 + 4:00, Wed 7:00, Thu 7:00, Fri 3:00 + 3:00 = 24:20.
    pytest.param(
        NA,
        "L-1002",
        "acceptance",
        1,
        {
            "state": "breached",
            "deadline_at": "2026-11-19T16:40:00Z",
            "breached_at": "2026-11-19T16:40:00Z",
            "business_seconds": 24 * H + 20 * M,
        },
        id="L-1002-acceptance-breached",
    ),
    # L-1003 (ana): 60 + ebook -> tier B, 4 business hours. MQL Wed 18 Nov 21:30Z = 16:30 EST;
    # the automated reply at 21:30:10Z does not count. 30 min Wed + 3:00 Thu morning + 30 min
    # after lunch -> deadline Thu 13:30 EST = 18:30Z. Call Thu 11:45 EST = 16:45Z: 0:30 + 2:45 =
    # 3:15 = 11700 s, met.
    pytest.param(
        NA,
        "L-1003",
        "speed",
        1,
        {
            "state": "met",
            "tier": "B",
            "started_at": "2026-11-18T21:30:00Z",
            "deadline_at": "2026-11-19T18:30:00Z",
            "first_touch_at": "2026-11-19T16:45:00Z",
            "business_seconds": 3 * H + 15 * M,
            "target_seconds": 4 * H,
        },
        id="L-1003-automated-email-ignored",
    ),
    # L-1004 (ben): 20 -> tier C, 2 business days. MQL Thu 19 Nov 15:00Z = 10:00 EST -> due Mon 23
    # Nov 10:00 EST = 15:00Z. Running; Thu 2:00 + 4:00 and Fri 3:00 + 3:00 = 12 h by as_of.
    pytest.param(
        NA,
        "L-1004",
        "speed",
        1,
        {
            "state": "running",
            "tier": "C",
            "deadline_at": "2026-11-23T15:00:00Z",
            "business_seconds": 12 * H,
            "target_seconds": 14 * H,
        },
        id="L-1004-tier-C-due-monday",
    ),
    # L-1005 (ben): 55 + free_trial -> tier B. MQL Fri 20 Nov 14:00Z = 09:00 EST; deadline 3 h to
    # 12:00 + 1 h after lunch = 14:00 EST = 19:00Z. Status unqualified at 10:00 EST (15:00Z)
    # disqualifies it before then, untouched: speed cancelled after 1 business hour.
    pytest.param(
        NA,
        "L-1005",
        "speed",
        1,
        {
            "state": "cancelled",
            "cancel_reason": "disqualified",
            "deadline_at": "2026-11-20T19:00:00Z",
            "stopped_at": "2026-11-20T15:00:00Z",
            "business_seconds": 1 * H,
        },
        id="L-1005-disqualified-speed-cancelled",
    ),
    # ... and the rejection is a decision: acceptance met after 1 business hour.
    pytest.param(
        NA,
        "L-1005",
        "acceptance",
        1,
        {"state": "met", "stopped_at": "2026-11-20T15:00:00Z", "business_seconds": 1 * H},
        id="L-1005-rejection-meets-acceptance",
    ),
    # L-1006 (ana): tier B. MQL Fri 20 Nov 15:00Z = 10:00 EST; meeting_booked at 10:30 EST pauses
    # every clock. Business 0:30 before the pause; paused 10:30 -> 16:00 EST = 1:30 + 3:00 = 4:30
    # (16200 s); no deadline while paused.
    pytest.param(
        NA,
        "L-1006",
        "speed",
        1,
        {
            "state": "paused",
            "deadline_at": None,
            "business_seconds": 30 * M,
            "paused_seconds": 4 * H + 30 * M,
        },
        id="L-1006-paused",
    ),
    # L-1007 (ana): 65 + ebook -> tier B. Cycle 1: MQL Mon 5 Oct 14:00Z = 10:00 EDT, call 11:00
    # EDT -> 1 h, met.
    pytest.param(
        NA,
        "L-1007",
        "speed",
        1,
        {
            "state": "met",
            "started_at": "2026-10-05T14:00:00Z",
            "first_touch_at": "2026-10-05T15:00:00Z",
            "business_seconds": 1 * H,
        },
        id="L-1007-cycle-1-october",
    ),
    # Cycle 2 after the recycle (stage lead on 20 Oct): MQL Wed 18 Nov 14:00Z = 09:00 EST; deadline
    # 3 h to 12:00 + 1 h after lunch = 14:00 EST = 19:00Z; call 10:00 EST = 15:00Z -> 1 h, met.
    pytest.param(
        NA,
        "L-1007",
        "speed",
        2,
        {
            "state": "met",
            "started_at": "2026-11-18T14:00:00Z",
            "deadline_at": "2026-11-18T19:00:00Z",
            "first_touch_at": "2026-11-18T15:00:00Z",
            "business_seconds": 1 * H,
        },
        id="L-1007-re-mql-cycle-2",
    ),
    # Cycle 1 depth window: 10 business days from Mon 5 Oct 10:00 EDT skipping Columbus Day (Mon
    # 12 Oct): 6,7,8,9,13,14,15,16,19,20 -> Tue 20 Oct 10:00 EDT = 14:00Z; 1 touch of 5: breached.
    pytest.param(
        NA,
        "L-1007",
        "depth",
        1,
        {
            "state": "breached",
            "deadline_at": "2026-10-20T14:00:00Z",
            "breached_at": "2026-10-20T14:00:00Z",
            "attempts": 1,
            "business_seconds": 10 * 7 * H,
        },
        id="L-1007-cycle-1-depth-skips-columbus-day",
    ),
    # L-1008 + duplicate L-1009: the survivor's MQL Thu 19 Nov 14:00Z = 09:00 EST (earlier than the
    # duplicate's 09:20) starts the clock; the call on the duplicate at 09:25 EST = 14:25Z counts:
    # tier A (88, demo_request), 25 min, met; deadline 09:30 EST = 14:30Z.
    pytest.param(
        NA,
        "L-1008",
        "speed",
        1,
        {
            "state": "met",
            "tier": "A",
            "started_at": "2026-11-19T14:00:00Z",
            "deadline_at": "2026-11-19T14:30:00Z",
            "first_touch_at": "2026-11-19T14:25:00Z",
            "business_seconds": 25 * M,
        },
        id="L-1008-merge-earliest-mql-and-duplicate-touch",
    ),
    # L-1010 per-owner cycles, tier B (60, free_trial). Ben from the MQL Tue 17 Nov 14:00Z = 09:00
    # EST until the move to Ana at 11:00 EST = 16:00Z: cancelled (reassigned) after 2 h.
    pytest.param(
        NA,
        "L-1010",
        "speed",
        1,
        {
            "state": "cancelled",
            "owner": "ben",
            "cancel_reason": "reassigned",
            "started_at": "2026-11-17T14:00:00Z",
            "stopped_at": "2026-11-17T16:00:00Z",
            "business_seconds": 2 * H,
        },
        id="L-1010-ben-cycle-cancelled-on-reassignment",
    ),
    # Ana's own cycle from 11:00 EST: 1 h to 12:00 + 3 h from 13:00 -> deadline 16:00 EST = 21:00Z;
    # call 15:00 EST = 20:00Z: 1 h + 2 h = 3 h, met.
    pytest.param(
        NA,
        "L-1010",
        "speed",
        2,
        {
            "state": "met",
            "owner": "ana",
            "started_at": "2026-11-17T16:00:00Z",
            "deadline_at": "2026-11-17T21:00:00Z",
            "first_touch_at": "2026-11-17T20:00:00Z",
            "business_seconds": 3 * H,
        },
        id="L-1010-ana-cycle-starts-at-reassignment",
    ),
    # L-1011 (ben): tier A (82, demo_request). MQL Fri 20 Nov 14:10Z = 09:10 EST; the call at
    # 09:05 is before the MQL and ignored; the call at 09:30 EST = 14:30Z -> 20 min, met.
    pytest.param(
        NA,
        "L-1011",
        "speed",
        1,
        {
            "state": "met",
            "started_at": "2026-11-20T14:10:00Z",
            "deadline_at": "2026-11-20T14:40:00Z",
            "first_touch_at": "2026-11-20T14:30:00Z",
            "business_seconds": 20 * M,
        },
        id="L-1011-touch-before-mql-ignored",
    ),
    # L-1012 (carla, sf-inbound -> sf-sales): 58 + ebook -> tier B, 4 h. MQL Fri 20 Nov 16:30Z =
    # 08:30 PST; one window 08:00-17:00 -> deadline 12:30 PST = 20:30Z. Untouched at as_of 13:00
    # PST: breached; business 08:30 -> 13:00 = 4:30. (On ny-sales the clock would start 11:30 EST
    # and, lunch excluded, end 16:30 EST = 21:30Z: still running at as_of.)
    pytest.param(
        NA,
        "L-1012",
        "speed",
        1,
        {
            "state": "breached",
            "team": "sf-inbound",
            "owner": "carla",
            "deadline_at": "2026-11-20T20:30:00Z",
            "breached_at": "2026-11-20T20:30:00Z",
            "first_touch_at": None,
            "business_seconds": 4 * H + 30 * M,
            "target_seconds": 4 * H,
        },
        id="L-1012-pacific-calendar-breach",
    ),
    # L-1012 depth: 10 business days on sf-sales from Fri 20 Nov 08:30 PST, Saturdays staffed,
    # Thanksgiving and the day after closed: Sat 21, Mon 23, 24, 25, Sat 28, Mon 30, Dec 1, 2, 3,
    # Fri 4 Dec -> 08:30 PST = 16:30Z. Target: Fri 8:30 + Sat 4 + Mon-Wed 27 + Sat 4 + Mon-Thu 36
    # + Fri 0:30 = 80 h.
    pytest.param(
        NA,
        "L-1012",
        "depth",
        1,
        {
            "state": "running",
            "deadline_at": "2026-12-04T16:30:00Z",
            "target_seconds": 80 * H,
        },
        id="L-1012-pacific-saturdays-and-day-after-thanksgiving",
    ),
    # L-2001 (dev, emea-inbound -> london): rating Hot -> tier A, 1 business hour; the clock starts
    # at the assignment Thu 19 Nov 10:10 GMT (the MQL was 10:00) -> deadline 11:10Z; outbound call
    # 10:45 -> 35 min, met.
    pytest.param(
        EMEA,
        "L-2001",
        "speed",
        1,
        {
            "state": "met",
            "tier": "A",
            "owner": "dev",
            "started_at": "2026-11-19T10:10:00Z",
            "deadline_at": "2026-11-19T11:10:00Z",
            "first_touch_at": "2026-11-19T10:45:00Z",
            "business_seconds": 35 * M,
        },
        id="L-2001-london-assignment-start",
    ),
    # L-2001 acceptance: Working - Contacted at 11:30 -> 1:20 after 10:10, met. 3 business days
    # from Thu 10:10: Fri, Mon, Tue -> Tue 24 Nov 10:10Z; target Thu 7:20 + Fri 7:30 + Mon 9:00 +
    # Tue 1:40 = 25:30.
    pytest.param(
        EMEA,
        "L-2001",
        "acceptance",
        1,
        {
            "state": "met",
            "stopped_at": "2026-11-19T11:30:00Z",
            "deadline_at": "2026-11-24T10:10:00Z",
            "business_seconds": 1 * H + 20 * M,
            "target_seconds": 25 * H + 30 * M,
        },
        id="L-2001-london-acceptance",
    ),
    # L-3001 under smarketing-na: tier A, 30 min. MQL Fri 20 Nov 15:00Z = 10:00 EST; call 10:20
    # EST -> 20 min, met.
    pytest.param(
        NA,
        "L-3001",
        "speed",
        1,
        {
            "state": "met",
            "tier": "A",
            "deadline_at": "2026-11-20T15:30:00Z",
            "business_seconds": 20 * M,
        },
        id="L-3001-regional-met",
    ),
    # L-3001 under enterprise-fast-lane: 6000 employees + phone -> E1, 15 business minutes on
    # ny-sales -> deadline 10:15 EST = 15:15Z; the 10:20 call is 5 min late: breached.
    # Warning at 75 % = 11:15 -> 15:11:15Z.
    pytest.param(
        FAST,
        "L-3001",
        "speed",
        1,
        {
            "state": "breached",
            "tier": "E1",
            "deadline_at": "2026-11-20T15:15:00Z",
            "breached_at": "2026-11-20T15:15:00Z",
            "first_touch_at": "2026-11-20T15:20:00Z",
            "business_seconds": 20 * M,
            "target_seconds": 15 * M,
            "late_seconds": 5 * M,
            "warning_at": "2026-11-20T15:11:15Z",
        },
        id="L-3001-fast-lane-breached",
    ),
    # Fast-lane depth: 8 attempts within 2 weeks of wall-clock time -> Fri 4 Dec 15:00Z; calendar
    # units count real seconds: 15:00Z -> 21:00Z = 6 h; target 14 x 24 h.
    pytest.param(
        FAST,
        "L-3001",
        "depth",
        1,
        {
            "state": "running",
            "deadline_at": "2026-12-04T15:00:00Z",
            "business_seconds": 6 * H,
            "target_seconds": 14 * 24 * H,
            "attempts": 1,
            "attempts_required": 8,
        },
        id="L-3001-fast-lane-depth-in-calendar-weeks",
    ),
]


@pytest.mark.parametrize(("agreement_id", "lead", "kind", "number", "expected"), CASES)
def test_example_scenario_cycle_matches_hand_computation(
    report: dict[str, Any],
    agreement_id: str,
    lead: str,
    kind: str,
    number: int,
    expected: dict[str, Any],
) -> None:
    got = cycle(report, agreement_id, lead, kind, number)
    assert {key: got[key] for key in expected} == expected


def test_each_agreement_covers_the_leads_its_scope_names(report: dict[str, Any]) -> None:
    assert [a["id"] for a in report["agreements"]] == list(AGREEMENTS)
    assert report["as_of"] == "2026-11-20T21:00:00Z"
    # smarketing-na: the NA teams, country not in [GB, ...]; L-1009 is folded into L-1008.
    assert agreement(report, NA)["leads"] == [
        "L-1001",
        "L-1002",
        "L-1003",
        "L-1004",
        "L-1005",
        "L-1006",
        "L-1007",
        "L-1008",
        "L-1010",
        "L-1011",
        "L-1012",
        "L-3001",
    ]
    assert agreement(report, EMEA)["leads"] == ["L-2001"]
    assert agreement(report, FAST)["leads"] == ["L-3001"]  # employees >= 1000
    # Periods in each reporting zone: November (NY), Q4 (London), ISO week 47 = Mon 16-Sun 22.
    assert [agreement(report, a)["period"] for a in AGREEMENTS] == [
        "2026-11",
        "2026-Q4",
        "2026-W47",
    ]


def test_merged_duplicate_gets_no_cycles_of_its_own(report: dict[str, Any]) -> None:
    leads = {c["lead"] for a in report["agreements"] for c in a["cycles"]}
    assert "L-1009" not in leads
    assert "L-1008" in leads


def test_automated_reply_is_not_the_first_touch_of_l1003(report: dict[str, Any]) -> None:
    # Depth counts only the rep's call, not the automated reply at 21:30:10Z.
    depth = cycle(report, NA, "L-1003", "depth")
    assert depth["attempts"] == 1
    assert depth["first_touch_at"] == "2026-11-19T16:45:00Z"


def test_marketing_goal_600_and_delivered_count(report: dict[str, Any]) -> None:
    marketing = agreement(report, NA)["marketing"]
    # ASP = trailing 3 months: $600,000 / 150 deals = $4,000; r = trailing 6 months: 60 / 1200 =
    # 0.05; L = 200,000 * 0.6 / (4,000 * 0.05) = 120,000 / 200 = 600; G_val = R * m = $120,000.
    assert marketing["goal_outcome"] == "published"
    assert marketing["leads_goal"] == 600
    assert marketing["value_goal"] == 120000
    # MQL'd in November (NY): 12 leads in scope, L-1007 once (its October entry is October's),
    # L-1008/L-1009 once.
    assert marketing["delivered"] == 12
    # Value: demo_request x4 (1001, 1008, 1011, 3001) = 4000; free_trial x3 (1005, 1006, 1010) =
    # 1080; default $40 x5 (1002 contact_sales, 1003/1007/1012 ebook, 1004 webinar) = 200.
    assert marketing["delivered_value"] == 5280
    # Business-day pacing on ny-sales: November has 21 weekdays minus Election Day, Veterans Day
    # and Thanksgiving = 18; completed by Fri 20 Nov 16:00 EST: 2-19 Nov = 14 weekdays minus 3 Nov
    # and 11 Nov = 12. Expected value 120,000 * 12 / 18 = 80,000; pace 5280 / 80000 = 0.066.
    assert marketing["expected_to_date"] == pytest.approx(80000)
    assert marketing["pace_index"] == pytest.approx(0.066)
    assert marketing["attainment"] == pytest.approx(5280 / 120000)
    assert marketing["gap"] == pytest.approx(120000 - 5280)


def test_emea_goal_with_self_sourced_leads_and_calendar_day_pacing(report: dict[str, Any]) -> None:
    marketing = agreement(report, EMEA)["marketing"]
    # 450,000 / (12,000 * 0.05) - 40 = 750 - 40 = 710; G_val = 450,000 - 40 * 600 = 426,000.
    assert marketing["leads_goal"] == 710
    assert marketing["value_goal"] == 426000
    assert marketing["delivered"] == 1
    # Q4 = 92 days; completed by Fri 20 Nov 21:00 GMT: October 31 + 1-19 Nov = 50.
    assert marketing["expected_to_date"] == pytest.approx(710 * 50 / 92)
    assert agreement(report, FAST)["marketing"] is None  # no volume commitment


def test_attainment_rows_and_consequences(report: dict[str, Any]) -> None:
    rows = {(r["scope"], r["id"]): r for r in agreement(report, NA)["attainment"]}
    total = rows[("agreement", NA)]
    # Speed cycles started in November: met 1001, 1003, 1007#2, 1008, 1010#2, 1011, 3001;
    # breached 1002, 1012 -> 7/9 (running 1004, paused 1006, cancelled 1005 and 1010#1 excluded).
    assert (total["speed"]["met"], total["speed"]["decided"]) == (7, 9)
    # Acceptance: met 1001, 1005; breached 1002, 1007#2, 1010#2 -> 2/5. Depth: 1001 only -> 1/1.
    assert (total["acceptance"]["met"], total["acceptance"]["decided"]) == (2, 5)
    assert (total["depth"]["met"], total["depth"]["decided"]) == (1, 1)
    # Minutes to first touch: 15, 20, 20, 25, 50, 60, 180, 195 -> median (25 + 50) / 2 = 37.5;
    # p90 at position 0.9 * 7 = 6.3: 180 + 0.3 * 15 = 184.5.
    assert total["median_first_touch_minutes"] == pytest.approx(37.5)
    assert total["p90_first_touch_minutes"] == pytest.approx(184.5)
    assert (
        rows[("team", "sf-inbound")]["speed"]["met"],
        rows[("team", "sf-inbound")]["speed"]["decided"],
    ) == (0, 1)
    # Speed 77.8 % is below 90 % but not 75 %: notify only. Marketing 4.4 % < 75 %: the most
    # severe marketing rule (escalate + carry) only.
    assert agreement(report, NA)["consequences"] == [
        "speed < 90 %: notify sales-na-head, marketing-head",
        "marketing < 75 %: escalate cmo; carry_shortfall 50 %",
    ]
    # Fast lane: speed 0/1 < 95 %.
    assert agreement(report, FAST)["consequences"] == [
        "speed < 95 %: notify enterprise-sales-head; escalate cro"
    ]


def test_breached_cycle_cut_by_a_recycle_is_not_reported_as_stopped_late(
    report: dict[str, Any],
) -> None:
    # L-1007 cycle 1: acceptance due Wed 7 Oct 10:00 EDT (14:00Z), no accept/reject ever; the lead
    # was recycled Tue 20 Oct 14:00Z. That is not a late decision (T31 is about a late touch or
    # decision), so there is nothing to be "late by".
    acceptance = cycle(report, NA, "L-1007", "acceptance", 1)
    assert acceptance["state"] == "breached"
    assert acceptance["breached_at"] == "2026-10-07T14:00:00Z"
    assert acceptance["late_seconds"] is None
    assert acceptance["cancel_reason"] == "recycled"  # what stopped the clock after the breach
    # A late touch, by contrast, is late by the time past the deadline (T31): L-1002 was touched
    # at 18:30Z against an 18:10Z deadline.
    assert cycle(report, NA, "L-1002", "speed", 1)["late_seconds"] == 20 * M


# --------------------------------------------------------------------------- options


def test_earlier_as_of_shows_l1002_still_running() -> None:
    # Tue 17 Nov 18:00Z = 13:00 EST: L-1002's clock ran 11:40-12:00 (20 min) and is at the
    # start of the afternoon window; deadline 13:10 EST = 18:10Z not reached, no touch yet.
    document = explain_json("--as-of", "2026-11-17T18:00:00Z")
    assert document["as_of"] == "2026-11-17T18:00:00Z"
    speed = cycle(document, NA, "L-1002", "speed")
    assert speed["state"] == "running"
    assert speed["deadline_at"] == "2026-11-17T18:10:00Z"
    assert speed["breached_at"] is None
    assert speed["first_touch_at"] is None
    assert speed["business_seconds"] == 20 * M
    # Leads that became MQLs after that instant have no cycle yet.
    leads = {c["lead"] for c in agreement(document, NA)["cycles"]}
    assert "L-1003" not in leads
    assert "L-1012" not in leads
    # Delivered so far in November: L-1001 (16th), L-1010 (17th 14:00Z), L-1002 (17th 16:40Z).
    # Value 1000 (demo) + 360 (free_trial) + 40 (default) = 1400; completed business days
    # 2-16 Nov = 11 weekdays minus 3 and 11 Nov = 9 of 18 -> expected 120,000 * 9 / 18 = 60,000.
    marketing = agreement(document, NA)["marketing"]
    assert marketing["delivered"] == 3
    assert marketing["delivered_value"] == 1400
    assert marketing["expected_to_date"] == pytest.approx(60000)


def test_agreement_option_limits_the_report() -> None:
    document = explain_json("--agreement", EMEA)
    assert [a["id"] for a in document["agreements"]] == [EMEA]


def test_unknown_agreement_exits_2_and_names_the_known_ones() -> None:
    result = run("--scenario", str(SCENARIO), "--agreement", "no-such-agreement")
    assert result.exit_code == 2
    assert "no-such-agreement" in result.stderr
    for known in AGREEMENTS:
        assert known in result.stderr
    assert result.stdout == ""


def test_text_output_lists_leads_and_the_attainment_table() -> None:
    result = run("--scenario", str(SCENARIO))
    assert result.exit_code == 0, result.output
    text = result.stdout
    for lead in (
        "L-1001",
        "L-1002",
        "L-1003",
        "L-1004",
        "L-1005",
        "L-1006",
        "L-1007",
        "L-1008",
        "L-1010",
        "L-1011",
        "L-1012",
        "L-2001",
        "L-3001",
    ):
        assert lead in text
    for agreement_id in AGREEMENTS:
        assert f"agreement {agreement_id}" in text
    assert "sales attainment 2026-11" in text
    assert "sales attainment 2026-Q4" in text
    assert "sales attainment 2026-W47" in text
    assert "goal 600 MQLs" in text
    assert "goal 710 MQLs" in text
    # L-1002's breach, shown in New York time.
    assert "breached at Tue 11-17 13:10" in text


def test_installed_console_script_produces_the_same_report(report: dict[str, Any]) -> None:
    executable = Path(sys.executable).with_name("sla-sync")
    assert executable.exists(), f"no sla-sync next to {sys.executable}"
    completed = subprocess.run(
        [
            str(executable),
            "sla",
            "explain",
            "--config",
            str(CONFIG),
            "--scenario",
            str(SCENARIO),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document == report
    assert cycle(document, NA, "L-1002", "speed")["state"] == "breached"


# --------------------------------------------------------------------------- errors


def test_broken_scenario_reports_every_problem_with_its_json_path(tmp_path: Path) -> None:
    scenario = {
        "as_of": "2026-11-20T21:00:00Z",
        "owners": [{"id": "ana", "name": "Ana", "team": "ny-inbound"}],
        "leads": [
            {
                "id": "L-1",
                "owner": "zed",
                "lifecycle": [
                    {"at": "2026-11-16T14:05:00Z", "stage": "marketingqualifiedlead"},
                    {"at": "2026-11-16T16:00:00", "stage": "lead"},
                ],
                "touches": [{"at": "2026-11-16T14:20:00Z", "kind": "smoke_signal"}],
            },
            {
                "id": "L-2",
                "owner": "ana",
                "merged_into": "L-404",
                "lifecycle": [{"at": "2026-11-16T14:05:00Z", "stage": "marketingqualifiedlead"}],
            },
        ],
    }
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    result = run("--scenario", str(path), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr
    assert str(path) in err
    expected = [
        "leads[0].lifecycle[1].at: '2026-11-16T16:00:00' has no time zone",
        "leads[0].owner: unknown owner 'zed'",
        "leads[0].touches[0].kind: 'smoke_signal' is not one of",
        "leads[1].merged_into: unknown lead 'L-404'",
    ]
    for fragment in expected:
        assert fragment in err


def test_invalid_config_exits_2_with_the_config_problems(tmp_path: Path) -> None:
    text = CONFIG.read_text(encoding="utf-8")
    broken = text.replace(
        'hours: {mon-fri: ["09:00-12:00", "13:00-17:00"]}', 'hours: {mon-fri: ["9-12"]}'
    )
    assert broken != text
    config = tmp_path / "broken.yaml"
    config.write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["sla", "explain", "--config", str(config), "--scenario", str(SCENARIO)]
    )
    assert result.exit_code == 2
    assert f"{config} is not valid" in result.stderr
    assert 'calendars.ny-sales.hours.mon-fri: "9-12" is not HH:MM-HH:MM' in result.stderr


def test_scenario_without_as_of_needs_the_option(tmp_path: Path) -> None:
    document = json.loads(SCENARIO.read_text(encoding="utf-8"))
    del document["as_of"]
    path = tmp_path / "no-as-of.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run("--scenario", str(path))
    assert result.exit_code == 2
    assert "has no as_of" in result.stderr
    assert "--as-of" in result.stderr
    # With the option it evaluates.
    ok = run("--scenario", str(path), "--json", "--as-of", "2026-11-20T21:00:00Z")
    assert ok.exit_code == 0, ok.output
