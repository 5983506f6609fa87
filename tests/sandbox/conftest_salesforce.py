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
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from sla_sync.sandbox.salesforce import create_app
from sla_sync.sandbox.server import ServerThread
from sla_sync.sandbox.tls import make_tls


class ToSandbox(HTTPAdapter):
    """Rewrites ``https://<anything>.salesforce.com/...`` to the sandbox (keeps https)."""

    def __init__(self, netloc: str) -> None:
        super().__init__()
        self.netloc = netloc

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        if (parts.hostname or "").endswith("salesforce.com"):
            request.url = urlunsplit(
                ("https", self.netloc, parts.path, parts.query, parts.fragment)
            )
        return super().send(request, *args, **kwargs)


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
        s = requests.Session()
        s.verify = str(self.ca_path)
        s.mount("https://", ToSandbox(self.netloc))
        return s

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
    salesforce_server: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> SalesforceSandbox:
    """The sandbox, reset, with CA-bundle variables cleared (they override ``session.verify``)."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    salesforce_server.control("POST", "/reset")
    return salesforce_server


@pytest.fixture
def salesforce_client(salesforce: SalesforceSandbox) -> Salesforce:
    """A logged-in client (SOAP, demo credentials)."""
    return salesforce.login()
