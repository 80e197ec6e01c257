"""The application factory: configuration in, a ready Dash app out."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
import uuid

import dash
from dash import Dash, set_props
from flask import Response, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.auth import SessionAuth, csrf_token, current_user, guard_page_layouts
from dashboard.config import REPO_ROOT, ConfigError, Settings
from dashboard.db import Database, DatabaseUnavailable
from dashboard.demo import seed_demo_if_empty
from dashboard.ecg_records import (
    monitor_shock_advisory,
    recordings_dir,
    rhythm_classifier,
    rhythm_unclassified_reason,
)
from dashboard.jobs import build_background_manager, make_celery
from dashboard.live_buffer import build_stream_store
from dashboard.live_routes import monitor_blueprint
from dashboard.migrate import upgrade_to_head
from dashboard.monitoring import LiveMonitor
from dashboard.services import Services

log = logging.getLogger("dashboard")

ASSETS_DIR = REPO_ROOT / "assets"
VENDORED_CSS = [
    "/assets/vendor/bootstrap.min.css",
    "/assets/vendor/bootstrap-icons/bootstrap-icons.min.css",
]
DB_LOST = (
    "The database could not be reached, so your last action was not saved. Please try again in a moment."
)

StartupError = (ConfigError, DatabaseUnavailable)


def create_app(settings: Settings | None = None) -> Dash:
    """Build the Dash app: database migrated, pages, callbacks, auth gate, job manager.

    Raises ConfigError or DatabaseUnavailable with one readable line when it cannot start.
    """
    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    database.check_connection()
    upgrade_to_head(database, lock_dir=settings.instance_dir)

    celery_app = make_celery(settings) if settings.celery_broker_url else None
    app = Dash(
        __name__,
        assets_folder=str(ASSETS_DIR),
        # Bootstrap and its icons are linked once, in order, through external_stylesheets;
        # Dash must not add them a second time from the assets folder.
        assets_path_ignore=["^vendor$"],
        external_stylesheets=VENDORED_CSS,
        use_pages=True,
        pages_folder="",
        suppress_callback_exceptions=True,
        background_callback_manager=build_background_manager(settings, celery_app),
        title="ECG Dashboard",
        update_title=None,
        on_error=_show_callback_error,
    )
    app.ecg_celery = celery_app
    monitor = _live_monitor(database, settings)
    app.ecg_services = Services(database=database, settings=settings, monitor=monitor)
    _configure_server(app, settings)
    app.server.config["ECG_MONITOR"] = app.ecg_services.monitor
    app.server.register_blueprint(monitor_blueprint())
    _register_pages()
    guard_page_layouts(_forbidden_layout, database)
    app.layout = lambda: _shell()
    import callbacks

    callbacks.register_all(app, app.ecg_services)
    SessionAuth(app, database, settings)
    return app


def _live_monitor(database: Database, settings: Settings) -> LiveMonitor:
    """The live-monitoring service: ring buffers in Redis when ECG_REDIS_URL is set."""
    classifier = rhythm_classifier if settings.monitor_rhythm else (lambda: None)
    return LiveMonitor(
        database,
        build_stream_store(settings.redis_url),
        classifier=classifier,
        unclassified_reason=rhythm_unclassified_reason if settings.monitor_rhythm else (lambda: None),
        shock_advisory=monitor_shock_advisory if settings.monitor_rhythm else (lambda: None),
        ingest_rate_per_s=settings.monitor_ingest_rate_per_s,
        recordings_dir=recordings_dir(settings),
    )


def _register_pages() -> None:
    """Import every module of pages/; each registers itself with dash.register_page."""
    import pages

    for found in pkgutil.iter_modules(pages.__path__):
        name = f"pages.{found.name}"
        if name in sys.modules:
            module = importlib.reload(sys.modules[name])  # a second app in this process
        else:
            module = importlib.import_module(name)
        # With pages_folder="" Dash leaves the layout to us (it would import the files
        # itself under a module name derived from the working directory).
        dash.page_registry[name]["layout"] = module.layout


def _shell():
    from components.shell import app_shell

    return app_shell(current_user(), csrf_token() if current_user() else "")


def _forbidden_layout():
    from components.shell import forbidden_notice

    return forbidden_notice()


def _configure_server(app: Dash, settings: Settings) -> None:
    server = app.server
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="ecg_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # Uploads travel base64-encoded inside a callback's JSON body: 4/3 of the file.
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024 * 4 // 3 + 1024 * 1024,
    )
    if settings.proxy_count:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count)

    @server.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith(("/assets/", "/_dash-component-suites/")):
            response.headers["Cache-Control"] = "no-store"
        return response

    @server.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        response = jsonify(error=f"The file is larger than the upload limit of {settings.max_upload_mb} MB.")
        response.status_code = 413
        return response

    @server.errorhandler(Exception)
    def unexpected(exc):
        if isinstance(exc, HTTPException):
            return exc
        reference = uuid.uuid4().hex[:8]
        log.exception("request failed (ref %s)", reference)
        if isinstance(exc, (OperationalError, DBAPIError)):
            response = jsonify(error=DB_LOST)
            response.status_code = 503
            return response
        response = jsonify(error=f"Something went wrong (reference {reference}). Nothing was changed.")
        response.status_code = 500
        return response


def _show_callback_error(error: Exception) -> None:
    """Every callback's unexpected error: logged with a reference, shown as a banner."""
    reference = uuid.uuid4().hex[:8]
    log.error("callback failed (ref %s)", reference, exc_info=error)
    if isinstance(error, (OperationalError, DBAPIError)):
        message = DB_LOST
    else:
        message = f"Something went wrong (reference {reference}). Nothing was changed."
    set_props("global-error", {"children": message, "is_open": True})


def serve(app: Dash) -> None:
    """`python app.py`: seed demo content on an empty database, then serve (never debug)."""
    services: Services = app.ecg_services
    settings = services.settings
    if settings.seed_demo:
        logins = seed_demo_if_empty(services.database, settings.instance_dir)
        if logins:
            print("Created demo accounts (also in instance/demo-logins.txt):")
            for login in logins:
                print(f"  {login.role:7s} {login.login_name:12s} password: {login.password}")
    url = f"http://{settings.host}:{settings.port}/"
    print(f"ECG dashboard on {url}  (database {services.database.display_url})")
    app.run(host=settings.host, port=settings.port, debug=False)


__all__ = ["create_app", "serve", "StartupError"]
