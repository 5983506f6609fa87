"""Pipeline state: touch activity ids, MQL entries per agreement, evaluation and push queues.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

* ``touches.activity_crm_id`` (+ index): a pulled page that lists an activity's complete set of
  lead links drops the activity's other touch rows; existing rows are back-filled from their id
  (``<activity>/<lead>``).
* ``lead_mqls``: each lead's MQL entries per agreement, so marketing's delivered count of a
  period is a query.
* ``evaluation_queue`` / ``push_queue``: leads waiting for the evaluate and push steps, written
  in the same transaction as what made them wait, so a killed run loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sla_sync.store.types import UtcDateTime

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["connections.id"],
        name=op.f(f"fk_{table}_connection_id_connections"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("touches") as batch:
        batch.add_column(sa.Column("activity_crm_id", sa.String(length=64), nullable=True))
    # ``<activity>/<lead>``: strip the "/<lead>" suffix; same SQL on SQLite and PostgreSQL.
    op.execute(
        "UPDATE touches SET activity_crm_id = "
        "substr(crm_id, 1, length(crm_id) - length(lead_crm_id) - 1) "
        "WHERE length(crm_id) > length(lead_crm_id) + 1 "
        "AND substr(crm_id, length(crm_id) - length(lead_crm_id)) = '/' || lead_crm_id"
    )
    op.create_index("ix_touches_activity", "touches", ["connection_id", "activity_crm_id"])

    op.create_table(
        "lead_mqls",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("agreement", sa.String(length=100), nullable=False),
        sa.Column("lead_crm_id", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("segment", sa.String(length=255), nullable=True),
        _connection_fk("lead_mqls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_mqls")),
        sa.UniqueConstraint("agreement", "connection_id", "lead_crm_id", "at", name="uq_lead_mqls"),
    )
    op.create_index("ix_lead_mqls_period", "lead_mqls", ["agreement", "at"])
    op.create_table(
        "evaluation_queue",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("lead_crm_id", sa.String(length=64), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=False),
        _connection_fk("evaluation_queue"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_queue")),
        sa.UniqueConstraint("connection_id", "lead_crm_id", name="uq_evaluation_queue"),
    )
    op.create_table(
        "push_queue",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("lead_crm_id", sa.String(length=64), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", UtcDateTime(), nullable=True),
        _connection_fk("push_queue"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_queue")),
        sa.UniqueConstraint("connection_id", "lead_crm_id", name="uq_push_queue"),
    )


def downgrade() -> None:
    op.drop_table("push_queue")
    op.drop_table("evaluation_queue")
    op.drop_table("lead_mqls")
    op.drop_index("ix_touches_activity", table_name="touches")
    with op.batch_alter_table("touches") as batch:
        batch.drop_column("activity_crm_id")
