"""Point the real ``simple-salesforce`` client at the Salesforce sandbox.

simple-salesforce hard-codes its login hosts (``https://{domain}.salesforce.com/services/Soap/u/..``
and ``/services/oauth2/token``), so no parameter sends a username/password, JWT or client-
credentials login to localhost. The documented way (``shared/reference/salesforce-api.md`` §1) is a
``requests.Session`` whose HTTPS adapter sends every ``*.salesforce.com`` request to the sandbox,
still over TLS, trusting the sandbox's throw-away CA::

    from simple_salesforce import Salesforce
    from sla_sync.sandbox.salesforce.client import sandbox_session

    sf = Salesforce(username="demo@sla-sync.sandbox", password="sandbox-demo",
                    security_token="DEMOTOKEN", session=sandbox_session(url, ca_path))

Requests to other hosts (the instance URL the sandbox hands out is already the sandbox) pass
through unchanged.

The session ignores the environment (``trust_env = False``): requests lets ``REQUESTS_CA_BUNDLE``
(set on many machines, this one included) override ``session.verify``, which would make the
sandbox CA untrusted, and proxy variables must not capture loopback traffic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class ToSandbox(HTTPAdapter):
    """Rewrites ``https://<anything>.salesforce.com/...`` to ``https://<netloc>/...``."""

    def __init__(self, netloc: str) -> None:
        super().__init__()
        self.netloc = netloc

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        if (parts.hostname or "").endswith("salesforce.com"):
            request.url = urlunsplit(
                ("https", self.netloc, parts.path, parts.query, parts.fragment)
            )
        return super().send(request, *args, **kwargs)


def sandbox_session(url: str, ca_path: str | Path) -> requests.Session:
    """A session that trusts the sandbox CA and sends Salesforce login hosts to ``url``.

    Args:
        url: the sandbox's base URL, e.g. ``https://127.0.0.1:8443``.
        ca_path: the sandbox CA certificate (``sla-sync sandbox serve`` prints it).
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_path)
    session.mount("https://", ToSandbox(urlsplit(url).netloc))
    return session
