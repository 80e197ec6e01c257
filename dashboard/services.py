"""What callbacks are handed: the database and settings of this app instance."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.config import Settings
from dashboard.db import Database
from dashboard.monitoring import LiveMonitor


@dataclass(frozen=True)
class Services:
    database: Database
    settings: Settings
    monitor: LiveMonitor | None = None
