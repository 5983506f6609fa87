"""Helpers of the pipeline tests: the seeded HubSpot emulator, one cycle, the CRM's SLA state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine

from sla_sync.connectors.base import CrmConnector, SlaField
from sla_sync.definitions import SlaSyncConfig, load_config_text
from sla_sync.pipeline.connect import connector_for
from sla_sync.pipeline.cycle import CycleReport, run_cycle

CONFIG_FILE = Path(__file__).with_name("sla-sync-test.yaml")
CONNECTION = "hubspot-test"
TOKEN_ENV = "SLA_SYNC_TEST_HUBSPOT_TOKEN"
SEED_START = "2026-08-01T00:00:00Z"
#: Mid-afternoon in New York on a Thursday, near the end of the seeded span: open cycles exist.
AS_OF = datetime(2026, 10, 29, 19, 30, tzinfo=UTC)
LEADS = 250


@dataclass
class Portal:
    """A reset, seeded HubSpot emulator and its control API."""

    url: str
    token: str
    http: requests.Session

    def control(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.http.request(method, f"{self.url}/__sandbox/{path}", json=body, timeout=120)
        assert resp.status_code < 400, resp.text
        return resp.json()

    def reset(self, *, leads: int = LEADS, seed: int = 7) -> None:
        """Empty the emulator and seed it again (deterministic: same seed, same records)."""
        self.control("POST", "reset")
        self.control("POST", "ratelimits", {"tier": "off"})
        generator = {"leads": leads, "seed": seed, "start": SEED_START, "months": 3}
        self.control("POST", "seed", {"generator": generator})
        self.control("POST", "clock", {"now": AS_OF.isoformat(), "frozen": True})

    def at(self, instant: datetime) -> datetime:
        """Set the (frozen) sandbox clock to ``instant``; returns it."""
        self.control("POST", "clock", {"now": instant.isoformat(), "frozen": True})
        return instant

    def count(self, fragment: str) -> int:
        """Requests so far whose route template contains ``fragment``."""
        counters = self.control("GET", "counters")
        return sum(n for route, n in counters["by_endpoint"].items() if fragment in route)

    def reset_counters(self) -> None:
        self.control("DELETE", "counters")

    def requests_to(self, fragment: str, limit: int = 200) -> list[dict[str, Any]]:
        """Recent logged requests whose path contains ``fragment``, oldest first."""
        logged = self.control("GET", f"requests?limit={limit}")
        items = logged["requests"] if isinstance(logged, dict) else logged
        return [r for r in items if fragment in str(r.get("path", ""))]

    def contacts(self, properties: list[str]) -> dict[str, dict[str, Any]]:
        """Every contact's ``properties`` through the real HubSpot client (paged list)."""
        from hubspot import HubSpot

        client = HubSpot(access_token=self.token, host=self.url)
        found: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            page = client.crm.contacts.basic_api.get_page(
                limit=100, properties=properties, after=after
            )
            for record in page.results:
                found[record.id] = dict(record.properties)
            if page.paging is None or page.paging.next is None:
                return found
            after = page.paging.next.after


def load_test_config(hubspot_url: str) -> SlaSyncConfig:
    """``sla-sync-test.yaml`` pointed at the emulator at ``hubspot_url``."""
    text = CONFIG_FILE.read_text(encoding="utf-8").replace("http://127.0.0.1:9", hubspot_url)
    return load_config_text(text, source=str(CONFIG_FILE))


def sync(
    engine: Engine,
    config: SlaSyncConfig,
    environ: dict[str, str],
    *,
    now: datetime = AS_OF,
    **options: Any,
) -> CycleReport:
    """One cycle through the real connector (opened and closed around it)."""
    # The emulator's limits are off too; the limiter would only make the tests wait.
    connector = connector_for(
        engine, config, CONNECTION, now=now, environ=environ, rate_limits=False
    )
    try:
        return run_cycle(engine, config, CONNECTION, connector, now=lambda: now, **options)
    finally:
        connector.close()


def open_connector(engine: Engine, config: SlaSyncConfig, environ: dict[str, str]) -> CrmConnector:
    return connector_for(engine, config, CONNECTION, now=AS_OF, environ=environ)


def crm_state(portal: Portal) -> dict[str, dict[str, Any]]:
    """The SLA properties of every contact, as HubSpot holds them (empty values dropped)."""
    names = [f"sla_sync_{f.value}" for f in SlaField]
    return {
        contact: {k: v for k, v in props.items() if k in names and v not in (None, "")}
        for contact, props in portal.contacts(names).items()
    }
