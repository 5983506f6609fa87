"""Helpers of the worker tests: a notification receiver and the worker's test definition."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from sla_sync.definitions import SlaSyncConfig, load_config_text
from tests.pipeline.support import CONFIG_FILE

NOTIFY_ENV = "SLA_SYNC_TEST_NOTIFY_OPS"


class Receiver:
    """An HTTP server on 127.0.0.1 that records every JSON body POSTed to it (what apprise's
    ``json://`` plugin sends: ``{"title", "message", "type", ...}``)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The apprise URL of this receiver."""
        return f"json://127.0.0.1:{self._server.server_address[1]}/notify"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def worker_config_text(hubspot_url: str, *, sync_every: str = "5 minutes", port: int = 0) -> str:
    """The pipeline tests' definition pointed at the emulator, with an ``ops`` recipient told
    of failing runs and a ``worker:`` section."""
    text = CONFIG_FILE.read_text(encoding="utf-8").replace("http://127.0.0.1:9", hubspot_url)
    text = text.replace("recipients:\n", f"recipients:\n  ops: {{url_env: {NOTIFY_ENV}}}\n")
    return text + (
        f"\nworker: {{sync_every: {sync_every}, health_port: {port}, notify_failures: [ops]}}\n"
    )


def worker_config(hubspot_url: str) -> SlaSyncConfig:
    return load_config_text(worker_config_text(hubspot_url), source=str(CONFIG_FILE))
