"""The seed generator: SEED_FORMAT.md conformance, determinism, referential integrity, the
documented distributions, flat memory, and the ``sandbox seed`` CLI."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tracemalloc
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from sla_sync.cli import main
from sla_sync.sandbox.seed import SeedSpec, iter_jsonl, iter_seed, span_ending

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
STAGES = {
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
    "customer", "other", None,
}  # fmt: skip
STATUSES = {
    "NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "OPEN_DEAL",
    "UNQUALIFIED", "BAD_TIMING", None,
}  # fmt: skip
OWNER_KEYS = {"id", "first_name", "last_name", "email", "team", "timezone", "manager_id", "active"}
LEAD_KEYS = {
    "id", "created_at", "first_name", "last_name", "email", "company", "phone", "country",
    "employees", "source", "score", "rating", "owner_history", "stage_history",
    "status_history", "merged_into", "merged_at", "deleted_at",
}  # fmt: skip
TOUCH_KEYS = {
    "id", "lead", "kind", "at", "created_at", "owner", "direction", "automated", "subject",
}  # fmt: skip
HOUR = 3600


def _iso(value: object) -> bool:
    return isinstance(value, str) and ISO.match(value) is not None


def _t(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def validate(records: list[tuple[str, dict[str, Any]]], spec: SeedSpec) -> None:
    """Every record against SEED_FORMAT.md, plus order and referential integrity."""
    end = spec.end.timestamp()
    owners: dict[str, dict[str, Any]] = {}
    leads: set[str] = set()
    touch_ids: set[str] = set()
    current_lead: dict[str, Any] | None = None
    phase = "owner"
    for kind, rec in records:
        assert kind in ("owner", "lead", "touch")
        if kind == "owner":
            assert phase == "owner", "owners come first"
            assert set(rec) == OWNER_KEYS
            assert rec["id"] not in owners
            assert all(isinstance(rec[k], str) for k in ("first_name", "last_name", "email"))
            assert rec["manager_id"] is None or rec["manager_id"] in owners
            assert isinstance(rec["active"], bool)
            owners[rec["id"]] = rec
            continue
        phase = "leads"
        if kind == "lead":
            assert set(rec) == LEAD_KEYS
            assert re.fullmatch(r"l\d{6,}", rec["id"]) and rec["id"] not in leads
            assert _iso(rec["created_at"]) and _t(rec["created_at"]) < end
            assert rec["phone"] is None or isinstance(rec["phone"], str)
            assert re.fullmatch(r"[A-Z]{2}", rec["country"])
            assert isinstance(rec["employees"], int) and rec["employees"] >= 1
            assert isinstance(rec["score"], int) and 0 <= rec["score"] <= 100
            assert rec["rating"] in ("Hot", "Warm", "Cold")
            for key, field, allowed in (
                ("owner_history", "owner", None),
                ("stage_history", "stage", STAGES),
                ("status_history", "status", STATUSES),
            ):
                history = rec[key]
                assert history, key
                assert history[0]["at"] == rec["created_at"]
                times = [_t(entry["at"]) for entry in history]
                assert times == sorted(times), f"{key} out of order"
                assert all(set(e) == {"at", field} and _iso(e["at"]) for e in history)
                for entry in history:
                    value = entry[field]
                    assert value in allowed if allowed else value is None or value in owners
            limit = end
            if rec["merged_into"] is not None:
                assert rec["merged_into"] in leads, "merge target is an earlier lead"
                assert _iso(rec["merged_at"]) and _t(rec["merged_at"]) >= _t(rec["created_at"])
                limit = _t(rec["merged_at"])
            else:
                assert rec["merged_at"] is None
            if rec["deleted_at"] is not None:
                assert _iso(rec["deleted_at"])
                limit = min(limit, _t(rec["deleted_at"]))
            leads.add(rec["id"])
            current_lead = dict(rec, _limit=limit)
            continue
        assert current_lead is not None and rec["lead"] == current_lead["id"]
        assert set(rec) == TOUCH_KEYS and rec["id"] not in touch_ids
        touch_ids.add(rec["id"])
        assert rec["kind"] in ("call", "email", "meeting", "task", "note")
        assert rec["direction"] in ("outbound", "inbound")
        assert isinstance(rec["automated"], bool) and isinstance(rec["subject"], str)
        assert (rec["owner"] is None) == rec["automated"]
        assert rec["owner"] is None or rec["owner"] in owners
        for key in ("at", "created_at"):
            assert _iso(rec[key])
            assert _t(current_lead["created_at"]) <= _t(rec[key]) <= current_lead["_limit"]


def _records(spec: SeedSpec) -> list[tuple[str, dict[str, Any]]]:
    return list(iter_seed(spec))


@pytest.fixture(scope="module")
def sample() -> list[tuple[str, dict[str, Any]]]:
    return _records(SeedSpec(leads=2000))


def test_format_and_integrity(sample: list[tuple[str, dict[str, Any]]]) -> None:
    validate(sample, SeedSpec(leads=2000))


@pytest.mark.parametrize(
    "spec",
    [
        SeedSpec(leads=300, seed=1, months=1, owners=4),
        SeedSpec(leads=300, seed=3, start=datetime(2027, 3, 5, 12, tzinfo=UTC), months=12),
        SeedSpec(leads=200, owners=3, teams=("emea-inbound", "ny-inbound")),
        SeedSpec(leads=0),
    ],
)
def test_other_specs_are_valid(spec: SeedSpec) -> None:
    validate(_records(spec), spec)


def test_deterministic() -> None:
    spec = SeedSpec(leads=400)
    assert list(iter_jsonl(spec)) == list(iter_jsonl(SeedSpec(leads=400)))
    assert _records(spec) != _records(SeedSpec(leads=400, seed=8))


def test_lead_does_not_depend_on_count_before_it() -> None:
    """Per-lead randomness: lead 5's draws are the same whatever the total, except for its
    arrival quantile, so identities and firmographics match."""
    small = [r for k, r in iter_seed(SeedSpec(leads=10)) if k == "lead"][4]
    large = [r for k, r in iter_seed(SeedSpec(leads=20)) if k == "lead"][4]
    assert small["id"] == large["id"] == "l000005"
    assert small["email"] == large["email"]


def test_spec_validation_and_payload_round_trip() -> None:
    spec = SeedSpec(leads=5, seed=2, start=datetime(2026, 1, 31, tzinfo=UTC), months=1)
    assert SeedSpec.from_payload(spec.to_payload()) == spec
    assert SeedSpec.from_payload({"leads": 3, "start": "2026-09-01T00:00:00Z"}).months == 3
    # The emulators build SeedSpec(**json_body) directly: strings and lists are normalised.
    assert SeedSpec(**spec.to_payload()) == spec
    for bad in (
        {"leads": -1},
        {"leads": 1, "months": 0},
        {"leads": 1, "teams": ["mars"]},
        {"leads": 1, "owners": 2},
        {"leads": 1, "start": "yesterday"},
        {"leads": 1, "colour": "red"},
        {"seed": 1},
    ):
        with pytest.raises(ValueError):
            SeedSpec.from_payload(bad)
    with pytest.raises(ValueError):
        SeedSpec(leads=1, start=datetime(2026, 1, 1))  # noqa: DTZ001 (naive on purpose)


def _manual_attempt(touch: dict[str, Any]) -> bool:
    return (
        not touch["automated"]
        and touch["direction"] == "outbound"
        and touch["kind"] in ("call", "email")
    )


def _first_response_classes(records: list[tuple[str, dict[str, Any]]]) -> Counter[str]:
    """First MQL cycle of surviving leads MQL'd in their owner's business hours (Mon-Fri 09-16
    local, leaving an hour's margin) at least 14 days before the end: delay from the MQL to the
    first manual outbound call or e-mail, bucketed."""
    end = SeedSpec(leads=1).end.timestamp()
    zones: dict[str, ZoneInfo] = {}
    leads: dict[str, dict[str, Any]] = {}
    first_touch: dict[str, float] = {}
    for kind, rec in records:
        if kind == "owner":
            zones[rec["id"]] = ZoneInfo(rec["timezone"])
        elif kind == "lead":
            leads[rec["id"]] = rec
        elif kind == "touch" and _manual_attempt(rec):
            first_touch.setdefault(rec["lead"], _t(rec["at"]))
    buckets: Counter[str] = Counter()
    for lid, lead in leads.items():
        mqls = [
            _t(e["at"]) for e in lead["stage_history"] if e["stage"] == "marketingqualifiedlead"
        ]
        owners = [e["owner"] for e in lead["owner_history"] if e["owner"] is not None]
        if not mqls or lead["merged_into"] or lead["deleted_at"] or mqls[0] > end - 14 * 86400:
            continue
        local = datetime.fromtimestamp(mqls[0], UTC).astimezone(zones[owners[0]])
        if local.weekday() >= 5 or not 9 <= local.hour < 16:
            continue
        touched = first_touch.get(lid)
        if touched is None:
            buckets["never"] += 1
        else:
            buckets["1h" if touched - mqls[0] <= HOUR else "late"] += 1
    return buckets


def test_distributions_as_documented(sample: list[tuple[str, dict[str, Any]]]) -> None:
    leads = [r for k, r in sample if k == "lead"]
    n = len(leads)
    classes = _first_response_classes(sample)
    cycles = sum(classes.values())
    # Documented for MQLs in business hours: 37 % within an hour, 40 % later, 23 % never.
    assert 0.28 <= classes["1h"] / cycles <= 0.46, classes
    assert 0.30 <= classes["late"] / cycles <= 0.50, classes
    assert 0.15 <= classes["never"] / cycles <= 0.31, classes
    merged = sum(1 for r in leads if r["merged_into"]) / n
    deleted = sum(1 for r in leads if r["deleted_at"]) / n
    assert 0.015 <= merged <= 0.04
    assert 0.008 <= deleted <= 0.03
    re_mql = sum(
        1
        for r in leads
        if sum(e["stage"] == "marketingqualifiedlead" for e in r["stage_history"]) > 1
    )
    assert 0.01 <= re_mql / n <= 0.12
    reassigned = sum(
        1 for r in leads if sum(e["owner"] is not None for e in r["owner_history"]) > 1
    )
    assert 0.03 <= reassigned / n <= 0.30
    stages = Counter(r["stage_history"][-1]["stage"] for r in leads)
    assert stages["customer"] > 0 and stages["other"] > 0 and stages["opportunity"] > 0
    statuses = Counter(e["status"] for r in leads for e in r["status_history"])
    assert statuses["BAD_TIMING"] > 0 and statuses["UNQUALIFIED"] > 0
    kinds = Counter((r["kind"], r["direction"], r["automated"]) for k, r in sample if k == "touch")
    for expected in (
        ("email", "outbound", True),
        ("email", "inbound", False),
        ("note", "outbound", False),
        ("task", "outbound", False),
        ("meeting", "outbound", False),
        ("call", "outbound", False),
    ):
        assert kinds[expected] > 0, expected
    # Arrivals follow business rhythm: weekdays carry far more than weekends.
    weekday = Counter(datetime.fromisoformat(r["created_at"][:-1]).weekday() for r in leads)
    assert sum(weekday[d] for d in range(5)) / 5 > 2 * sum(weekday[d] for d in (5, 6)) / 2
    teams = Counter(r["team"] for k, r in sample if k == "owner")
    assert set(teams) == {"ny-inbound", "sf-inbound", "emea-inbound", "enterprise-na"}


def _traced_peak(leads: int) -> int:
    tracemalloc.start()
    try:
        for _ in iter_seed(SeedSpec(leads=leads)):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat() -> None:
    """Peak traced memory does not grow with the lead count (tracemalloc slows generation ~10x,
    hence the small counts), and a fresh interpreter generating 50,000 leads peaks within a few
    MB of one generating none."""
    small, large = _traced_peak(300), _traced_peak(3000)
    assert large < 2 * 1024 * 1024, f"peak {large / 1e6:.2f} MB"
    assert large - small < 256 * 1024, f"peak grew from {small} to {large} bytes"
    script = (
        "import resource, sys\n"
        "from sla_sync.sandbox.seed import SeedSpec, iter_seed\n"
        "for _ in iter_seed(SeedSpec(leads=int(sys.argv[1]))): pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    rss = {
        n: int(
            subprocess.run(
                [sys.executable, "-c", script, str(n)], check=True, capture_output=True, text=True
            ).stdout
        )
        for n in (0, 50_000)
    }
    assert rss[50_000] - rss[0] < 8 * 1024, f"RSS kB {rss}"


def test_cli_seed_writes_json_lines() -> None:
    result = CliRunner().invoke(main, ["sandbox", "seed", "--size", "50", "--out", "-"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    records = [(line["kind"], line["record"]) for line in lines]
    assert sum(kind == "lead" for kind, _ in records) == 50
    validate(records, SeedSpec(leads=50))
    assert result.output == "".join(iter_jsonl(SeedSpec(leads=50)))


def _emulators_exist() -> bool:
    return all(
        importlib.util.find_spec(f"sla_sync.sandbox.{name}.emulator") is not None
        for name in ("hubspot", "salesforce")
    )


@pytest.mark.skipif(not _emulators_exist(), reason="both emulators are not written yet")
def test_sandbox_serves_both_on_one_clock() -> None:
    import ssl

    from sla_sync.sandbox.runner import Sandbox

    with Sandbox(seed=SeedSpec(leads=20)) as box:
        assert box.hubspot_url.startswith("http://")
        assert box.salesforce_url.startswith("https://")
        with urllib.request.urlopen(f"{box.hubspot_url}/__sandbox/clock") as response:
            hubspot = json.load(response)
        context = ssl.create_default_context(cafile=str(box.ca_path))
        with urllib.request.urlopen(
            f"{box.salesforce_url}/__sandbox/clock", context=context
        ) as response:
            salesforce = json.load(response)
        assert set(hubspot) == set(salesforce) == {"now", "frozen"}
        assert box.hubspot_token == "pat-sandbox-demo"
        box.clock.set(datetime(2030, 1, 1, tzinfo=UTC), frozen=True)
        with urllib.request.urlopen(f"{box.hubspot_url}/__sandbox/clock") as response:
            assert json.load(response)["now"].startswith("2030-01-01T00:00:00")


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        ("2026-11-23T17:00:00Z", "2026-08-23T17:00:00Z", "2026-11-23T17:00:00Z"),
        ("2026-01-15T09:30:00Z", "2025-10-15T09:30:00Z", "2026-01-15T09:30:00Z"),
        # 28 February has no 31st before it: the span starts on the month's last day and ends
        # a few days before now, never after it.
        ("2026-05-31T00:00:00Z", "2026-02-28T00:00:00Z", "2026-05-28T00:00:00Z"),
    ],
)
def test_a_span_ending_now_starts_months_earlier(now: str, start: str, end: str) -> None:
    at = datetime.fromisoformat(now)
    first = span_ending(3, now=at)
    assert first == datetime.fromisoformat(start)
    assert SeedSpec(leads=1, start=first, months=3).end == datetime.fromisoformat(end) <= at
