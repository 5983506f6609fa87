"""The demo's options and what one demo run produced (shared by ``run`` and ``view``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sla_sync.connectors.base import SchemaChange, SlaField
from sla_sync.domain import Owner
from sla_sync.pipeline.cycle import CycleReport
from sla_sync.pipeline.figures import AgreementFigures

DEFAULT_LEADS = 600
DEFAULT_DATA_DIR = Path(".sla-sync-demo")
CONNECTION = "sandbox-hubspot"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """``leads`` to seed (>= 1), the ``data_dir`` for SQLite, the definition file (``None``:
    ``config/sandbox.yaml`` here or in the source tree), ``keep_running`` the sandbox afterwards
    until Ctrl-C, and the generator's ``seed``."""

    leads: int = DEFAULT_LEADS
    data_dir: Path = DEFAULT_DATA_DIR
    config_file: Path | None = None
    keep_running: bool = False
    seed: int = 7


@dataclass(frozen=True, slots=True)
class ContactReadBack:
    """A contact's SLA properties as the HubSpot API returns them now (``crm``) next to the
    values the store recorded as confirmed by the CRM (``confirmed``)."""

    lead_id: str
    crm: Mapping[SlaField, str | None]
    confirmed: Mapping[SlaField, str | None]

    @property
    def matches(self) -> bool:
        """Whether the CRM holds every confirmed value."""
        return all(self.crm.get(name) == value for name, value in self.confirmed.items())


@dataclass(frozen=True, slots=True)
class Setup:
    """Where the demo runs: options, definition file, database and what it did to the data
    directory (``note``)."""

    options: DemoOptions
    config_path: Path
    database_url: str
    note: str


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Everything the demo shows (:mod:`sla_sync.demo.view`). ``now`` is the cycle's
    evaluation instant (the sandbox clock at its start); ``seeded`` the emulator's counts;
    ``token_env`` the variable the sandbox connection reads its token from."""

    setup: Setup
    now: datetime
    seeded: Mapping[str, Any]
    schema: list[SchemaChange]
    report: CycleReport
    figures: list[AgreementFigures]
    owners: Mapping[str, Owner]
    contacts: list[ContactReadBack]
    hubspot_url: str
    hubspot_token: str
    token_env: str
    timings: dict[str, float] = field(default_factory=dict)
