"""The one way to reach the database: a Database object owning the engine and sessions.

Each user action runs in one `with database.transaction() as session:` block, so it is
written whole or not at all. pool_pre_ping replaces connections the server dropped, so the
app recovers by itself after the database comes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.config import masked_url


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message names the URL with its password masked."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # Enforce the original schema's foreign keys, as MySQL does; WAL lets readers and one
    # writer (the background job) work at once.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_recycle=3600)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        return masked_url(self.url)

    def check_connection(self) -> None:
        """Raise DatabaseUnavailable with one readable line if the database does not answer."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise DatabaseUnavailable(
                f"Cannot connect to the database at {self.display_url}: {reason}"
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
