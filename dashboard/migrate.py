"""Apply the Alembic migrations: at server start and through `python -m dashboard init-db`."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from dashboard.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(database: Database, lock_dir: Path | None = None) -> str:
    """Bring the schema to the newest revision and return it.

    With lock_dir, an exclusive file lock there keeps gunicorn workers that start together
    from migrating at the same time.
    """
    if lock_dir is None:
        return _upgrade(database)
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _upgrade(database)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _upgrade(database: Database) -> str:
    if current_revision(database) == head_revision():
        return head_revision()
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return head_revision()
