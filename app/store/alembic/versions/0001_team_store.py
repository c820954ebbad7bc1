"""The team store as first released: registry, audit chain, rate ledger, cases, assignment.

Revision ID: 0001_team_store
Revises:
"""

from __future__ import annotations

from alembic import op

from app.store.migrations.postgres import STEPS

revision = "0001_team_store"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Straight to psycopg, with no parameters, so the percent signs and colons in the
    # PL/pgSQL bodies are not taken for placeholders; it runs in Alembic's transaction.
    cursor = op.get_bind().connection.cursor()
    cursor.execute(STEPS[1].encode())


def downgrade() -> None:
    # An audit trail is evidence: no migration ever drops it.
    raise NotImplementedError("the team store is never downgraded; restore a backup instead")
