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
:mod:`.goals`, :mod:`.writeback` (confirmed values, outbox, alerts), :mod:`.ops` (cursors,
runs, quarantine) and :mod:`.queues` (the pipeline's evaluation and push queues, MQL entries).
"""

from __future__ import annotations

from sla_sync.store.repositories.crm import (
    activity_of,
    add_field_changes,
    add_lifecycle_changes,
    add_owner_changes,
    connection_ids,
    ensure_connection,
    leads_owned_by,
    load_leads,
    load_owners,
    mark_leads_deleted,
    mark_leads_merged,
    merge_survivors,
    remove_activities,
    replace_activity_links,
    upsert_leads,
    upsert_owners,
    upsert_touches,
)
from sla_sync.store.repositories.evaluation import (
    close_period,
    due_cycle_leads,
    load_attainments,
    load_cycles,
    open_cycle_leads,
    save_attainments,
    save_cycles,
)
from sla_sync.store.repositories.goals import (
    current_goal,
    freeze_goal_period,
    goal_history,
    latest_goal,
    publish_goal_version,
)
from sla_sync.store.repositories.history import load_histories
from sla_sync.store.repositories.ops import (
    api_calls_since,
    close_abandoned_runs,
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
from sla_sync.store.repositories.queues import (
    QueuedPush,
    dequeue_evaluation,
    dequeue_push,
    enqueue_evaluation,
    enqueue_push,
    evaluation_backlog,
    evaluation_batch,
    load_mqls,
    push_backlog,
    push_batch,
    record_push_failure,
    save_mqls,
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
    "QueuedPush",
    "activity_of",
    "add_field_changes",
    "add_lifecycle_changes",
    "add_owner_changes",
    "api_calls_since",
    "close_abandoned_runs",
    "close_period",
    "confirm_values",
    "connection_ids",
    "current_goal",
    "dequeue_evaluation",
    "dequeue_push",
    "due_cycle_leads",
    "enqueue_evaluation",
    "enqueue_push",
    "ensure_connection",
    "evaluation_backlog",
    "evaluation_batch",
    "finish_run",
    "freeze_goal_period",
    "get_cursor",
    "get_cursors",
    "get_outbox_entry",
    "goal_history",
    "latest_goal",
    "leads_owned_by",
    "list_alerts",
    "load_attainments",
    "load_confirmed",
    "load_cycles",
    "load_histories",
    "load_leads",
    "load_mqls",
    "load_owners",
    "mark_confirmed",
    "mark_failed",
    "mark_leads_deleted",
    "mark_leads_merged",
    "mark_sent",
    "merge_survivors",
    "open_cycle_leads",
    "publish_goal_version",
    "push_backlog",
    "push_batch",
    "quarantine",
    "recent_runs",
    "record_cycle_alert",
    "record_intent",
    "record_period_alert",
    "record_push_failure",
    "remove_activities",
    "replace_activity_links",
    "resolve_quarantined",
    "save_attainments",
    "save_cycles",
    "save_mqls",
    "set_cursor",
    "start_run",
    "unfinished_outbox",
    "unresolved_quarantine",
    "upsert_leads",
    "upsert_owners",
    "upsert_touches",
]
