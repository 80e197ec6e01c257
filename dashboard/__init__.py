"""The server: app factory, configuration, database, accounts, audit, jobs, CLI."""

from dashboard.factory import StartupError, create_app, serve

__all__ = ["StartupError", "create_app", "serve"]
