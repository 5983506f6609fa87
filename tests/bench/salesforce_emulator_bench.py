# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Benchmark of the Salesforce emulator over HTTPS, with plain ``requests`` and the real client.

Run: ``/work/.venv/bin/python tests/bench/salesforce_emulator_bench.py [LEADS]`` (a script, not a
test). Seeds LEADS leads (default 20,000; the seed generator if present, else JSON), then reports
requests per second, each measured twice: ``plain`` (``requests`` over the same TLS connection, the
body read as bytes, no client-side parsing: what the emulator costs) and ``client``
(``simple-salesforce`` 1.12, which parses pages into ``OrderedDict`` s):

- a follow-up 2,000-lead page through ``nextRecordsUrl`` (``query_more``);
- the first 2,000-lead page of an incremental SOQL query (filter + sort + render; repeated, so
  the compiled query and its row list are cached as long as no write happens);
- a full pass over every page of the query right after a write (the emulator filters and sorts
  again; with ``nothing pre-rendered`` it also renders every record from scratch, as for a sync
  of data nobody has read yet);
- a single-record ``Lead`` PATCH and a ``composite/sobjects`` PATCH of 200 leads.

``--seed-only N``: seed N leads from the generator in this (fresh) process, print the time and
the peak RSS (``ru_maxrss``), and exit.

Salesforce itself answers a 2,000-row REST page in roughly 0.3-2 s, i.e. at most a few pages per
second per client; the emulator must stay at least 10x above that so it never is the bottleneck.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from simple_salesforce import Salesforce

from sla_sync.sandbox.salesforce import create_app
from sla_sync.sandbox.server import ServerThread
from sla_sync.sandbox.tls import make_tls

QUERY = (
    "SELECT Id, FirstName, LastName, Email, Company, Status, Rating, LeadSource, OwnerId, Owner.Name, "
    "CreatedDate, SystemModstamp, IsDeleted FROM Lead WHERE SystemModstamp >= 2020-01-01T00:00:00Z "
    "ORDER BY SystemModstamp ASC"
)
API = "/services/data/v59.0"
# The SELECT list of QUERY minus one field each: 13 different column lists, more than the emulator
# keeps pre-rendered, so going round them measures rendering from scratch.
_FIELDS = QUERY[len("SELECT ") : QUERY.index(" FROM ")].split(", ")
COLD_QUERIES = [
    "SELECT " + ", ".join(f for f in _FIELDS if f != drop) + QUERY[QUERY.index(" FROM ") :]
    for drop in _FIELDS
    if drop != "Id"
]


def rate(label: str, fn: Callable[[], Any], seconds: float = 3.0, per: int = 1) -> None:
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    elapsed = time.perf_counter() - start
    print(
        f"{label:<58} {count * per / elapsed:8.1f} /s  ({elapsed / count / per * 1000:.1f} ms each)",
        flush=True,
    )


def next_records_url(page: bytes) -> str | None:
    """``nextRecordsUrl`` of a page without parsing it (it precedes ``records``)."""
    head = json.loads(page[: page.index(b',"records":')] + b"}")
    return head.get("nextRecordsUrl")


def json_seed(leads: int) -> dict[str, Any]:
    owners = [
        {
            "id": f"o{i:03d}",
            "first_name": "Rep",
            "last_name": f"N{i}",
            "email": f"rep{i}@example.com",
            "team": "t",
            "timezone": "UTC",
            "manager_id": None,
            "active": True,
        }
        for i in range(20)
    ]
    rows = []
    for i in range(leads):
        at = f"2026-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
        rows.append(
            {
                "id": f"l{i:07d}",
                "created_at": at,
                "first_name": "F",
                "last_name": f"L{i}",
                "email": f"l{i}@x.test",
                "company": "Acme",
                "phone": None,
                "country": "US",
                "employees": 10,
                "source": "webinar",
                "score": 1,
                "rating": "Warm",
                "owner_history": [{"at": at, "owner": f"o{i % 20:03d}"}],
                "stage_history": [{"at": at, "stage": "marketingqualifiedlead"}],
                "status_history": [],
                "merged_into": None,
                "merged_at": None,
                "deleted_at": None,
            }
        )
    return {"owners": owners, "leads": rows, "touches": []}


def seed_only(leads: int) -> None:
    """Seed ``leads`` from the generator in-process; print time and peak RSS."""
    from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator

    emulator = SalesforceEmulator()
    start = time.perf_counter()
    counts = emulator.seed({"generator": {"leads": leads, "seed": 7}})
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"seeded {dict(counts)}")
    print(f"seed {leads:,} leads: {elapsed:.1f} s, peak RSS {peak_kib / 1024:.0f} MiB")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--seed-only"]:
        seed_only(int(args[1]))
        return
    leads = int(args[0]) if args else 20_000
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    os.environ.pop("CURL_CA_BUNDLE", None)
    tls = make_tls(Path(tempfile.mkdtemp(prefix="sf-bench-")))
    server = ServerThread(create_app(), tls=tls).start()
    control = f"{server.url}/__sandbox"
    ca = str(tls.ca_path)
    try:
        start = time.perf_counter()
        body: dict[str, Any]
        try:
            import sla_sync.sandbox.seed  # noqa: F401 - only to learn whether the generator exists

            body = {"generator": {"leads": leads, "seed": 7}}
        except ImportError:
            body = json_seed(leads)
        seeded = requests.post(f"{control}/seed", json=body, verify=ca, timeout=3600)
        seeded.raise_for_status()
        print(f"seeded {seeded.json()['seeded']} in {time.perf_counter() - start:.1f} s")
        demo = requests.get(f"{control}/salesforce/demo", verify=ca, timeout=30).json()
        session = requests.Session()
        session.verify = ca
        token = requests.post(
            f"{server.url}/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": demo["consumer_key"],
                "client_secret": demo["consumer_secret"],
                "username": demo["username"],
                "password": demo["password"],
            },
            verify=ca,
            timeout=30,
        ).json()["access_token"]
        sf = Salesforce(instance_url=server.url, session_id=token, session=session)
        plain = requests.Session()
        plain.verify = ca
        plain.headers.update({"Authorization": f"Bearer {token}", "Sforce-Auto-Assign": "FALSE"})
        base = f"{server.url}{API}"
        query_url = f"{base}/query/?q={quote(QUERY)}"
        requests.post(
            f"{control}/salesforce/limits", json={"daily_max": 100_000_000}, verify=ca, timeout=30
        )

        def get(url: str) -> bytes:
            response = plain.get(url, timeout=60)
            response.raise_for_status()
            return response.content

        first = sf.query(QUERY)
        print(f"query totalSize={first['totalSize']} page={len(first['records'])}")
        lead_ids = [r["Id"] for r in first["records"][:200]]
        # Locators are capped at 10 open per user (as on Salesforce): reuse the one we hold.
        next_url = first["nextRecordsUrl"]
        rate("next page of 2,000 (nextRecordsUrl), plain", lambda: get(server.url + next_url))
        rate(
            "next page of 2,000 (nextRecordsUrl), client",
            lambda: sf.query_more(next_url, identifier_is_url=True),
        )
        rate("first page of 2,000 (filter+sort+render), plain", lambda: get(query_url))
        rate("first page of 2,000 (filter+sort+render), client", lambda: sf.query(QUERY))

        def patch_one() -> None:
            plain.patch(
                f"{base}/sobjects/Lead/{lead_ids[0]}", json={"Rating": "Hot"}, timeout=60
            ).raise_for_status()

        cold = iter(range(1 << 30))

        def full_pass(client: bool, rendered: bool = True) -> int:
            """A write, then every page of the query; returns the page count. The write makes the
            emulator filter and sort again; with ``rendered`` False the pages are rendered from
            scratch too (a SELECT list it has not rendered lately)."""
            patch_one()
            text = QUERY if rendered else COLD_QUERIES[next(cold) % len(COLD_QUERIES)]
            pages = 1
            if client:
                body = sf.query(text)
                while (nxt := body.get("nextRecordsUrl")) is not None:
                    body = sf.query_more(nxt, identifier_is_url=True)
                    pages += 1
                return pages
            raw = get(f"{base}/query/?q={quote(text)}")
            while (nxt := next_records_url(raw)) is not None:
                raw = get(server.url + nxt)
                pages += 1
            return pages

        pages = full_pass(False)
        rate(
            f"sync pass, nothing pre-rendered ({pages} pages), plain, pages",
            lambda: full_pass(False, rendered=False),
            per=pages,
        )
        rate(
            f"sync pass, nothing pre-rendered ({pages} pages), client, pages",
            lambda: full_pass(True, rendered=False),
            per=pages,
        )
        rate(
            f"sync pass after a write ({pages} pages), plain, pages",
            lambda: full_pass(False),
            per=pages,
        )
        rate(
            f"sync pass after a write ({pages} pages), client, pages",
            lambda: full_pass(True),
            per=pages,
        )
        rate("Lead PATCH (single update), plain", patch_one)
        rate(
            "Lead PATCH (single update), client",
            lambda: sf.Lead.update(
                lead_ids[0], {"Rating": "Hot"}, headers={"Sforce-Auto-Assign": "FALSE"}
            ),
        )
        collection = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Lead"}, "id": i, "Rating": "Warm"} for i in lead_ids
            ],
        }

        def composite_plain() -> None:
            response = plain.patch(f"{base}/composite/sobjects", json=collection, timeout=60)
            response.raise_for_status()
            assert all(r["success"] for r in response.json())

        rate("composite/sobjects PATCH of 200, plain", composite_plain)
        rate(
            "composite/sobjects PATCH of 200, client",
            lambda: sf.restful(
                "composite/sobjects",
                method="PATCH",
                json=collection,
                headers={"Sforce-Auto-Assign": "FALSE"},
            ),
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
