# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Benchmark of the Salesforce emulator through the real simple-salesforce client over HTTPS.

Run: ``/work/.venv/bin/python tests/bench/salesforce_emulator_bench.py [LEADS]`` (a script, not a
test). Seeds LEADS leads (default 20,000; the seed generator if present, else JSON), then reports
requests per second for: the first 2,000-lead page of an incremental SOQL query
(``sf.query``: filter + sort + render), a follow-up page through ``nextRecordsUrl``
(``query_more``: render only), a single-record ``Lead.update``, and seeding time.

Salesforce itself answers a 2,000-row REST page in roughly 0.3-2 s, i.e. at most a few pages per
second per client; the emulator must stay at least 10x above that so it never is the bottleneck.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def rate(label: str, fn: Callable[[], Any], seconds: float = 3.0) -> None:
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    elapsed = time.perf_counter() - start
    print(f"{label:<48} {count / elapsed:8.1f} req/s  ({elapsed / count * 1000:.1f} ms each)")


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


def main() -> None:
    leads = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
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
        seeded = requests.post(f"{control}/seed", json=body, verify=ca, timeout=600)
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
        requests.post(
            f"{control}/salesforce/limits", json={"daily_max": 10_000_000}, verify=ca, timeout=30
        )
        first = sf.query(QUERY)
        print(f"query totalSize={first['totalSize']} page={len(first['records'])}")
        next_url = first["nextRecordsUrl"]
        # Locators are capped at 10 open per user (as on Salesforce), so page through the one we
        # hold before opening more with the first-page benchmark.
        rate(
            "SOQL next page of 2,000 (nextRecordsUrl)",
            lambda: sf.query_more(next_url, identifier_is_url=True),
        )
        rate("SOQL first page of 2,000 (filter+sort+render)", lambda: sf.query(QUERY))
        lead_id = first["records"][0]["Id"]
        rate(
            "Lead.update (single PATCH)",
            lambda: sf.Lead.update(
                lead_id, {"Rating": "Hot"}, headers={"Sforce-Auto-Assign": "FALSE"}
            ),
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
