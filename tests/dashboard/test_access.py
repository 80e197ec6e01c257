"""Every route and every callback is refused without a session, and with the wrong role.

The lists are enumerated from the running app, so a page or callback added later is
covered without editing this file.
"""

from __future__ import annotations

import dash
import pytest
from sqlalchemy import select

from dashboard.auth import ALL_ROLES, PAGES_ROUTER_OUTPUT, PUBLIC_ROUTES, callback_roles
from dashboard.models import AuditEvent
from tests.conftest import call, callback_body, login

PUBLIC_RULES = set(PUBLIC_ROUTES)


def concrete_path(rule: str) -> str:
    """A URL for a Flask rule, with each <variable> filled in."""
    import re

    return re.sub(r"<[^>]+>", "x", rule)


def denied_rows(database, actor_id: str) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "access_denied", AuditEvent.actor_id == actor_id
                )
            )
        )


def test_every_route_needs_a_session(app, client):
    rules = [rule for rule in app.server.url_map.iter_rules()]
    assert len(rules) > 8
    for rule in rules:
        path = concrete_path(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={} if method == "POST" else None)
            if rule.rule in PUBLIC_RULES:
                continue
            assert response.status_code in (302, 401), (rule.rule, method, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login")


def test_only_login_health_and_static_assets_are_public(app, client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/assets/vendor/bootstrap.min.css").status_code == 200
    # Dash's own layout and dependency routes are public in dash-auth's defaults; not here.
    for path in ("/_dash-layout", "/_dash-dependencies", "/", "/admin/users"):
        assert client.get(path).status_code in (302, 401), path


def test_every_callback_needs_a_session(app, client):
    outputs = list(app.callback_map)
    assert len(outputs) >= 8
    for output in outputs:
        response = call(client, app, output)
        assert response.status_code == 401, output


def test_every_callback_declares_its_roles(app):
    for output, _entry in app.callback_map.items():
        if PAGES_ROUTER_OUTPUT in output:
            continue  # Dash's router; the page layouts check roles themselves
        roles = callback_roles(app, output)
        assert roles, f"callback {output} was registered without roles="
        assert set(roles) <= set(ALL_ROLES)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_wrong_role_is_refused_for_every_callback_and_audited(app, client, database, users, role):
    login_name, password = users[role]
    assert login(client, role, login_name, password).status_code == 302
    refused = 0
    for output in app.callback_map:
        roles = callback_roles(app, output)
        if roles is None or role in roles:
            continue
        response = call(client, app, output)
        assert response.status_code == 403, output
        refused += 1
    assert len(denied_rows(database, login_name)) == refused
    if role != "admin":
        assert refused >= 5  # the admin pages' callbacks at least


def test_the_public_pathname_shortcut_of_dash_auth_is_closed(app, client, users):
    """dash-auth's stock gate lets a callback through if its pathname input is public."""
    body = callback_body(app, "home-cards.children")
    body["inputs"].append({"id": "_pages_location", "property": "pathname", "value": "/login"})
    assert client.post("/_dash-update-component", json=body).status_code == 401


@pytest.mark.parametrize("role", ALL_ROLES)
def test_pages_are_served_only_to_their_roles(app, client, database, users, role):
    login_name, password = users[role]
    login(client, role, login_name, password)
    pages = list(dash.page_registry.values())
    assert {page["path"] for page in pages} >= {"/", "/admin/users", "/admin/audit"}
    expected_denials = 0
    for page in pages:
        allowed = role in page["roles"]
        # A full page load:
        response = client.get(page["path"])
        assert response.status_code == (200 if allowed else 403), (role, page["path"])
        # Navigation inside the app goes through Dash's pages router callback:
        router = next(key for key in app.callback_map if PAGES_ROUTER_OUTPUT in key)
        response = call(
            client,
            app,
            router,
            values={"_pages_location.pathname": page["path"], "_pages_location.search": ""},
        )
        assert response.status_code == 200
        refused = "forbidden-notice" in response.get_data(as_text=True)
        assert refused is not allowed, (role, page["path"])
        expected_denials += 0 if allowed else 2
    assert len(denied_rows(database, login_name)) == expected_denials


def test_flask_views_marked_with_roles_are_refused_to_others(app, client, users, database):
    from dashboard.auth import requires_roles

    @requires_roles("admin")
    def admin_only():
        return "secret"

    app.server.add_url_rule("/admin-only-test", "admin_only_test", admin_only)
    login(client, "staff", *users["staff"])
    assert client.get("/admin-only-test").status_code == 403
    assert len(denied_rows(database, users["staff"][0])) == 1


def test_a_callback_registered_without_roles_is_refused(app, client, users):
    from dash import Input, Output

    @app.callback(Output("unguarded-test", "children"), Input("unguarded-in", "value"))
    def unguarded(value):  # what a future page might forget
        return value

    login(client, "admin", *users["admin"])
    response = call(client, app, "unguarded-test.children", changed=["unguarded-in.value"])
    assert response.status_code == 403


def test_dash_cancel_callbacks_get_the_roles_of_their_background_callback(app, client, users):
    """Dash adds one callback per Cancel button at the first request; the gate must let the
    background callback's roles through (and only them)."""
    login(client, "staff", *users["staff"])  # the first request sets the server up
    assert callback_roles(app, "analysis-cancel.id") == ("doctor",)
    assert callback_roles(app, "audit-export-cancel.id") == ("admin",)
    assert call(client, app, "analysis-cancel.id", changed=["analysis-cancel.n_clicks"]).status_code == 403
    doctor = app.server.test_client()
    login(doctor, "doctor", *users["doctor"])
    response = call(doctor, app, "analysis-cancel.id", changed=["analysis-cancel.n_clicks"])
    assert response.status_code in (200, 204)
