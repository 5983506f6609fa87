"""What the worker's jobs share: :class:`RuntimeContext`, set once per process.

Job functions (:mod:`sla_sync.runtime.jobs`) take primitive arguments only (a connection name,
an agreement id), so the engine that runs them can change without touching them; everything
else (configuration, store, clock, stop flag, health and metrics, notifier) they look up here
with :func:`get_context`. ``sla-sync run`` builds the context and calls :func:`set_context`
before the scheduler starts; tests build their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from sla_sync.definitions import SlaSyncConfig
from sla_sync.settings import Settings

if TYPE_CHECKING:
    from sla_sync.pipeline.notify import Notifier
    from sla_sync.runtime.health import HealthState
    from sla_sync.runtime.metrics import Metrics


def utc_now() -> datetime:
    """The wall clock, aware UTC (the worker's default clock)."""
    return datetime.now(UTC)


@dataclass
class RuntimeContext:
    """The worker's shared state.

    ``config_path``: where ``config`` was loaded from (``None``: built in code). ``data_dir``:
    where reports are saved (the settings' data directory). ``clock``: aware UTC now.
    ``stopping``: set on SIGTERM/SIGINT; jobs started after it skip, a running sync cycle stops
    at its next checkpoint. ``environ``: where secrets are read (``None``: the process
    environment). ``rate_limits=False`` only for the sandbox with its limits switched off.
    ``health``/``metrics``/``notifier``: optional; a job reports to each that is set.
    """

    config: SlaSyncConfig
    settings: Settings
    engine: Engine
    config_path: Path | None = None
    clock: Callable[[], datetime] = utc_now
    stopping: threading.Event = field(default_factory=threading.Event)
    environ: Mapping[str, str] | None = None
    rate_limits: bool = True
    health: HealthState | None = None
    metrics: Metrics | None = None
    notifier: Notifier | None = None
    _finished: set[str] = field(default_factory=set, repr=False)
    _cycles: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def data_dir(self) -> Path:
        """The settings' data directory (reports are saved under it)."""
        return self.settings.data_dir

    def now(self) -> datetime:
        """The context's clock, checked to be aware and converted to UTC."""
        value = self.clock()
        if value.tzinfo is None:
            raise ValueError("the runtime clock must return an aware datetime")
        return value.astimezone(UTC)

    def should_stop(self) -> bool:
        """Whether the worker was asked to stop (what ``run_cycle`` polls)."""
        return self.stopping.is_set()

    def cycle_finished(self, connection: str) -> None:
        """A cycle of ``connection`` ended (any outcome); see :meth:`wait_for_cycles`."""
        with self._cycles:
            self._finished.add(connection)
            self._cycles.notify_all()

    def wait_for_cycles(self, connections: Iterable[str], *, poll: float = 1.0) -> bool:
        """Block until each of ``connections`` finished a cycle in this process; ``False``
        when the worker started stopping first."""
        wanted = set(connections)
        with self._cycles:
            while not wanted <= self._finished:
                if self.stopping.is_set():
                    return False
                self._cycles.wait(poll)
        return not self.stopping.is_set()


_lock = threading.Lock()
_context: RuntimeContext | None = None


def set_context(context: RuntimeContext | None) -> None:
    """Make ``context`` the process's context (``None``: clear it)."""
    global _context
    with _lock:
        _context = context


def get_context() -> RuntimeContext:
    """The process's context.

    Raises:
        RuntimeError: none was set (a job called outside ``sla-sync run`` or a test fixture).
    """
    with _lock:
        context = _context
    if context is None:
        raise RuntimeError("no runtime context: sla-sync run sets it before starting jobs")
    return context


__all__ = ["RuntimeContext", "get_context", "set_context", "utc_now"]
