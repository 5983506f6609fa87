"""The SLA definition language: YAML written by ops -> validated specs -> engine policies.

Public surface::

    from sla_sync.definitions import check_config_file, load_config
    problems = check_config_file("config/sla-sync.yaml")   # [] when valid; never raises
    config = load_config("config/sla-sync.yaml")           # raises ConfigError(.problems)
    config.agreement_policies()                            # tuple[AgreementPolicy, ...]
    config.connection("hubspot-main").resolve_credentials(read_secret)  # settings'

Modules: ``source`` (YAML, lines), ``secrets`` (literal secrets), ``scalars`` and ``conditions``
(the notations: durations, fractions, goal inputs, ``when``), ``connections`` and ``models``
(pydantic schema), ``calendars`` (calendar engine adapter), ``checks`` (cross-value checks),
``build`` (policies), ``loader`` (the pipeline).
"""

from __future__ import annotations

from sla_sync.definitions.conditions import format_when, parse_when
from sla_sync.definitions.connections import (
    ConnectionSpec,
    HubSpotConnection,
    SalesforceConnection,
    SecretReader,
)
from sla_sync.definitions.loader import (
    SlaSyncConfig,
    check_config_file,
    check_config_text,
    load_config,
    load_config_text,
)
from sla_sync.definitions.problems import ConfigError, ConfigProblem
from sla_sync.definitions.scalars import parse_duration

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "ConnectionSpec",
    "HubSpotConnection",
    "SalesforceConnection",
    "SecretReader",
    "SlaSyncConfig",
    "check_config_file",
    "check_config_text",
    "format_when",
    "load_config",
    "load_config_text",
    "parse_duration",
    "parse_when",
]
