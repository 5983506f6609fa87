"""Fault injection: make an emulator fail the way the vendor does, on demand.

A fault rule matches requests by method and path pattern (``fnmatch`` syntax, e.g.
``/crm/v3/objects/*/search``) and fires a number of times:

- ``status``: answer with an HTTP error instead of running the handler (429 bursts with or
  without ``Retry-After``, 5xx). The body is the emulator's own error shape for that status unless
  the rule gives one.
- ``latency``: run the handler after sleeping ``latency_ms``.
- ``commit_then_fail``: run the handler (the write happens) and then answer with ``status``
  (default 502): the client sees a failure for a write that was committed.
- ``rewrite_status``: run the handler and send its body with another ``status`` (any 100..599):
  the "200 instead of 201" drift a client must tolerate.

Rules are JSON-shaped (the control API posts them) and validated on the way in.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    """What a fault does to a matching request."""

    STATUS = "status"
    LATENCY = "latency"
    COMMIT_THEN_FAIL = "commit_then_fail"
    REWRITE_STATUS = "rewrite_status"


class FaultRuleError(ValueError):
    """A fault rule posted to the control API is malformed."""


@dataclass(slots=True)
class FaultRule:
    """One injected fault; ``times`` is how often it still fires (``None``: until cleared)."""

    kind: FaultKind
    path: str = "*"
    method: str = "*"
    status: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    body: Any = None
    times: int | None = 1
    fired: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to ``method path``."""
        return (self.method == "*" or self.method.upper() == method.upper()) and fnmatch.fnmatch(
            path, self.path
        )

    def describe(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "kind": self.kind.value,
            "path": self.path,
            "method": self.method,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "times": self.times,
            "fired": self.fired,
        }


def parse_rule(data: Mapping[str, Any]) -> FaultRule:
    """Validate a JSON fault rule.

    Raises:
        FaultRuleError: unknown kind, a status rule without an error status, negative counts.
    """
    try:
        kind = FaultKind(str(data.get("kind", "status")))
    except ValueError:
        allowed = ", ".join(k.value for k in FaultKind)
        raise FaultRuleError(f"kind must be one of {allowed}") from None
    status = data.get("status")
    if kind is FaultKind.COMMIT_THEN_FAIL and status is None:
        status = 502
    if kind in (FaultKind.STATUS, FaultKind.COMMIT_THEN_FAIL) and (
        not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise FaultRuleError(f"{kind.value} needs an error status 400..599, got {status!r}")
    if kind is FaultKind.REWRITE_STATUS and (
        not isinstance(status, int) or not 100 <= status <= 599
    ):
        raise FaultRuleError(f"rewrite_status needs a status 100..599, got {status!r}")
    times = data.get("times", 1)
    if times is not None and (not isinstance(times, int) or times < 1):
        raise FaultRuleError(f"times must be a positive integer or null, got {times!r}")
    latency = data.get("latency_ms", 0)
    if not isinstance(latency, int) or latency < 0:
        raise FaultRuleError(f"latency_ms must be a non-negative integer, got {latency!r}")
    retry_after = data.get("retry_after")
    if retry_after is not None and (not isinstance(retry_after, int | float) or retry_after < 0):
        raise FaultRuleError(f"retry_after must be a non-negative number, got {retry_after!r}")
    return FaultRule(
        kind=kind,
        path=str(data.get("path", "*")),
        method=str(data.get("method", "*")),
        status=status,
        retry_after=retry_after,
        latency_ms=latency,
        body=data.get("body"),
        times=times,
    )


class FaultPlan:
    """The active fault rules of one emulator; thread-safe. First matching rule wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Append ``rule`` (it fires after earlier rules for the same requests are used up)."""
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, consuming one of its ``times``."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.fired += 1
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            self._rules.remove(rule)
                    return rule
            return None

    def describe(self) -> list[dict[str, Any]]:
        """JSON view of the active rules."""
        with self._lock:
            return [rule.describe() for rule in self._rules]
