# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Fixtures for the Salesforce emulator suite (import them, or list this module in ``pytest_plugins``).

One HTTPS server per session (throw-away CA); every test starts from ``POST /__sandbox/reset``.
Clients reach the sandbox through a transport adapter that sends ``*.salesforce.com`` (the client's
hard-coded login hosts) to the sandbox's host and port, still over TLS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from sla_sync.sandbox.salesforce import create_app
from sla_sync.sandbox.salesforce.client import sandbox_session
from sla_sync.sandbox.server import ServerThread
from sla_sync.sandbox.tls import make_tls


@dataclass
class SalesforceSandbox:
    """The running server: base URL, CA path, and a control-API helper."""

    url: str
    netloc: str
    ca_path: Path

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.url}/__sandbox{path}", json=body, verify=str(self.ca_path), timeout=30
        )
        response.raise_for_status()
        return response.json()

    def session(self) -> requests.Session:
        """A requests session trusting the sandbox CA, with the login-host adapter mounted."""
        return sandbox_session(self.url, self.ca_path)

    def demo(self) -> dict[str, Any]:
        return dict(self.control("GET", "/salesforce/demo"))

    def login(self, **kwargs: Any) -> Salesforce:
        """A SOAP (username/password/token) client as the demo user."""
        demo = self.demo()
        return Salesforce(
            username=demo["username"],
            password=demo["password"],
            security_token=demo["security_token"],
            session=self.session(),
            **kwargs,
        )


@pytest.fixture(scope="session")
def salesforce_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SalesforceSandbox]:
    tls = make_tls(tmp_path_factory.mktemp("salesforce-tls"))
    server = ServerThread(create_app(), tls=tls).start()
    try:
        yield SalesforceSandbox(
            url=server.url, netloc=f"{server.host}:{server.port}", ca_path=tls.ca_path
        )
    finally:
        server.stop()


@pytest.fixture
def salesforce(
    salesforce_server: SalesforceSandbox,
) -> SalesforceSandbox:
    """The sandbox, reset. CA-bundle variables stay as the machine has them: the clients' sessions
    come from ``sandbox_session``, which does not let them override its CA."""
    salesforce_server.control("POST", "/reset")
    return salesforce_server


@pytest.fixture
def salesforce_client(salesforce: SalesforceSandbox) -> Salesforce:
    """A logged-in client (SOAP, demo credentials)."""
    return salesforce.login()
