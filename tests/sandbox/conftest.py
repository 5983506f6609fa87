"""Sandbox fixtures.

HubSpot (``hubspot_`` prefix): ``hubspot_server`` (the emulator on a free port, once per session),
``hubspot_env`` (a reset emulator per test: base URL, control-API helper, client factory).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sla_sync.sandbox.server import ServerThread


# ---------------------------------------------------------------------------------- HubSpot
@dataclass
class HubSpotEnv:
    """A freshly reset HubSpot emulator: ``url``, ``token``, ``control()`` and ``client()``."""

    url: str
    http: requests.Session
    token: str = "pat-sandbox-demo"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/__sandbox/<path>`` and return its JSON (asserting success)."""
        resp = self.http.request(method, f"{self.url}/__sandbox/{path}", json=body, timeout=60)
        assert resp.status_code < 400, resp.text
        return resp.json()

    def client(self, token: str | None = None, **kwargs: Any) -> Any:
        """The real ``hubspot.HubSpot`` client pointed at the emulator."""
        from hubspot import HubSpot

        return HubSpot(access_token=token or self.token, host=self.url, base_url=self.url, **kwargs)


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[ServerThread]:
    """The HubSpot emulator served on a free port for the whole session."""
    from sla_sync.sandbox.hubspot import create_app

    server = ServerThread(create_app()).start()
    yield server
    server.stop()


@pytest.fixture
def hubspot_env(hubspot_server: ServerThread) -> Iterator[HubSpotEnv]:
    """The session's HubSpot emulator, reset (empty store, real-time clock, no faults)."""
    with requests.Session() as http:
        env = HubSpotEnv(url=hubspot_server.url, http=http)
        env.control("POST", "reset")
        yield env
