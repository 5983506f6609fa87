"""Helpers of the report and close tests: a real local HTTP receiver for apprise's ``json://``
notifications, and the pipeline tests' definition with recipients, a weekly report and a
marketing consequence that carries the shortfall."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sla_sync.definitions import SlaSyncConfig, load_config_text
from tests.pipeline.support import CONFIG_FILE

SALES_HEAD_ENV = "SLA_SYNC_TEST_NOTIFY_SALES_NA_HEAD"
MARKETING_HEAD_ENV = "SLA_SYNC_TEST_NOTIFY_MARKETING_HEAD"
_SPEED_RULE = """    consequences:
      - metric: speed
        below: 80%
        actions:
          - notify: [sales-na-head]
"""
_MARKETING_RULE = """      - metric: marketing
        below: 100%
        actions:
          - escalate: [marketing-head]
          - carry_shortfall: 50%
"""
_NA_REPORTING = "reporting: {period: month, timezone: America/New_York}"


def report_config(hubspot_url: str) -> SlaSyncConfig:
    """The definition of :func:`report_config_text`, loaded."""
    return load_config_text(report_config_text(hubspot_url), source=str(CONFIG_FILE))


def report_config_text(hubspot_url: str) -> str:
    """``sla-sync-test.yaml`` pointed at the emulator, with: agreement ``na``'s weekly report
    going to ``sales-na-head``, and a marketing rule (below 100 %: escalate to
    ``marketing-head`` and carry 50 % of the shortfall)."""
    text = CONFIG_FILE.read_text(encoding="utf-8").replace("http://127.0.0.1:9", hubspot_url)
    assert _SPEED_RULE in text and _NA_REPORTING in text
    text = text.replace(_SPEED_RULE, _SPEED_RULE + _MARKETING_RULE)
    text = text.replace(
        _NA_REPORTING,
        "reporting: {period: month, timezone: America/New_York, "
        "weekly_report: {to: [sales-na-head]}}",
    )
    return text + f"  marketing-head: {{url_env: {MARKETING_HEAD_ENV}}}\n"


class Receiver:
    """Records every JSON body POSTed to it; ``url(path)`` is an apprise ``json://`` URL."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
        received, paths, owner = self.received, self.paths, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if owner.status < 400:
                    received.append(body)
                    paths.append(self.path)
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/{path}"


@contextmanager
def receiver() -> Iterator[Receiver]:
    box = Receiver()
    thread = threading.Thread(target=box.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        box.server.shutdown()
        box.server.server_close()
        thread.join()
