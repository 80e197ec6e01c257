"""Alembic environment: runs on the connection the server hands it (dashboard.migrate),
or on ECG_DATABASE_URL when called through the `alembic` command itself."""

from alembic import context
from sqlalchemy import create_engine

from dashboard.config import Settings
from dashboard.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(Settings.from_env().database_url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
