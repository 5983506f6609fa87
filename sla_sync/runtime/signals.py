"""Graceful stop: SIGTERM and SIGINT set the worker's ``stopping`` event.

The first signal only sets the event; the worker's main thread (waiting on it) then pauses the
scheduler (no new job), and waits for the running jobs: a sync cycle polls the event at each
checkpoint (after a stored page or a recorded write call), so it ends soon with outcome
``partial`` ("stopped by signal") and nothing lost. A second signal exits at once (status 130
for SIGINT, 143 for SIGTERM): safe too, since every step is resumable, but the ledger then
shows the interrupted run as ``running``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from sla_sync.runtime.logging import get_logger

log = get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_stop_handlers(stopping: threading.Event) -> Callable[[], None]:
    """Handle SIGTERM and SIGINT as described in the module docstring; returns a function that
    restores the previous handlers. Must be called from the main thread."""
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stopping.is_set():
            log.warning("second stop signal: exiting now", signal=name)
            os._exit(128 + signum)
        log.info(
            "stop signal: no new jobs; running cycles stop at their next checkpoint", signal=name
        )
        stopping.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


__all__ = ["STOP_SIGNALS", "install_stop_handlers"]
