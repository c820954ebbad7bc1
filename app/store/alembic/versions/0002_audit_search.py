"""The audit text filter's trigram index (pg_trgm), so a filter need not read the whole trail.

Revision ID: 0002_audit_search
Revises: 0001_team_store
"""

from __future__ import annotations

from alembic import op

from app.store.migrations.postgres import STEPS

revision = "0002_audit_search"
down_revision = "0001_team_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # As in 0001: straight to psycopg, so the PL/pgSQL and SQL bodies pass through untouched.
    cursor = op.get_bind().connection.cursor()
    cursor.execute(STEPS[2].encode())


def downgrade() -> None:
    # Forward only, as the whole team store (see 0001).
    raise NotImplementedError("the team store is never downgraded; restore a backup instead")
