"""The worker's HTTP endpoints: ``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

:func:`serve` starts a small threaded WSGI server (the standard library's ``wsgiref``) in a
daemon thread and returns at once. It is a side thread of the worker: the scheduler never runs
inside it, and a slow or stuck scrape never delays a job. ``/metrics`` is prometheus-client's own
WSGI app (text format, OpenMetrics and gzip when the scraper asks for them).

Answers: ``/healthz`` and ``/readyz`` are ``200`` or ``503`` with the JSON detail of
:meth:`HealthState.healthz` / :meth:`HealthState.readyz`; other paths ``404``; other methods
than ``GET`` ``405``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import make_wsgi_app

if TYPE_CHECKING:
    from sla_sync.runtime.health import HealthState
    from sla_sync.runtime.metrics import Metrics

log = logging.getLogger(__name__)

WsgiApp = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request (probes and a scrape may overlap); none outlives the process."""

    daemon_threads = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """Requests go to the debug log, not to stderr (probes arrive every few seconds)."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


class Server:
    """A running endpoint server. ``port`` is the bound port (useful with port 0).

    :meth:`close` stops serving, waits for the thread and frees the socket; it is idempotent,
    and the server is a context manager.
    """

    def __init__(self, httpd: WSGIServer) -> None:
        self._httpd = httpd
        self.host: str = httpd.server_address[0]  # type: ignore[assignment]
        self.port: int = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"sla-sync-http:{self.port}",
            daemon=True,
        )
        self._closed = False
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def app(health: HealthState, metrics: Metrics) -> WsgiApp:
    """The WSGI application behind :func:`serve` (usable under any WSGI server)."""
    metrics_app = make_wsgi_app(metrics.registry)
    probes: dict[str, Callable[[], tuple[bool, dict[str, Any]]]] = {
        "/healthz": health.healthz,
        "/readyz": health.readyz,
    }

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path not in probes and path != "/metrics":
            return _json(start_response, "404 Not Found", {"error": f"no endpoint {path}"})
        if method != "GET":
            return _json(
                start_response,
                "405 Method Not Allowed",
                {"error": f"{method} not allowed"},
                [("Allow", "GET")],
            )
        if path == "/metrics":
            body: Iterable[bytes] = metrics_app(environ, start_response)
            return body
        try:
            ok, detail = probes[path]()
        except Exception:  # a bug in a probe must answer "unhealthy", not kill the thread
            log.exception("health probe %s failed", path)
            ok, detail = False, {"status": "error", "problems": [f"{path} probe raised"]}
        return _json(start_response, "200 OK" if ok else "503 Service Unavailable", detail)

    return application


def serve(host: str, port: int, health: HealthState, metrics: Metrics) -> Server:
    """Serve ``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port`` (``0``: any free port)
    from a daemon thread; returns once the socket is bound. ``host`` may be an IPv6 address
    (``::`` for every interface).

    Raises:
        OSError: the address is taken or cannot be bound.
    """
    httpd = make_server(
        host,
        port,
        app(health, metrics),
        server_class=_ThreadingServer6 if ":" in host else _ThreadingServer,
        handler_class=_QuietHandler,
    )
    server = Server(httpd)
    log.info("health and metrics endpoints on %s", server.url)
    return server


def _json(
    start_response: StartResponse,
    status: str,
    body: dict[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = json.dumps(body, indent=2, sort_keys=False).encode("utf-8") + b"\n"
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            *(headers or []),
        ],
    )
    return [data]
