"""Module-level job functions for the runner tests (a runner references jobs by name)."""

from __future__ import annotations

import threading
import time

lock = threading.Lock()
running: dict[str, int] = {}
peak: dict[str, int] = {}
runs: dict[str, int] = {}


def reset() -> None:
    with lock:
        running.clear()
        peak.clear()
        runs.clear()


def tracked_job(name: str, seconds: str = "0") -> None:
    """Counts its runs and how many of itself run at once; sleeps ``seconds``."""
    with lock:
        running[name] = running.get(name, 0) + 1
        peak[name] = max(peak.get(name, 0), running[name])
        runs[name] = runs.get(name, 0) + 1
    try:
        time.sleep(float(seconds))
    finally:
        with lock:
            running[name] -= 1
