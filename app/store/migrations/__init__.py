"""Schema migrations, plain SQL per dialect: `sqlite` (applied on open) and `postgres`.

PostgreSQL's are applied only by `facedesk db upgrade`, run by the database owner: reviewers'
logins cannot create tables, and an app that finds an older or newer schema says which command
to run instead of changing it. Why plain SQL and not Alembic: see `app.store`.
"""
