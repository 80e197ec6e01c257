"""The frame around every page: navigation bar, user menu, error banner, page container."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

GLOBAL_ERROR_ID = "global-error"


def nav_pages(role: str | None) -> list[dict]:
    """Registered pages this role may open and that want a menu entry, in menu order."""
    pages = [
        page
        for page in dash.page_registry.values()
        if page.get("nav_order") is not None and role in (page.get("roles") or ())
    ]
    return sorted(pages, key=lambda page: page["nav_order"])


def navbar(user, csrf: str) -> dbc.Navbar:
    links = [
        dbc.NavItem(
            dbc.NavLink(
                [html.I(className=f"bi {page.get('icon', 'bi-circle')} me-1"), page["name"]],
                href=page["path"],
                active="exact",
                id=f"nav-{page['path'].strip('/').replace('/', '-') or 'home'}",
            )
        )
        for page in nav_pages(user.role if user else None)
    ]
    user_menu = []
    if user is not None:
        user_menu = [
            html.Span(
                [
                    html.I(className="bi bi-person-circle me-1"),
                    user.display_name,
                    dbc.Badge(user.role, color="light", text_color="dark", className="ms-2"),
                ],
                className="navbar-text text-white me-3",
                id="nav-user",
            ),
            html.Form(
                [
                    dcc.Input(type="hidden", name="csrf", value=csrf),
                    html.Button(
                        [html.I(className="bi bi-box-arrow-right me-1"), "Log out"],
                        type="submit",
                        className="btn btn-outline-light btn-sm",
                        id="logout-button",
                    ),
                ],
                action="/logout",
                method="POST",
                className="d-flex",
            ),
        ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand([html.I(className="bi bi-heart-pulse me-2"), "ECG Dashboard"], href="/"),
                dbc.Nav(links, navbar=True, className="me-auto"),
                html.Div(user_menu, className="d-flex align-items-center"),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        className="mb-3",
    )


def app_shell(user, csrf: str) -> html.Div:
    return html.Div(
        [
            navbar(user, csrf),
            dbc.Container(
                [
                    dbc.Alert(
                        id=GLOBAL_ERROR_ID,
                        color="danger",
                        is_open=False,
                        dismissable=True,
                        className="mb-3",
                    ),
                    dash.page_container,
                ],
                fluid=True,
            ),
        ]
    )


def forbidden_notice() -> dbc.Alert:
    return dbc.Alert(
        [
            html.H4("Not allowed", className="alert-heading"),
            html.P("Your role may not open this page. The attempt was recorded."),
            dcc.Link("Back to the start page", href="/"),
        ],
        color="warning",
        id="forbidden-notice",
    )
