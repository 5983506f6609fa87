"""Benchmark of the HubSpot emulator: requests per second, rate limits off, one client thread.

Run: ``/work/.venv/bin/python tests/bench/hubspot_emulator_bench.py [contacts]`` (a script, not a
test; default 20,000 contacts seeded via JSON). Each call is measured twice:

- **plain HTTP**: a keep-alive ``http.client`` connection sending a pre-encoded body and reading
  the whole response without decoding it, i.e. the emulator's own throughput;
- **real client**: ``hubspot-api-client`` 12 (its model deserialisation included).

Calls: a search page of 200 contacts, a batch update of 100 contacts, a list page of 100
(``GET /crm/v3/objects/contacts?limit=100``) and a batch read of 100. The bar (issue 3): at least
10x HubSpot's fastest documented rate, i.e. >= 50 searches/s (5/s documented) and >= 250
requests/s for the rest (250 per 10 s at the highest tier).

``--seed-only N`` instead seeds N generator leads (``emulator.seed({"generator": {"leads": N}})``)
into a fresh emulator in this process and prints the time and the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``); run it in a fresh process per size.
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
)

from sla_sync.sandbox.hubspot import DEMO_TOKEN, create_app
from sla_sync.sandbox.server import ServerThread

ROUND_S = 3.0
SEARCH_PROPS = ["email", "lifecyclestage", "hubspot_owner_id"]


def rate(call: Callable[[int], object], rounds: int = 2) -> tuple[float, float]:
    """Calls per second of ``call(i)`` over about ``ROUND_S`` seconds (best of ``rounds``), and
    the process CPU milliseconds per call in that round (client and server threads together;
    steadier than the rate on a shared machine).
    """
    best, cpu_ms = 0.0, 0.0
    for _ in range(rounds):
        n, start, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < ROUND_S:
            call(n)
            n += 1
        per_second = n / (time.perf_counter() - start)
        if per_second > best:
            best, cpu_ms = per_second, 1000 * (time.process_time() - cpu) / n
    return best, cpu_ms


class Plain:
    """A keep-alive HTTP/1.1 connection with the demo token; answers are read, not decoded."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        self.headers = {
            "Authorization": f"Bearer {DEMO_TOKEN}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()


def search_body(i: int) -> dict[str, Any]:
    return {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "lastmodifieddate",
                        "operator": "GTE",
                        "value": "1756684800000",
                    },
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"},
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": SEARCH_PROPS,
        "limit": 200,
        "after": str((i * 200) % 9800),
    }


def main(contacts: int) -> None:
    with ServerThread(create_app()) as server:
        url = server.url
        requests.post(f"{url}/__sandbox/ratelimits", json={"tier": "off"}, timeout=10)
        leads: list[dict[str, Any]] = [
            {
                "id": f"l{i:07d}",
                "created_at": "2026-09-01T00:00:00Z",
                "email": f"lead{i}@example.com",
                "first_name": "Lead",
                "last_name": str(i),
                "stage_history": [{"at": "2026-09-01T00:00:00Z", "stage": "lead"}],
            }
            for i in range(contacts)
        ]
        t = time.perf_counter()
        requests.post(f"{url}/__sandbox/seed", json={"leads": leads}, timeout=600)
        print(f"seeded {contacts} contacts via JSON in {time.perf_counter() - t:.2f} s")
        client = HubSpot(access_token=DEMO_TOKEN, host=url)
        search = client.crm.contacts.search_api
        batch = client.crm.contacts.batch_api
        basic = client.crm.contacts.basic_api
        ids = [str(r.id) for r in basic.get_page(limit=100).results]
        plain = Plain(url)
        searches = [json.dumps(search_body(i)).encode() for i in range(49)]
        updates = [
            json.dumps(
                {"inputs": [{"id": x, "properties": {"hubspotscore": str(i)}} for x in ids]}
            ).encode()
            for i in range(100)
        ]
        read_body = json.dumps(
            {
                "inputs": [{"id": x} for x in ids],
                "properties": ["email", "lifecyclestage"],
                "propertiesWithHistory": [],
                "archived": False,
            }
        ).encode()

        def expect(status: int, result: tuple[int, bytes]) -> None:
            assert result[0] == status, result

        def plain_search(i: int) -> None:
            expect(200, plain.call("POST", "/crm/v3/objects/contacts/search", searches[i % 49]))

        def plain_update(i: int) -> None:
            expect(
                200, plain.call("POST", "/crm/v3/objects/contacts/batch/update", updates[i % 100])
            )

        def plain_list(i: int) -> None:
            expect(200, plain.call("GET", "/crm/v3/objects/contacts?limit=100&archived=false"))

        def plain_read(i: int) -> None:
            expect(200, plain.call("POST", "/crm/v3/objects/contacts/batch/read", read_body))

        def client_search(i: int) -> object:
            page = search.do_search(PublicObjectSearchRequest(**_snake(search_body(i))))
            assert len(page.results) == 200
            return page

        def client_update(i: int) -> object:
            inputs = [{"id": x, "properties": {"hubspotscore": str(i % 100)}} for x in ids]
            out = batch.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))
            assert out is not None and len(out.results) == 100
            return out

        def client_list(i: int) -> object:
            page = basic.get_page(limit=100)
            assert len(page.results) == 100
            return page

        def client_read(i: int) -> object:
            body = BatchReadInputSimplePublicObjectId(
                inputs=[{"id": x} for x in ids],
                properties=["email", "lifecyclestage"],
                properties_with_history=[],
            )
            out = batch.read(body, archived=False)
            assert out is not None and len(out.results) == 100
            return out

        rows = [
            ("search page of 200", plain_search, client_search, 5),
            ("batch update of 100", plain_update, client_update, 25),
            ("list page of 100", plain_list, client_list, 25),
            ("batch read of 100", plain_read, client_read, 25),
        ]
        print(
            f"{'call':<22} {'plain HTTP':>12} {'CPU/call':>9} {'real client':>12}"
            "   bar (10x HubSpot)"
        )
        for name, plain_call, client_call, documented in rows:
            plain.conn.close()  # reopened on the next request (the server drops idle ones)
            p, p_cpu = rate(plain_call, rounds=3)
            c, _ = rate(client_call)
            print(
                f"{name:<22} {p:8.1f} r/s {p_cpu:6.2f} ms {c:8.1f} r/s   {10 * documented}/s: "
                f"plain {p / documented:.0f}x, client {c / documented:.0f}x HubSpot"
            )


def _snake(body: dict[str, Any]) -> dict[str, Any]:
    keys = {"filterGroups": "filter_groups"}
    return {keys.get(k, k): v for k, v in body.items()}


def seed_only(leads: int) -> None:
    """Seed ``leads`` generator leads into a fresh emulator; print time, counts and peak RSS."""
    from sla_sync.sandbox.clock import SandboxClock
    from sla_sync.sandbox.hubspot.emulator import HubSpotEmulator

    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    emulator = HubSpotEmulator(SandboxClock())
    started = time.perf_counter()
    counts = emulator.seed({"generator": {"leads": leads}})
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {
                "leads": leads,
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "rss_before_mb": round(base_kb / 1024, 1),
                "counts": dict(counts),
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contacts", nargs="?", type=int, default=20_000)
    parser.add_argument("--seed-only", type=int, default=None, metavar="N")
    args = parser.parse_args()
    if args.seed_only is not None:
        seed_only(args.seed_only)
    else:
        main(args.contacts)
