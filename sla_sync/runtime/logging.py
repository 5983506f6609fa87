"""Structured logs of the worker: structlog to stderr, stdlib logging routed through it, secrets
masked.

:func:`configure_logging` installs one handler on the root logger whose
:class:`structlog.stdlib.ProcessorFormatter` renders both structlog's own events and every
stdlib record (the connectors, APScheduler, the notifier): JSON lines when stderr is not a TTY
or ``fmt="json"``, a coloured console rendering on a TTY. Context bound with
:func:`structlog.contextvars.bound_contextvars` (the worker binds ``job``, ``connection`` and
``run_id`` around each job) is merged into every line, stdlib ones included.

Secrets never reach the output: the last processor before rendering, :class:`Redactor`, masks

* every value registered with :meth:`Redactor.add` (the worker registers the values of every
  variable a connection's ``*_env`` or a recipient's ``url_env`` names, see
  :func:`config_secrets`), wherever it appears in a message, a field or a traceback;
* text that looks like a credential whatever its origin: HubSpot private-app tokens
  (``pat-...``), ``Bearer ...`` and ``Authorization: ...`` values, Salesforce session ids, and
  the password of a URL (``scheme://user:***@host``: database and apprise URLs);
* the value of any field whose key names a credential (``token``, ``password``,
  ``authorization``, ...).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from sla_sync.definitions import SlaSyncConfig
from sla_sync.definitions.secrets import SECRET_KEYS
from sla_sync.settings import read_secret

LogFormat = Literal["auto", "json", "console"]

MASK = "***"
#: Registered values shorter than this are not masked (they would mask ordinary words).
MIN_SECRET_LENGTH = 6

# The configuration checker's secret key names, plus the HTTP headers that carry credentials.
_SECRET_KEYS = SECRET_KEYS | {"authorization", "cookie"}
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://user:***@host (database URLs, apprise URLs)
    (re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s:@]+):([^/\s@]+)@", re.IGNORECASE), r"\1:***@"),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE), r"\1 ***"),
    (
        re.compile(r"""(authorization["']?\s*[:=]\s*["']?)(?!bearer\b|basic\b)[^"'\s,}]+""", re.I),
        r"\1***",
    ),
    (re.compile(r"\bpat-[A-Za-z0-9][A-Za-z0-9-]{5,}", re.IGNORECASE), "pat-***"),
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}"), "00D***"),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        MASK,
    ),
)
_SPLIT = re.compile(r"[\s,]+")


class Redactor:
    """A structlog processor masking secrets in every string of an event (see the module
    docstring). Thread-safe; values can be added while the worker logs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        """Mask each of ``values`` from now on (values shorter than
        :data:`MIN_SECRET_LENGTH` are ignored)."""
        with self._lock:
            known = set(self._values)
            known.update(v for v in values if len(v) >= MIN_SECRET_LENGTH)
            # Longest first: a URL is masked whole before a token inside it is.
            self._values = tuple(sorted(known, key=len, reverse=True))

    def clear(self) -> None:
        """Forget the registered values (tests)."""
        with self._lock:
            self._values = ()

    def text(self, value: str) -> str:
        """``value`` with every secret masked."""
        for secret in self._values:
            if secret in value:
                value = value.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """Strings masked, containers walked, other values kept."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self._field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))  # reprs of objects may carry what they hold

    def _field(self, key: str, value: Any) -> Any:
        if key.lower() in _SECRET_KEYS and value not in (None, ""):
            return MASK
        return self.value(value)

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        for key in list(event):
            if key.startswith("_"):  # ProcessorFormatter's own entries (the record, the logger)
                continue
            event[key] = self._field(key, event[key])
        return event


REDACTOR = Redactor()
"""The redactor every handler installed by :func:`configure_logging` uses."""


def config_secrets(config: SlaSyncConfig, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of every credential the definition names: each connection's ``*_env``
    variables and each recipient's ``url_env`` (the whole value and each URL in it). Variables
    that are not set are skipped (the job that needs them reports that)."""
    variables = [v for c in config.connections for v in c.credential_env().values()]
    variables += [r.url_env for r in config.recipients.values()]
    found: list[str] = []
    for name in variables:
        try:
            value = read_secret(name, environ)
        except LookupError:
            continue
        found.append(value)
        found.extend(u for u in _SPLIT.split(value) if u)
    return found


def configure_logging(
    *,
    fmt: LogFormat = "auto",
    level: str | int = "INFO",
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Route structlog and stdlib logging to ``stream`` (default stderr) and return the handler.

    ``fmt``: ``json``, ``console``, or ``auto`` (console on a TTY, JSON otherwise). ``secrets``
    are added to :data:`REDACTOR`. Calling it again replaces the handler it installed before.
    """
    out = stream if stream is not None else sys.stderr
    REDACTOR.add(secrets)
    use_json = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(default=str)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=_is_tty(out))
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # tracebacks become text, then get masked
            REDACTOR,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.set_name("sla-sync")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "sla-sync"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # APScheduler logs every job added, started and ended at INFO: the worker and the jobs log
    # their own (its warnings, a run skipped because the last one still runs, stay).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic's migration context announces itself at INFO whenever the store's revision is read.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler


def get_logger(name: str) -> Any:
    """A structlog logger named ``name`` (rendered by the handler of :func:`configure_logging`)."""
    return structlog.stdlib.get_logger(name)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = [
    "MASK",
    "REDACTOR",
    "LogFormat",
    "Redactor",
    "config_secrets",
    "configure_logging",
    "get_logger",
]
