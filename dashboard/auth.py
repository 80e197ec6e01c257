"""Who may do what: the login page, the session, and the gate in front of every request.

`SessionAuth` is built on dash-auth's `Auth` base class. Its gate runs before every Flask
request, Dash callbacks included, and refuses by default:

* only the login page, /healthz and static assets are public; the device ingest route
  (`DEVICE_ROUTES`) skips the session and is authenticated by a per-device token instead;
* everything else needs a live session: one the server opened at login and has not ended
  (logout ends it for every copy of the cookie), within the idle timeout, of an account still
  enabled;
* a Dash callback runs only if it was registered with `roles=` (see `guarded_callback`)
  and the user has one of them; a page is served only to the roles it was registered
  with (`dash.register_page(..., roles=[...])`); a Flask view only to the roles of
  `@requires_roles(...)`.

A refusal for a logged-in user answers 403 and writes an `access_denied` audit row.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from urllib.parse import urlencode

import dash
from dash_auth.auth import Auth
from dash_auth.group_protection import check_groups
from flask import Blueprint, Response, has_request_context, jsonify, redirect, request, session
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.routing import Map, MapAdapter, Rule

from dashboard import audit
from dashboard.accounts import Account, Role, get_account
from dashboard.audit import Actor, utcnow
from dashboard.config import Settings
from dashboard.db import Database
from dashboard.login import LoginPolicy, authenticate
from dashboard.models import AuthSession

PUBLIC_ROUTES = ("/login", "/healthz", "/assets/<path:filename>", "/_favicon.ico")
# Routes a bedside device calls with its own token instead of a session: the gate lets them
# through and the view refuses (401) a missing, unknown or revoked token itself.
DEVICE_ROUTES = ("/api/monitor/ingest",)
PAGES_ROUTER_OUTPUT = "_pages_content.children"
# Dash serves its index page for "/" and every other path; the page is chosen in the browser.
DASH_INDEX_ENDPOINTS = ("/", "/<path:path>")
ALL_ROLES = tuple(role.value for role in Role)
ACCOUNT_RECHECK_S = 15.0

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True)
class SessionUser:
    role: str
    account_id: str
    login_name: str
    display_name: str

    def actor(self) -> Actor:
        return Actor(role=self.role, account_id=self.account_id, client_ip=client_ip())


def client_ip() -> str:
    return (request.remote_addr or "unknown")[:64]


def current_user() -> SessionUser | None:
    """The logged-in user of this request, or None (also outside a request)."""
    if not has_request_context():
        return None
    data = session.get("user")
    if not isinstance(data, dict):
        return None
    try:
        return SessionUser(
            role=data["role"],
            account_id=data["id"],
            login_name=data["login"],
            display_name=data["name"],
        )
    except KeyError:
        return None


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


# --- Marking callbacks, views and pages with the roles that may use them ----------------


def guarded_callback(app: dash.Dash, *args, roles: Iterable[str], **kwargs) -> Callable:
    """`app.callback(...)` that only the given roles may call (checked by the gate)."""
    allowed = tuple(roles)
    unknown = set(allowed) - set(ALL_ROLES)
    if not allowed or unknown:
        raise ValueError(f"roles must be a non-empty subset of {ALL_ROLES}, got {allowed}")

    def decorator(func: Callable) -> Callable:
        func.ecg_roles = allowed  # copied onto Dash's wrapper by functools.wraps
        # Dash adds a callback of its own per Cancel input of a background callback (output
        # "<cancel id>.id", registered at the first request); it gets the same roles. Which
        # job it stops is signed by Dash, so a user can only cancel their own jobs.
        cancel = kwargs.get("cancel") or []
        for cancel_input in cancel if isinstance(cancel, list | tuple) else [cancel]:
            key = f"{cancel_input.component_id}.id"
            known = _cancel_roles(app)
            known[key] = tuple(dict.fromkeys(known.get(key, ()) + allowed))
        return app.callback(*args, **kwargs)(func)

    return decorator


def _cancel_roles(app: dash.Dash) -> dict[str, tuple[str, ...]]:
    if not hasattr(app, "ecg_cancel_roles"):
        app.ecg_cancel_roles = {}
    return app.ecg_cancel_roles


def requires_roles(*roles: str) -> Callable:
    """Mark a Flask view with the roles that may open it (checked by the gate)."""

    def decorator(view: Callable) -> Callable:
        view.ecg_roles = tuple(roles)
        return view

    return decorator


def callback_roles(app: dash.Dash, output: str) -> tuple[str, ...] | None:
    entry = app.callback_map.get(output)
    if entry is None:
        return None
    roles = getattr(entry.get("callback"), "ecg_roles", None)
    if roles is None and getattr(entry.get("callback"), "__name__", "") == "cancel_call":
        roles = _cancel_roles(app).get(output)
    return roles


def page_for_path(pathname: str) -> dict | None:
    """The registered page a URL path shows (templates like /patients/<patient_id> match)."""
    wanted = [part for part in (pathname or "/").split("/") if part]
    for page in dash.page_registry.values():
        template = [part for part in (page.get("path_template") or page["path"]).split("/") if part]
        if len(template) == len(wanted) and all(
            t == w or (t.startswith("<") and t.endswith(">")) for t, w in zip(template, wanted, strict=False)
        ):
            return page
    return None


def page_roles(page: dict) -> tuple[str, ...]:
    return tuple(page.get("roles") or ())


def guard_page_layouts(forbidden_layout: Callable[[], object], database: Database) -> None:
    """Wrap every registered page's layout so that the pages router refuses wrong roles."""
    for page in dash.page_registry.values():
        layout = page["layout"]
        if getattr(layout, "ecg_guarded", False):
            continue
        page["layout"] = _guarded_layout(layout, page, forbidden_layout, database)


def _guarded_layout(layout, page: dict, forbidden_layout, database: Database):
    roles = page_roles(page)

    @wraps(layout) if callable(layout) else (lambda f: f)
    def guarded(**kwargs):
        user = current_user()
        if user is None or user.role not in roles:
            if user is not None:
                with database.transaction() as db:
                    audit.record(db, user.actor(), "access_denied", outcome="denied", target=page["path"])
            return forbidden_layout()
        return layout(**kwargs) if callable(layout) else layout

    guarded.ecg_guarded = True
    return guarded


# --- The gate ------------------------------------------------------------------------------


class SessionAuth(Auth):
    """Login-page authentication for the whole app, on dash-auth's Auth base class."""

    def __init__(self, app: dash.Dash, database: Database, settings: Settings):
        self.database = database
        self.settings = settings
        self.policy = LoginPolicy(settings.login_max_failures, settings.login_lock_minutes)
        self._active_cache: dict[tuple[str, str], tuple[float, bool]] = {}
        self._open_cache: dict[str, tuple[float, bool]] = {}
        self.public_routes: MapAdapter = Map([Rule(route) for route in PUBLIC_ROUTES]).bind("")
        super().__init__(app)
        app.server.register_blueprint(self._blueprint())

    # dash-auth's default gate lets any callback through whose `pathname` input names a
    # public route; this one has no such exception: callbacks are checked one by one.
    def _protect(self) -> None:
        self.app.server.before_request(self._gate)

    def is_authorized(self) -> bool:
        return self._live_user() is not None

    def login_request(self) -> Response:
        if request.path.startswith(("/_dash-", "/api/")) or request.is_json:
            response = jsonify(error="Your session has ended. Please log in again.", login="/login")
            response.status_code = 401
            return response
        target = request.full_path if request.query_string else request.path
        return redirect("/login?" + urlencode({"next": target}))

    def _gate(self) -> Response | None:
        if self._is_public(request.path):
            return None
        if request.path in DEVICE_ROUTES and request.method == "POST":
            return None  # authenticated by the view with the device's token
        user = self._live_user()
        if user is None:
            return self.login_request()
        if request.path == "/_dash-update-component":
            return self._check_callback(user)
        view = self.app.server.view_functions.get(request.endpoint or "")
        roles = getattr(view, "ecg_roles", None)
        if request.endpoint in DASH_INDEX_ENDPOINTS:  # a full load of a page's address
            page = page_for_path(request.path)
            roles = page_roles(page) if page is not None else roles
        if roles is not None and user.role not in roles:
            return self._deny(user, request.path, html=True)
        return None

    def _is_public(self, path: str) -> bool:
        try:
            self.public_routes.match(path)
            return True
        except Exception:
            return False

    def _check_callback(self, user: SessionUser) -> Response | None:
        body = request.get_json(silent=True) or {}
        output = str(body.get("output", ""))
        if PAGES_ROUTER_OUTPUT in output:
            return None  # the page layouts check their roles themselves
        roles = callback_roles(self.app, output)
        if roles is None or not check_groups(list(roles)):
            return self._deny(user, output)
        return None

    def _deny(self, user: SessionUser, target: str, html: bool = False) -> Response:
        with self.database.transaction() as db:
            audit.record(db, user.actor(), "access_denied", outcome="denied", target=target)
        if html:
            page = _templates.get_template("forbidden.html").render(user=user)
            return Response(page, status=403, mimetype="text/html")
        response = jsonify(error="You are not allowed to do this. The attempt was recorded.")
        response.status_code = 403
        return response

    def _live_user(self) -> SessionUser | None:
        """The session's user if the session is fresh and the account still enabled."""
        user = current_user()
        if user is None:
            return None
        now = time.time()
        last_seen = session.get("seen", 0)
        if now - last_seen > self.settings.session_idle_minutes * 60:
            with self.database.transaction() as db:
                audit.record(db, user.actor(), "session_expired")
            self._end_session("expired")
            session.clear()
            return None
        if not self._session_open(now) or not self._account_active(user, now):
            session.clear()
            return None
        if now - last_seen > 5:  # avoid re-signing the cookie on every callback
            session["seen"] = now
        return user

    def _session_open(self, now: float) -> bool:
        """Whether the server still holds this cookie's session open (checked again every
        ACCOUNT_RECHECK_S per process; a logout in this process takes effect at once)."""
        key = _session_key(session.get("sid"))
        if key is None:
            return False
        checked = self._open_cache.get(key)
        if checked and now - checked[0] < ACCOUNT_RECHECK_S:
            return checked[1]
        with self.database.transaction() as db:
            row = db.get(AuthSession, key)
            is_open = row is not None and row.ended_at is None
        self._open_cache[key] = (now, is_open)
        return is_open

    def _end_session(self, why: str) -> None:
        """Mark this cookie's session ended on the server, so no copy of the cookie works."""
        key = _session_key(session.get("sid"))
        if key is None:
            return
        with self.database.transaction() as db:
            row = db.get(AuthSession, key)
            if row is not None and row.ended_at is None:
                row.ended_at, row.ended_why = utcnow(), why
        self._open_cache[key] = (time.time(), False)

    def _account_active(self, user: SessionUser, now: float) -> bool:
        key = (user.role, user.account_id)
        checked = self._active_cache.get(key)
        if checked and now - checked[0] < ACCOUNT_RECHECK_S:
            return checked[1]
        with self.database.transaction() as db:
            account = get_account(db, Role(user.role), user.account_id)
            active = account is not None and not account.disabled
        self._active_cache[key] = (now, active)
        return active

    # --- The login page ---------------------------------------------------------------

    def _blueprint(self) -> Blueprint:
        blueprint = Blueprint("auth", __name__)
        blueprint.add_url_rule("/login", "login", self._login_view, methods=["GET", "POST"])
        blueprint.add_url_rule("/logout", "logout", self._logout_view, methods=["POST"])
        blueprint.add_url_rule("/healthz", "healthz", lambda: jsonify(status="ok"))
        return blueprint

    def _login_view(self) -> Response | str:
        next_path = _safe_next(request.values.get("next"))
        if request.method == "GET":
            if current_user() is not None:
                return redirect(next_path)
            return self._render_login(next_path)
        form = request.form
        if not _csrf_matches(form.get("csrf")):
            return self._render_login(next_path, "Your login form expired. Please try again.", 400)
        try:
            role = Role(form.get("role", ""))
        except ValueError:
            role = Role.DOCTOR
        with self.database.transaction() as db:
            outcome = authenticate(
                db,
                role,
                form.get("username", "")[:255],
                form.get("password", "")[:1024],
                client_ip(),
                utcnow(),
                self.policy,
            )
        if outcome.account is None:
            return self._render_login(next_path, outcome.message, 401, role.value)
        self._start_session(outcome.account)
        return redirect(next_path)

    def _start_session(self, account: Account) -> None:
        session.clear()  # a fresh session on login: no fixation of a pre-login cookie
        session["user"] = {
            "role": account.role.value,
            "id": account.account_id,
            "login": account.login_name,
            "name": account.display_name,
            "groups": [account.role.value],  # what dash-auth's check_groups reads
        }
        session["seen"] = time.time()
        session["csrf"] = secrets.token_urlsafe(32)
        session["sid"] = secrets.token_urlsafe(32)
        with self.database.transaction() as db:
            db.add(
                AuthSession(
                    session_sha256=_session_key(session["sid"]),
                    role=account.role.value,
                    account_id=account.account_id,
                    opened_at=utcnow(),
                )
            )
        self._active_cache.pop((account.role.value, account.account_id), None)

    def _logout_view(self) -> Response:
        user = current_user()
        if user is not None and secrets.compare_digest(request.form.get("csrf", ""), session.get("csrf", "")):
            with self.database.transaction() as db:
                audit.record(db, user.actor(), "logout")
            self._end_session("logout")
            session.clear()
        return redirect("/login")

    def _render_login(
        self, next_path: str, message: str | None = None, status: int = 200, role: str = "doctor"
    ) -> Response:
        page = _templates.get_template("login.html").render(
            csrf=csrf_token(), next=next_path, message=message, role=role
        )
        return Response(page, status=status, mimetype="text/html")


def _session_key(session_id: object) -> str | None:
    """The stored key of a session id: its SHA-256 (the id itself is never stored)."""
    if not isinstance(session_id, str) or not session_id:
        return None
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _csrf_matches(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and sent) and secrets.compare_digest(sent, expected)


def _safe_next(value: str | None) -> str:
    """Only a local path: never redirect a user to another site after login."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if value.startswith(("/login", "/logout")):
        return "/"
    return value
