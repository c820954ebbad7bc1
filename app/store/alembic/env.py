"""Alembic's entry point for the team store: runs on the connection `facedesk db upgrade` opens.

There is no alembic.ini and no URL here: `app.store.postgres.PostgresStore.upgrade` hands over
an open SQLAlchemy connection (psycopg 3 underneath) whose password never leaves the process.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
