"""Repositories: every read and write of the store, as functions taking a ``Session``.

Contract shared by all of them:

* they never commit or roll back: the caller owns the transaction (a pulled page, its history
  and its cursor commit together);
* they take and return domain values (:mod:`sla_sync.domain`) or the store's own records
  (:mod:`sla_sync.store.records`), never ORM rows;
* every instant in or out is aware UTC; a naive one raises
  :class:`~sla_sync.domain.NaiveDatetimeError`;
* CRM-side writes of pulled data are idempotent upserts: re-applying a page changes nothing.

Grouped by aggregate: :mod:`.crm` (connections, owners, leads, changes, touches),
:mod:`.history` (lead histories for the engine), :mod:`.evaluation` (cycles, attainment),
:mod:`.goals`, :mod:`.writeback` (confirmed values, outbox, alerts) and :mod:`.ops` (cursors,
runs, quarantine).
"""

from __future__ import annotations

from sla_sync.store.repositories.crm import (
    add_field_changes,
    add_lifecycle_changes,
    add_owner_changes,
    connection_ids,
    ensure_connection,
    load_leads,
    load_owners,
    upsert_leads,
    upsert_owners,
    upsert_touches,
)
from sla_sync.store.repositories.evaluation import (
    close_period,
    due_cycle_leads,
    load_attainments,
    load_cycles,
    save_attainments,
    save_cycles,
)
from sla_sync.store.repositories.goals import (
    current_goal,
    freeze_goal_period,
    goal_history,
    publish_goal_version,
)
from sla_sync.store.repositories.history import load_histories
from sla_sync.store.repositories.ops import (
    finish_run,
    get_cursor,
    get_cursors,
    quarantine,
    recent_runs,
    resolve_quarantined,
    set_cursor,
    start_run,
    unresolved_quarantine,
)
from sla_sync.store.repositories.writeback import (
    confirm_values,
    get_outbox_entry,
    list_alerts,
    load_confirmed,
    mark_confirmed,
    mark_failed,
    mark_sent,
    record_cycle_alert,
    record_intent,
    record_period_alert,
    unfinished_outbox,
)

__all__ = [
    "add_field_changes",
    "add_lifecycle_changes",
    "add_owner_changes",
    "close_period",
    "confirm_values",
    "connection_ids",
    "current_goal",
    "due_cycle_leads",
    "ensure_connection",
    "finish_run",
    "freeze_goal_period",
    "get_cursor",
    "get_cursors",
    "get_outbox_entry",
    "goal_history",
    "list_alerts",
    "load_attainments",
    "load_confirmed",
    "load_cycles",
    "load_histories",
    "load_leads",
    "load_owners",
    "mark_confirmed",
    "mark_failed",
    "mark_sent",
    "publish_goal_version",
    "quarantine",
    "recent_runs",
    "record_cycle_alert",
    "record_intent",
    "record_period_alert",
    "resolve_quarantined",
    "save_attainments",
    "save_cycles",
    "set_cursor",
    "start_run",
    "unfinished_outbox",
    "unresolved_quarantine",
    "upsert_leads",
    "upsert_owners",
    "upsert_touches",
]
