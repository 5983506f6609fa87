"""Run emulator apps with uvicorn: in a background thread (tests, demo) or in the foreground.

:class:`ServerThread` binds to a free port when ``port=0`` and reports the real one in ``url``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette

from sla_sync.sandbox.tls import SandboxTls

STARTUP_TIMEOUT_S = 15.0


@dataclass
class ServerThread:
    """One emulator app served by uvicorn on a daemon thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    app: Starlette
    host: str = "127.0.0.1"
    port: int = 0
    tls: SandboxTls | None = None
    _server: uvicorn.Server | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def start(self) -> ServerThread:
        """Start serving and wait until the socket listens.

        Raises:
            RuntimeError: the server did not start within the timeout (e.g. port in use).
        """
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(self.tls.cert_path) if self.tls else None,
            ssl_keyfile=str(self.tls.key_path) if self.tls else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="sandbox-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on {self.host}:{self.port} did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        """``http(s)://host:port`` of the running server."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
