"""Shared fixtures for the HubSpot connector tests (real ``hubspot-api-client`` over real HTTP
against the sandbox emulator; nothing of HTTP is mocked).

- ``hubspot_server``: the emulator on a free port, once per session.
- ``hs``: that emulator, reset for the test (:class:`Sandbox`): ``url``, ``token``,
  ``control(method, path, body)``, ``fault(**rule)``, ``ratelimits(**settings)``,
  ``counters()`` / ``reset_counters()`` / ``calls(endpoint_substring)``, ``seed(payload)``,
  ``create_contacts(n, **props) -> list[str]`` (ids, created through the raw HTTP API so the
  client under test makes no calls), ``add_token(token)``, ``expire_token(token)``,
  ``merge(primary, merged)``, ``archive(ids)``.
- ``make_client(**overrides)``: a :class:`HubSpotClient` pointed at ``hs`` with tiny backoffs
  (tests stay fast); overrides go to the constructor. ``hubspot_client``: one with defaults.
- ``make_connector(**overrides)`` / ``connector``: the same for :class:`HubSpotConnector`;
  ``connector`` has run ``ensure_schema`` (the SLA properties exist) and has fresh counters.

Rate limits of the emulator are off by default here (``hs.ratelimits(tier=190)`` turns them
on) so tests that are not about limits never meet a stray 429.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from sla_sync.sandbox.server import ServerThread

TOKEN = "pat-sandbox-demo"


@dataclass
class Sandbox:
    """A freshly reset HubSpot emulator and its control API."""

    url: str
    http: requests.Session
    token: str = TOKEN
    _next: list[int] = field(default_factory=lambda: [0])

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/__sandbox/<path>`` and return its JSON (asserting success)."""
        resp = self.http.request(method, f"{self.url}/__sandbox/{path}", json=body, timeout=60)
        assert resp.status_code < 400, resp.text
        return resp.json()

    def fault(self, **rule: Any) -> None:
        """Add a fault rule (``kind``, ``status``, ``path``, ``method``, ``times``, ...)."""
        self.control("POST", "faults", rule)

    def ratelimits(self, **settings: Any) -> Any:
        """Set the emulator's limits (``tier=100|190|250|"off"``, ``daily``, ...)."""
        return self.control("POST", "ratelimits", settings)

    def counters(self) -> dict[str, Any]:
        """``{"total", "by_endpoint", "by_status"}`` of requests since the last reset."""
        out: dict[str, Any] = self.control("GET", "counters")
        return out

    def reset_counters(self) -> None:
        """Forget the request log and counters (after seeding, before the calls under test)."""
        self.control("DELETE", "counters")

    def calls(self, endpoint_part: str) -> int:
        """Requests whose endpoint (``"POST /crm/v3/objects/{objectType}/batch/update"``...)
        contains ``endpoint_part``."""
        return sum(n for k, n in self.counters()["by_endpoint"].items() if endpoint_part in k)

    def seed(self, payload: dict[str, Any]) -> Any:
        """``POST /__sandbox/seed`` (generator spec or explicit records)."""
        return self.control("POST", "seed", payload)

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """A raw HubSpot API call (not through the client under test); asserts success."""
        resp = self.http.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=60,
        )
        assert resp.status_code < 400, resp.text
        return resp.json() if resp.content else None

    def create_contacts(self, n: int, **props: str) -> list[str]:
        """Create ``n`` contacts (batch create, raw HTTP) and return their ids in order."""
        ids: list[str] = []
        for start in range(0, n, 100):
            inputs = []
            for _ in range(min(100, n - start)):
                self._next[0] += 1
                k = self._next[0]
                inputs.append(
                    {"properties": {"email": f"c{k}@example.com", "firstname": f"C{k}", **props}}
                )
            out = self.api("POST", "/crm/v3/objects/contacts/batch/create", {"inputs": inputs})
            # batch/create answers in input order on HubSpot only by luck: map back by e-mail.
            by_email = {r["properties"]["email"]: r["id"] for r in out["results"]}
            ids.extend(by_email[i["properties"]["email"]] for i in inputs)
        return ids

    def add_token(self, token: str) -> None:
        """Register another valid private-app token."""
        self.control("POST", "hubspot/tokens", {"token": token})

    def expire_token(self, token: str | None = None) -> None:
        """Expire ``token`` (default: the demo token) from now on."""
        self.control("POST", f"hubspot/tokens/{token or self.token}/expire")

    def merge(self, primary: str, merged: str) -> Any:
        """Merge contact ``merged`` into ``primary``."""
        return self.control("POST", "hubspot/merge", {"primary": primary, "merged": merged})

    def archive(self, ids: list[str], object_type: str = "contacts") -> Any:
        """Archive records."""
        return self.control("POST", "hubspot/archive", {"type": object_type, "ids": ids})


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[ServerThread]:
    """The HubSpot emulator served on a free port for the whole session."""
    from sla_sync.sandbox.hubspot import create_app

    server = ServerThread(create_app()).start()
    yield server
    server.stop()


@pytest.fixture
def hs(hubspot_server: ServerThread) -> Iterator[Sandbox]:
    """The session's emulator, reset (empty store, real-time clock, no faults, limits off)."""
    with requests.Session() as http:
        env = Sandbox(url=hubspot_server.url, http=http)
        env.control("POST", "reset")
        env.ratelimits(tier="off")
        yield env


# Backoffs small enough that a test with a handful of retries takes milliseconds.
FAST_RETRY = {"backoff_base": 0.001, "backoff_cap": 0.01, "max_wait": 2.0}


@pytest.fixture
def make_client(hs: Sandbox) -> Iterator[Callable[..., Any]]:
    """A factory of :class:`HubSpotClient` pointed at ``hs`` (tiny backoffs); all are closed
    at the end of the test."""
    from sla_sync.connectors.hubspot.client import HubSpotClient

    made: list[HubSpotClient] = []

    def factory(**overrides: Any) -> HubSpotClient:
        kwargs: dict[str, Any] = {
            "token_source": lambda: hs.token,
            "base_url": hs.url,
            "timeout": 10.0,
            **FAST_RETRY,
        }
        kwargs.update(overrides)
        client = HubSpotClient(**kwargs)
        made.append(client)
        return client

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def hubspot_client(make_client: Callable[..., Any]) -> Any:
    """A :class:`HubSpotClient` with default settings pointed at the reset emulator."""
    return make_client()


@pytest.fixture
def make_connector(hs: Sandbox) -> Iterator[Callable[..., Any]]:
    """A factory of :class:`HubSpotConnector` pointed at ``hs`` (tiny backoffs); closed at the
    end of the test."""
    from sla_sync.connectors.hubspot.connector import HubSpotConnector

    made: list[HubSpotConnector] = []

    def factory(**overrides: Any) -> HubSpotConnector:
        kwargs: dict[str, Any] = {
            "token_source": lambda: hs.token,
            "base_url": hs.url,
            "timeout": 10.0,
            "daily_quota_share": 1.0,
            **FAST_RETRY,
        }
        kwargs.update(overrides)
        connector = HubSpotConnector(**kwargs)
        made.append(connector)
        return connector

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def connector(hs: Sandbox, make_connector: Callable[..., Any]) -> Any:
    """A :class:`HubSpotConnector` on a portal where the SLA properties exist (counters reset
    after creating them)."""
    made = make_connector()
    made.ensure_schema()
    hs.reset_counters()
    return made
