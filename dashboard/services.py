"""What callbacks are handed: the database and settings of this app instance."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.config import Settings
from dashboard.db import Database


@dataclass(frozen=True)
class Services:
    database: Database
    settings: Settings
