"""Benchmark of whole HubSpot cycles: API calls against the floor, wall time, the worker's peak RSS.

Run: ``/work/.venv/bin/python tests/bench/hubspot_cycle.py [--contacts 100000] [--engagements N]
[--changed N]`` (a script that prints figures, not a test: pytest collects ``test_*.py`` only).

Set-up. The HubSpot emulator runs in a child process (this script with ``--serve``), so the peak
RSS reported is the worker's own (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of this process).
The child seeds the emulator in-process from the generator (``--contacts`` leads, default
100,000), topping up each lead's activities with inbound e-mails until there are
``--engagements`` (default 3 per contact), sets its clock to the end of the seeded span
(Saturday evening in every team's zone: no business-time deadline passes while the benchmark
runs, so the cycles after the first change nothing by themselves), switches rate limits off (we
measure our own cost) and serves. The worker runs :func:`sla_sync.pipeline.run_cycle` with
``config/sandbox.yaml`` on SQLite in a temporary directory, connector rate limits off.

Phases (the emulator's request log, ``/__sandbox/requests``, gives calls per path):

a. **full sync** (``full=True``): wall time, records/s, API calls per endpoint next to the floor
   (records / page size of that endpoint), peak RSS;
b. **the cycle right after**, clock advanced past the safety lag: it reads back the worker's own
   writes; calls and writes (must write nothing);
c. **a no-change cycle**: calls per stream (target <= 1) and writes (0);
d. **write-back of changed contacts**: ``--changed`` (default 10,000) never-qualified contacts are
   made MQLs and given an owner through the API (marketing bulk-qualifies a list), so their SLA
   properties change; write calls next to ceil(changed / 100).

Targets: calls <= 1.05 x floor; no-change cycle <= 1 call per stream and no write; peak RSS
< 500 MB.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "sandbox.yaml"
CONNECTION = "sandbox-hubspot"
TOKEN_ENV = "SLA_SYNC_SANDBOX_TOKEN"
# Largest page / batch per call of each HubSpot endpoint family (the floor's denominators).
SEARCH_PAGE = 200
LIST_PAGE = 100
BATCH = 100
ASSOCIATION_BATCH = 1000
OWNERS_PAGE = 500
ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "tasks", "notes")
REQUEST_LOG_CAPACITY = 10_000


# --------------------------------------------------------------------------- the emulator child


def serve(contacts: int, engagements: int) -> None:
    """Child: seed a HubSpot emulator, print one JSON line (URL, token, counts), serve until
    stdin closes."""
    from sla_sync.sandbox.clock import SandboxClock
    from sla_sync.sandbox.hubspot import DEMO_TOKEN, create_app
    from sla_sync.sandbox.hubspot.seeding import load
    from sla_sync.sandbox.seed import SeedSpec
    from sla_sync.sandbox.server import ServerThread

    spec = SeedSpec(leads=contacts)
    clock = SandboxClock()
    clock.set(spec.end, frozen=False)
    app = create_app(clock=clock)
    emulator = app.state.emulator
    started = time.perf_counter()
    counts = load(emulator.portal.store, emulator.portal.now(), _top_up(spec, engagements))
    seed_seconds = time.perf_counter() - started
    store = emulator.portal.store
    live = {t: sum(1 for _ in store.buckets[t].live()) for t in ("contacts", *ENGAGEMENT_TYPES)}
    with ServerThread(app) as server:
        requests.post(f"{server.url}/__sandbox/ratelimits", json={"tier": "off"}, timeout=10)
        print(
            json.dumps(
                {
                    "url": server.url,
                    "token": DEMO_TOKEN,
                    "seeded": dict(counts),
                    "live": live,
                    "owners": len(store.owners),
                    "seed_seconds": round(seed_seconds, 1),
                    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            ),
            flush=True,
        )
        sys.stdin.read()  # the parent closes our stdin when it is done


def _top_up(spec: Any, engagements: int) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The generator's records plus inbound e-mails (a lead's reply: never a sales touch) on
    random leads until ``engagements`` activities in all, spread evenly over the leads."""
    from sla_sync.sandbox.seed import iter_seed

    natural = 2.41 * spec.leads  # the generator's activities per lead (seed.py docstring)
    extra_share = max(0.0, (engagements - natural) / max(spec.leads, 1))
    rng = random.Random(11)
    end = spec.end
    extra = 0
    for kind, record in iter_seed(spec):
        yield kind, record
        if kind != "lead" or rng.random() >= extra_share:
            continue
        created = datetime.fromisoformat(record["created_at"].replace("Z", "+00:00"))
        at = min(created + timedelta(hours=1), end - timedelta(minutes=1))
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        extra += 1
        yield (
            "touch",
            {
                "id": f"x{extra:07d}",
                "lead": record["id"],
                "kind": "email",
                "at": stamp,
                "created_at": stamp,
                "owner": None,
                "direction": "inbound",
                "automated": False,
                "subject": "Re: your e-mail",
            },
        )


# --------------------------------------------------------------------------- the worker


class Emulator:
    """The child process and its control API."""

    def __init__(self, contacts: int, engagements: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(contacts), str(engagements)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the emulator child did not start")
        self.info: dict[str, Any] = json.loads(line)
        self.url: str = self.info["url"]

    def now(self) -> datetime:
        body = requests.get(f"{self.url}/__sandbox/clock", timeout=10).json()
        return datetime.fromisoformat(body["now"].replace("Z", "+00:00")).astimezone(UTC)

    def advance(self, seconds: float) -> None:
        requests.post(
            f"{self.url}/__sandbox/clock", json={"advance_seconds": seconds}, timeout=10
        ).raise_for_status()

    def reset_counters(self) -> None:
        requests.delete(f"{self.url}/__sandbox/counters", timeout=10).raise_for_status()

    def calls(self) -> tuple[int, Counter[str]]:
        """Total calls since the last reset, and calls per "METHOD path" (ids folded)."""
        total = requests.get(f"{self.url}/__sandbox/counters", timeout=10).json()["total"]
        recent = requests.get(
            f"{self.url}/__sandbox/requests",
            params={"limit": REQUEST_LOG_CAPACITY},
            timeout=30,
        ).json()
        entries = recent["requests"]
        per_path: Counter[str] = Counter()
        for entry in entries[-total:] if total else []:
            per_path[f"{entry['method']} {_fold_ids(entry['path'])}"] += 1
        return total, per_path

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(timeout=30)


def _fold_ids(path: str) -> str:
    path = path.split("?", 1)[0]
    return "/".join("{id}" if part.isdigit() else part for part in path.split("/"))


@dataclasses.dataclass
class Phase:
    """One measured cycle: wall time, the worker's own CPU time (the emulator's is not in it),
    the emulator's call counts and the cycle's report."""

    name: str
    seconds: float
    cpu_seconds: float
    calls: int
    per_path: Counter[str]
    report: Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_phase(name: str, emulator: Emulator, cycle: Any) -> Phase:
    emulator.reset_counters()
    started, cpu = time.perf_counter(), _cpu()
    report = cycle()
    seconds, cpu_seconds = time.perf_counter() - started, _cpu() - cpu
    total, per_path = emulator.calls()
    return Phase(name, seconds, cpu_seconds, total, per_path, report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--engagements", type=int, default=None, help="default 3 x contacts")
    parser.add_argument(
        "--changed", type=int, default=None, help="default min(10,000, contacts / 10)"
    )
    parser.add_argument("--serve", nargs=2, type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(*args.serve)
        return
    engagements = args.engagements if args.engagements is not None else 3 * args.contacts
    changed = args.changed if args.changed is not None else min(10_000, args.contacts // 10)
    bench(args.contacts, engagements, changed)


def bench(contacts: int, engagements: int, changed: int) -> None:
    from sla_sync.definitions import HubSpotConnection, load_config
    from sla_sync.pipeline.connect import connector_for
    from sla_sync.pipeline.cycle import run_cycle
    from sla_sync.pipeline.sync import init_schemas
    from sla_sync.store.engine import create_engine
    from sla_sync.store.migrate import upgrade

    started = time.perf_counter()
    emulator = Emulator(contacts, engagements)
    info = emulator.info
    print(
        f"emulator (child process): seeded {info['seeded']} in {info['seed_seconds']} s, "
        f"live {info['live']}, child RSS {info['rss_mb']:.0f} MB; "
        f"{time.perf_counter() - started:.0f} s to start"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="sla-sync-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'sla-sync.db'}"
            upgrade(url)
            engine = create_engine(url)
            config = load_config(CONFIG)
            spec = config.connection(CONNECTION)
            assert isinstance(spec, HubSpotConnection)
            live = spec.model_copy(update={"base_url": emulator.url})
            config = dataclasses.replace(config, connections=(live,))
            environ = {TOKEN_ENV: info["token"]}
            (schema,) = init_schemas(config, [CONNECTION], environ=environ)
            assert schema.error is None, schema.error
            # What `sla-sync sync` opens, with the limiter off (we measure our own cost).
            connector = connector_for(
                engine, config, CONNECTION, now=emulator.now(), environ=environ, rate_limits=False
            )

            def cycle(full: bool) -> Any:
                return lambda: run_cycle(
                    engine, config, CONNECTION, connector, now=emulator.now, full=full
                )

            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            full = run_phase("a. full sync", emulator, cycle(True))
            rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            emulator.advance(SAFETY_ADVANCE_S)
            after = run_phase("b. cycle right after", emulator, cycle(False))
            emulator.advance(SAFETY_ADVANCE_S)
            idle = run_phase("c. no-change cycle", emulator, cycle(False))
            qualified = qualify(emulator, engine, changed)
            emulator.advance(SAFETY_ADVANCE_S)
            write = run_phase("d. write-back", emulator, cycle(False))
            rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            connector.close()
            engine.dispose()
    finally:
        emulator.close()
    print_report(info, full, after, idle, write, qualified, rss_before, rss_peak, rss_end)


# Between phases the sandbox clock moves past the connector's lookback (5 min) and safety lag
# (30 s), as a 6-minute schedule would, so the no-change cycle's window no longer overlaps the
# worker's own writes; the recycle-bin and association re-check streams (every 15 min / 1 h)
# then stay quiet in it, as they do in most cycles.
SAFETY_ADVANCE_S = 360.0


def qualify(emulator: Emulator, engine: Any, count: int) -> int:
    """Make ``count`` never-qualified, unowned contacts MQLs owned by an NA rep, through the API
    (not counted: counters are reset before the next phase). Returns how many were changed."""
    from sqlalchemy import text

    with engine.connect() as connection:
        ids = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT crm_id FROM leads WHERE deleted_at IS NULL AND merged_into IS NULL "
                    "AND stage IN ('lead', 'subscriber') AND owner_crm_id IS NULL "
                    "ORDER BY crm_id LIMIT :n"
                ),
                {"n": count},
            )
        ]
        owner = connection.execute(
            text("SELECT crm_id FROM owners WHERE team = 'ny-inbound' AND active ORDER BY crm_id")
        ).first()
    assert owner is not None, "no ny-inbound owner in the store"
    headers = {"Authorization": f"Bearer {emulator.info['token']}"}
    for start in range(0, len(ids), BATCH):
        inputs = [
            {
                "id": crm_id,
                "properties": {
                    "lifecyclestage": "marketingqualifiedlead",
                    "hubspot_owner_id": owner[0],
                },
            }
            for crm_id in ids[start : start + BATCH]
        ]
        requests.post(
            f"{emulator.url}/crm/v3/objects/contacts/batch/update",
            json={"inputs": inputs},
            headers=headers,
            timeout=60,
        ).raise_for_status()
    return len(ids)


# --------------------------------------------------------------------------- report


def floors(info: Mapping[str, Any], written: int) -> dict[str, int]:
    """The least calls per endpoint for reading every record once and writing ``written``
    contacts: records / largest page of that endpoint, and one call for what a run must ask
    once (owners active and archived, the lifecycle stages, each type's recycle bin)."""
    live = info["live"]
    out = {
        "GET /crm/v3/owners/": 2,
        "GET /crm/v3/properties/contacts/lifecyclestage": 1,
        "POST /crm/v3/objects/contacts/search": math.ceil(live["contacts"] / SEARCH_PAGE),
        "POST /crm/v3/objects/contacts/batch/read": math.ceil(live["contacts"] / BATCH),
        "POST /crm/v3/objects/contacts/batch/update": math.ceil(written / BATCH),
        # The recycle bin: contacts the seed archived (merged-away ones are not listed).
        "GET /crm/v3/objects/contacts": max(1, math.ceil(info["seeded"]["archived"] / LIST_PAGE)),
    }
    for t in ENGAGEMENT_TYPES:
        out[f"POST /crm/v3/objects/{t}/search"] = math.ceil(live[t] / SEARCH_PAGE)
        out[f"POST /crm/v4/associations/{t}/contacts/batch/read"] = math.ceil(
            live[t] / ASSOCIATION_BATCH
        )
        out[f"GET /crm/v3/objects/{t}"] = 1
    return out


def stream_of(endpoint: str) -> str:
    """The pull stream (or the push) an endpoint's calls belong to."""
    method, path = endpoint.split(" ", 1)
    parts = path.strip("/").split("/")
    if "owners" in parts:
        return "owners"
    if "properties" in parts or path.endswith("/contacts/batch/read"):
        return "contacts"
    if path.endswith("/batch/update"):
        return "push"
    if "associations" in parts:
        return f"{parts[3]} (associations)"
    if method == "GET":
        return "archived"
    return parts[3]


def _written(report: Any) -> int:
    return int(report.push.confirmed)


def print_report(
    info: Mapping[str, Any],
    full: Phase,
    after: Phase,
    idle: Phase,
    write: Phase,
    qualified: int,
    rss_before: float,
    rss_peak: float,
    rss_end: float,
) -> None:
    live = info["live"]
    records = live["contacts"] + sum(live[t] for t in ENGAGEMENT_TYPES)
    written = _written(full.report)
    floor = floors(info, written)
    print()
    print(
        f"a. full sync: {full.seconds:.1f} s wall, {records / full.seconds:,.0f} records/s "
        f"({records:,} records); worker CPU {full.cpu_seconds:.1f} s = "
        f"{records / max(full.cpu_seconds, 1e-9):,.0f} records per worker CPU second; "
        f"{full.calls} calls, {written} contacts written, outcome {full.report.outcome.value}; "
        f"worker peak RSS {rss_peak:.0f} MB (before the sync {rss_before:.0f} MB)"
    )
    print(f"   {'endpoint':<58} {'calls':>7} {'floor':>7} {'ratio':>6}")
    if full.calls > REQUEST_LOG_CAPACITY:
        print("   (more calls than the request log keeps: per-endpoint counts are partial)")
    for path in sorted(set(full.per_path) | set(floor)):
        calls, least = full.per_path.get(path, 0), floor.get(path)
        ratio = f"{calls / least:.2f}" if least else "-"
        shown = "-" if least is None else str(least)
        print(f"   {path:<58} {calls:>7} {shown:>7} {ratio:>6}")
    total_floor = sum(floor.values())
    print(
        f"   {'total':<58} {full.calls:>7} {total_floor:>7} "
        f"{full.calls / max(total_floor, 1):>6.2f}   target <= 1.05"
    )
    for phase in (after, idle):
        print(
            f"{phase.name}: {phase.seconds:.1f} s (worker CPU {phase.cpu_seconds:.1f} s), "
            f"{phase.calls} calls, "
            f"{_written(phase.report)} contacts written (target 0), "
            f"{phase.report.pull.changed_leads} leads changed"
        )
        per_stream: Counter[str] = Counter()
        for path, calls in phase.per_path.items():
            per_stream[stream_of(path)] += calls
        print(
            "   calls per stream: "
            + ", ".join(f"{stream} {calls}" for stream, calls in sorted(per_stream.items()))
            + " (target <= 1 each)"
        )
        print(
            "   pages per stream (pipeline): "
            + ", ".join(f"{k} {v}" for k, v in sorted(phase.report.pull.pages.items()))
        )
        for path, calls in sorted(phase.per_path.items()):
            print(f"   {path:<58} {calls:>7}")
    writes = write.per_path.get("POST /crm/v3/objects/contacts/batch/update", 0)
    print(
        f"{write.name}: {qualified} contacts qualified in the CRM; {write.seconds:.1f} s "
        f"(worker CPU {write.cpu_seconds:.1f} s), "
        f"{write.calls} calls, {_written(write.report)} contacts written in {writes} write calls "
        f"(floor ceil({qualified}/100) = {math.ceil(qualified / BATCH)})"
    )
    for path, calls in sorted(write.per_path.items()):
        print(f"   {path:<58} {calls:>7}")
    print(f"worker peak RSS at the end: {rss_end:.0f} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
