"""Markers sla-sync writes into the CRM records it creates, so a later pull can recognise them.

A task sla-sync creates (an at-risk or breach alert for a rep) carries
:data:`SLA_SYNC_TASK_MARKER` in its subject or body, optionally keyed as ``[sla-sync:<key>]``
(the idempotency key of the alert). The pull maps such tasks to ``Touch.by_sla_sync=True`` so
the worker's own tasks never count as a sales touch (ARCHITECTURE.md section 3).
"""

from __future__ import annotations

from typing import Final

SLA_SYNC_TASK_MARKER: Final = "[sla-sync]"
# The keyed form ``[sla-sync:<idempotency key>]`` counts too.
_KEYED_PREFIX: Final = "[sla-sync:"


def has_sla_sync_marker(*texts: str | None) -> bool:
    """Whether any of ``texts`` (a task's subject, body) carries the sla-sync marker."""
    return any(t is not None and (SLA_SYNC_TASK_MARKER in t or _KEYED_PREFIX in t) for t in texts)
