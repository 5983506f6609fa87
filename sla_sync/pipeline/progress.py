"""Progress reports of a cycle's steps, for progress bars (the CLI) and logs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """``step`` (``pull``, ``evaluate``, ``push``) has done ``done`` of ``total`` (``None``:
    unknown) units; ``stream`` names the pull stream."""

    step: str
    done: int
    total: int | None = None
    stream: str | None = None


ProgressCallback = Callable[[Progress], None]
