"""Both emulators on one shared clock, served in-process: the sandbox as tests and the demo use it.

:class:`Sandbox` builds the HubSpot app (plain HTTP) and the Salesforce app (HTTPS with a throw-away
CA) on one :class:`~sla_sync.sandbox.clock.SandboxClock`, serves each with a
:class:`~sla_sync.sandbox.server.ServerThread` (port 0 picks a free one), optionally seeds both with
the same :class:`~sla_sync.sandbox.seed.SeedSpec`, and exposes the URLs, the CA path and the demo
credentials. The emulator packages are imported lazily so that importing this module (and the
CLI) stays cheap and works while an emulator is missing.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.applications import Starlette

from sla_sync.sandbox.clock import SandboxClock
from sla_sync.sandbox.seed import SeedSpec
from sla_sync.sandbox.server import ServerThread
from sla_sync.sandbox.tls import SandboxTls, make_tls

HUBSPOT_MODULE = "sla_sync.sandbox.hubspot"
SALESFORCE_MODULE = "sla_sync.sandbox.salesforce"
HUBSPOT_DEMO_TOKEN = "pat-sandbox-demo"
# Used only when the Salesforce emulator publishes no ``DEMO_CREDENTIALS`` / ``DEMO`` mapping.
SALESFORCE_PLACEHOLDER_CREDENTIALS: dict[str, str] = {
    "username": "PLACEHOLDER-salesforce-emulator-did-not-publish-credentials",
    "password": "",
    "security_token": "",
}


def salesforce_demo_credentials(*modules: ModuleType) -> dict[str, str]:
    """The login the Salesforce emulator accepts out of the box, as it publishes it (the first
    ``DEMO_CREDENTIALS`` or ``DEMO`` mapping found in ``modules``), else the placeholder."""
    for module in modules:
        for name in ("DEMO_CREDENTIALS", "DEMO"):
            published = getattr(module, name, None)
            if isinstance(published, Mapping):
                return {str(key): str(value) for key, value in published.items()}
    return dict(SALESFORCE_PLACEHOLDER_CREDENTIALS)


class Sandbox:
    """Both emulators, started by :meth:`start` (or ``with``) and stopped by :meth:`stop`.

    ``seed`` (a spec, or a lead count with the default spec otherwise) is loaded into both
    emulators before the servers accept requests. After start: :attr:`hubspot_url`,
    :attr:`salesforce_url`, :attr:`ca_path`, :attr:`hubspot_token`,
    :attr:`salesforce_credentials`, :attr:`clock`, and the apps and emulators themselves.
    Raises ``RuntimeError`` from :meth:`start` when a server cannot start (e.g. port in use).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        hubspot_port: int = 0,
        salesforce_port: int = 0,
        seed: SeedSpec | int | None = None,
        clock: SandboxClock | None = None,
        tls_dir: Path | None = None,
    ) -> None:
        self.host = host
        self.clock = clock or SandboxClock()
        self.seed_spec = SeedSpec(leads=seed) if isinstance(seed, int) else seed
        self._hubspot_port = hubspot_port
        self._salesforce_port = salesforce_port
        self._tls_dir = tls_dir
        self._own_tls_dir: Path | None = None
        self.tls: SandboxTls | None = None
        self.hubspot_app: Starlette | None = None
        self.salesforce_app: Starlette | None = None
        self.salesforce_credentials: dict[str, str] = dict(SALESFORCE_PLACEHOLDER_CREDENTIALS)
        self.hubspot_token = HUBSPOT_DEMO_TOKEN
        self.seeded: dict[str, Mapping[str, Any]] = {}
        self._servers: list[ServerThread] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        """Build, seed and serve both emulators; on failure, whatever started is stopped."""
        try:
            hubspot = importlib.import_module(HUBSPOT_MODULE)
            salesforce = importlib.import_module(SALESFORCE_MODULE)
            self.hubspot_token = str(getattr(hubspot, "DEMO_TOKEN", HUBSPOT_DEMO_TOKEN))
            self.salesforce_credentials = salesforce_demo_credentials(
                salesforce, importlib.import_module(f"{SALESFORCE_MODULE}.emulator")
            )
            self.hubspot_app = hubspot.create_app(clock=self.clock)
            self.salesforce_app = salesforce.create_app(clock=self.clock)
            if self.seed_spec is not None:
                self.seed(self.seed_spec)
            if self._tls_dir is None:
                self._own_tls_dir = Path(tempfile.mkdtemp(prefix="sla-sync-sandbox-"))
            self.tls = make_tls(self._tls_dir or self._own_tls_dir or Path())
            self._servers.append(
                ServerThread(self.hubspot_app, host=self.host, port=self._hubspot_port).start()
            )
            self._servers.append(
                ServerThread(
                    self.salesforce_app, host=self.host, port=self._salesforce_port, tls=self.tls
                ).start()
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the servers and remove TLS material this sandbox created. Idempotent."""
        while self._servers:
            self._servers.pop().stop()
        if self._own_tls_dir is not None:
            shutil.rmtree(self._own_tls_dir, ignore_errors=True)
            self._own_tls_dir = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ use

    def seed(self, spec: SeedSpec) -> dict[str, Mapping[str, Any]]:
        """Load ``spec`` into both emulators (directly, as ``{"generator": ...}``); returns the
        counts each reports. Raises ``RuntimeError`` before :meth:`start` built the apps."""
        if self.hubspot_app is None or self.salesforce_app is None:
            raise RuntimeError("the sandbox apps are not built yet; call start() first")
        payload = {"generator": spec.to_payload()}
        self.seeded = {
            "hubspot": self.hubspot_app.state.emulator.seed(payload),
            "salesforce": self.salesforce_app.state.emulator.seed(payload),
        }
        return self.seeded

    @property
    def hubspot_url(self) -> str:
        """``http://host:port`` of the HubSpot emulator."""
        return self._server(0).url

    @property
    def salesforce_url(self) -> str:
        """``https://host:port`` of the Salesforce emulator (trust :attr:`ca_path`)."""
        return self._server(1).url

    @property
    def ca_path(self) -> Path:
        """PEM file of the throw-away CA that signed the Salesforce emulator's certificate."""
        if self.tls is None:
            raise RuntimeError("the sandbox is not started")
        return self.tls.ca_path

    def _server(self, index: int) -> ServerThread:
        if len(self._servers) <= index:
            raise RuntimeError("the sandbox is not started")
        return self._servers[index]

    def describe(self) -> str:
        """Human-readable URLs, CA path, credentials and control API (for ``sandbox serve``)."""
        creds = "\n".join(f"    {k}: {v}" for k, v in self.salesforce_credentials.items())
        seeded = ""
        if self.seeded:
            seeded = "\nSeeded: " + "; ".join(
                f"{name} {dict(counts)}" for name, counts in self.seeded.items()
            )
        return (
            f"HubSpot emulator:    {self.hubspot_url}\n"
            f"  token (Bearer):    {self.hubspot_token}\n"
            f"Salesforce emulator: {self.salesforce_url}\n"
            f"  CA certificate:    {self.ca_path}\n"
            f"  credentials:\n{creds}\n"
            f"  (also GET {self.salesforce_url}/__sandbox/salesforce/demo, with the JWT key pair)\n"
            f"Control API on each: <url>/__sandbox/ (reset, seed, clock, faults, requests,"
            f" counters, ratelimits)\n"
            f"  e.g. curl {self.hubspot_url}/__sandbox/clock\n"
            f"       curl --cacert {self.ca_path} {self.salesforce_url}/__sandbox/clock"
            f"{seeded}"
        )
