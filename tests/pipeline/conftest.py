"""Fixtures of the pipeline tests: the sandbox HubSpot emulator with the real connector.

- ``sandbox``: both emulators (:class:`~sla_sync.sandbox.runner.Sandbox`) once per session;
- ``portal``: that HubSpot emulator reset and seeded for one test (:class:`Portal`): generator
  seed, sandbox clock frozen at ``AS_OF``, emulator rate limits off (tests that are about
  budgets set their own), the SLA properties created (``crm init``);
- ``config``: ``sla-sync-test.yaml`` pointed at the emulator; ``environ``: its token;
- ``store``: an engine on a migrated database (SQLite and PostgreSQL: ``migrated_engine``).

Helpers live in ``tests/pipeline/support.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import Engine

from sla_sync.definitions import SlaSyncConfig
from sla_sync.pipeline.sync import init_schemas
from sla_sync.sandbox.runner import Sandbox
from tests.pipeline.support import CONNECTION, TOKEN_ENV, Portal, load_test_config


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture
def portal(sandbox: Sandbox, config: SlaSyncConfig, environ: dict[str, str]) -> Iterator[Portal]:
    with requests.Session() as http:
        portal = Portal(url=sandbox.hubspot_url, token=sandbox.hubspot_token, http=http)
        portal.reset()
        [report] = init_schemas(config, [CONNECTION], environ=environ)
        assert report.error is None, report.error
        yield portal


@pytest.fixture
def config(sandbox: Sandbox) -> SlaSyncConfig:
    return load_test_config(sandbox.hubspot_url)


@pytest.fixture
def environ(sandbox: Sandbox) -> dict[str, str]:
    return {TOKEN_ENV: sandbox.hubspot_token}


@pytest.fixture
def store(migrated_engine: Engine) -> Engine:
    return migrated_engine
