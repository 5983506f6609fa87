"""Worker logs: JSON lines with the bound run id, stdlib records routed through structlog, and
no secret in the output whatever way it tries to get there."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.contextvars import bound_contextvars

from sla_sync.definitions import load_config_text
from sla_sync.runtime.logging import REDACTOR, config_secrets, configure_logging, get_logger

TOKEN = "pat-na1-11112222-3333-4444-5555-666677778888"
ROTATED = "not-a-pattern-but-registered-0042"
WEBHOOK = "json://ops:s3cr3t-hook@hooks.example.com/sla"
CONFIG = """\
connections:
  - {name: hs, kind: hubspot, token_env: HS_TOKEN}
calendars:
  c: {timezone: UTC, hours: {mon-fri: ["09:00-17:00"]}}
agreements:
  - id: a
    parties: {provider: m, recipient: s}
    reporting: {timezone: UTC}
    connections: [hs]
    calendar: c
    sales: {acceptance: {within: 1 business_days}}
recipients:
  ops: {url_env: OPS_URL}
  unset: {url_env: NOT_SET_ANYWHERE}
"""


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(fmt="json", stream=stream, level="DEBUG")
    yield stream
    logging.getLogger().removeHandler(handler)
    logging.captureWarnings(False)
    structlog.reset_defaults()
    REDACTOR.clear()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_secrets_of_the_configuration_never_appear(output: io.StringIO) -> None:
    config = load_config_text(CONFIG)
    environ = {"HS_TOKEN": ROTATED, "OPS_URL": f"{WEBHOOK} mailto://x:y@mail.example.com"}
    REDACTOR.add(config_secrets(config, environ))
    log = get_logger("sla_sync.test")
    stdlib = logging.getLogger("sla_sync.connectors.test")

    log.info("token is %s" % ROTATED, token=ROTATED, url=WEBHOOK)  # noqa: G002, UP031
    stdlib.warning("calling with %s and %s", ROTATED, environ["OPS_URL"])
    try:
        raise RuntimeError(f"401 for token {ROTATED}")
    except RuntimeError:
        stdlib.exception("request failed")

    text = output.getvalue()
    assert ROTATED not in text
    assert "s3cr3t-hook" not in text and "mailto://x:y@" not in text
    assert "RuntimeError" in text and "401 for token ***" in text  # the traceback stays useful
    assert len(lines(output)) == 3


def test_credentials_are_masked_by_their_look(output: io.StringIO) -> None:
    log = get_logger("sla_sync.test")
    stdlib = logging.getLogger("sla_sync.connectors.hubspot.test")
    log.info("request", headers={"Authorization": f"Bearer {TOKEN}", "Accept": "json"})
    stdlib.debug("header Authorization: Bearer %s", TOKEN)
    stdlib.debug("sent %s", {"authorization": f"Basic {TOKEN}"})
    log.info("db", url="postgresql+psycopg://sla:pw-9f8e7d@db.internal/sla")
    log.warning(f"token {TOKEN} rejected", password="hunter2-long")  # noqa: G004

    text = output.getvalue()
    assert TOKEN not in text and "11112222" not in text
    assert "pw-9f8e7d" not in text and "hunter2-long" not in text
    records = lines(output)
    assert records[0]["headers"] == {"Authorization": "***", "Accept": "json"}
    assert records[3]["url"] == "postgresql+psycopg://sla:***@db.internal/sla"
    assert records[4]["event"] == "token pat-*** rejected"


def test_bound_run_id_reaches_stdlib_records_as_json(output: io.StringIO) -> None:
    stdlib = logging.getLogger("sla_sync.pipeline.test")
    with bound_contextvars(job="sync", connection="hs", run_id="run-123"):
        stdlib.info("page stored (%d records)", 100)
        get_logger("sla_sync.runtime.test").info("sync finished", outcome="success")
    stdlib.info("outside")
    first, second, third = lines(output)
    assert first["event"] == "page stored (100 records)"
    assert (first["run_id"], first["connection"], first["job"]) == ("run-123", "hs", "sync")
    assert first["level"] == "info" and first["logger"] == "sla_sync.pipeline.test"
    assert first["timestamp"].endswith("Z")
    assert second["outcome"] == "success" and second["run_id"] == "run-123"
    assert "run_id" not in third


def test_console_format_when_asked() -> None:
    stream = io.StringIO()
    handler = configure_logging(fmt="console", stream=stream)
    try:
        logging.getLogger("sla_sync.test").info("hello %s", TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.captureWarnings(False)
        structlog.reset_defaults()
    text = stream.getvalue()
    assert "hello pat-***" in text and not text.lstrip().startswith("{")
