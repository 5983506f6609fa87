"""A throw-away certificate authority for the HTTPS emulators (Salesforce's client: https only).

The CA is made fresh for each sandbox run (trustme) and written to a directory; clients trust it by
pointing at :attr:`SandboxTls.ca_path` (the connector's ``ca_bundle``, or ``session.verify``).
Beware: ``REQUESTS_CA_BUNDLE`` in the environment overrides ``session.verify`` in requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

HOSTNAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class SandboxTls:
    """Paths of the CA certificate and of the server's certificate chain and key (PEM)."""

    ca_path: Path
    cert_path: Path
    key_path: Path


def make_tls(directory: Path, hostnames: tuple[str, ...] = HOSTNAMES) -> SandboxTls:
    """Create a CA and a server certificate for ``hostnames`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="sla-sync sandbox CA")
    server = ca.issue_cert(*hostnames)
    tls = SandboxTls(
        ca_path=directory / "sandbox-ca.pem",
        cert_path=directory / "sandbox-server.pem",
        key_path=directory / "sandbox-server.key",
    )
    ca.cert_pem.write_to_path(str(tls.ca_path))
    server.cert_chain_pems[0].write_to_path(str(tls.cert_path))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(tls.cert_path), append=True)
    server.private_key_pem.write_to_path(str(tls.key_path))
    tls.key_path.chmod(0o600)
    return tls
