"""Alembic environment: runs on the connection ``wfm_api.db.migrate`` passes in (no alembic.ini needed)."""

from alembic import context

from wfm_api.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
