"""The login page, throttling, session lifetime and cookie flags."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.accounts import Role, set_disabled
from dashboard.audit import utcnow
from dashboard.login import GENERIC_FAILURE, LoginPolicy, authenticate
from dashboard.models import AuditEvent
from tests.conftest import TEST_ACTOR, call, login, settings_for


def audit_rows(database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_each_role_logs_in_and_is_sent_where_it_asked(client, users):
    for role, (login_name, password) in users.items():
        response = login(client, role, login_name, password, next_path="/account")
        assert response.status_code == 302
        assert response.headers["Location"] == "/account"
        assert client.get("/account").status_code == 200
        client.post("/logout", data={"csrf": _csrf(client)})


def test_doctor_may_log_in_with_doctor_id_too(client, database):
    from dashboard.accounts import create_account

    with database.transaction() as session:
        create_account(
            session, TEST_ACTOR, Role.DOCTOR, "gregory", "Gregory House", "vicodin-1234", doctor_id="D-0042"
        )
    assert login(client, "doctor", "D-0042", "vicodin-1234").status_code == 302
    assert client.get("/").status_code == 200


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session.get("csrf", "")


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "locked", "disabled", "wrong role"])
def test_every_failed_login_looks_the_same_and_is_audited(app, client, database, users, case):
    login_name, password = users["doctor"]
    role = "doctor"
    if case == "wrong password":
        password = password + "x"
    elif case == "unknown user":
        login_name = "nobody"
    elif case == "locked":
        for _ in range(5):
            login(client, "doctor", login_name, "wrong-password")
    elif case == "disabled":
        with database.transaction() as session:
            set_disabled(session, TEST_ACTOR, Role.DOCTOR, login_name, True)
    elif case == "wrong role":
        role = "staff"
    response = login(client, role, login_name, password)
    body = response.get_data(as_text=True)
    assert response.status_code == 401
    assert GENERIC_FAILURE.replace("'", "&#39;") in body
    assert "Traceback" not in body
    assert client.get("/").status_code == 302  # still not logged in
    failures = audit_rows(database, "login_failed")
    assert failures and failures[-1].outcome == "failed"
    assert failures[-1].client_ip


def test_five_failures_lock_the_account_for_fifteen_minutes(database, users):
    login_name, password = users["doctor"]
    policy = LoginPolicy(max_failures=5, lock_minutes=15)
    start = utcnow()

    def attempt(secret, at, client_ip="10.0.0.1"):
        with database.transaction() as session:
            return authenticate(session, Role.DOCTOR, login_name, secret, client_ip, at, policy)

    for i in range(4):
        assert attempt("bad", start + timedelta(seconds=i)).account is None
    assert attempt(password, start + timedelta(seconds=5)).account is not None  # resets count
    for i in range(5):
        attempt("bad", start + timedelta(seconds=10 + i), client_ip=f"10.0.1.{i}")
    # Locked now, even with the right password and from another machine:
    assert attempt(password, start + timedelta(minutes=1), client_ip="10.0.2.1").account is None
    assert attempt(password, start + timedelta(minutes=14), client_ip="10.0.2.1").account is None
    assert attempt(password, start + timedelta(minutes=15, seconds=15), client_ip="10.0.2.1").account
    reasons = [row.detail for row in audit_rows(database, "login_failed")]
    assert sum("account locked" in reason for reason in reasons) == 2


def test_five_failures_lock_the_client_across_accounts(database, users):
    policy = LoginPolicy(max_failures=5, lock_minutes=15)
    start = utcnow()
    names = ["nobody", "admin.test", "staff.test", "x", "y"]

    def attempt(name, secret, client_ip, at):
        with database.transaction() as session:
            return authenticate(session, Role.STAFF, name, secret, client_ip, at, policy)

    for i, name in enumerate(names):
        attempt(name, "guess", "192.0.2.7", start + timedelta(seconds=i))
    staff_login, staff_password = users["staff"]
    later = start + timedelta(minutes=1)
    locked = attempt(staff_login, staff_password, "192.0.2.7", later)
    elsewhere = attempt(staff_login, staff_password, "192.0.2.8", later)
    assert locked.account is None and locked.message == GENERIC_FAILURE
    assert elsewhere.account is not None


def test_idle_session_expires(tmp_path, users_for_short_idle):
    client, database = users_for_short_idle
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["seen"] -= 31 * 60
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert audit_rows(database, "session_expired")


@pytest.fixture
def users_for_short_idle(app, client, users, database):
    login(client, "doctor", *users["doctor"])
    return client, database


def test_a_disabled_account_loses_its_open_session(app, client, users, database, monkeypatch):
    import dashboard.auth as auth

    monkeypatch.setattr(auth, "ACCOUNT_RECHECK_S", 0.0)
    login(client, "staff", *users["staff"])
    assert client.get("/").status_code == 200
    with database.transaction() as session:
        set_disabled(session, TEST_ACTOR, Role.STAFF, users["staff"][0], True)
    assert client.get("/").status_code == 302
    assert call(client, app, "home-cards.children").status_code == 401


def test_logout_needs_the_csrf_token_and_ends_the_session(client, users, database):
    login(client, "doctor", *users["doctor"])
    client.post("/logout", data={"csrf": "forged"})
    assert client.get("/").status_code == 200  # a forged logout does nothing
    client.post("/logout", data={"csrf": _csrf(client)})
    assert client.get("/").status_code == 302
    assert audit_rows(database, "logout")


def test_a_copy_of_the_cookie_stops_working_at_logout(app, client, users, database):
    # Someone copies the session cookie (a shared workstation, a stolen browser profile); the
    # user logs out. The copy must not outlive the session: the server ended it.
    login(client, "doctor", *users["doctor"])
    cookie = client.get_cookie("ecg_session")
    thief = app.server.test_client()
    thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
    assert thief.get("/account").status_code == 200  # the copy works while the session is open

    client.post("/logout", data={"csrf": _csrf(client)})

    refused = thief.get("/account")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    with database.transaction() as session:
        from dashboard.models import AuthSession

        ended = list(session.scalars(select(AuthSession).where(AuthSession.ended_why == "logout")))
    assert len(ended) == 1 and len(ended[0].session_sha256) == 64
    # The id itself is never stored: only its SHA-256.
    with client.session_transaction() as browser:
        assert "sid" not in browser


def test_a_cookie_without_a_server_session_is_refused(app, client, users):
    # A cookie signed with the app's key but naming no session the server opened (forged from a
    # leaked key, or from before this version) does not let anyone in.
    login(client, "doctor", *users["doctor"])
    with client.session_transaction() as browser:
        browser["sid"] = "not-a-session-the-server-opened"
    refused = client.get("/account")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")


def test_login_form_without_its_csrf_token_is_refused(client, users):
    login_name, password = users["doctor"]
    response = client.post("/login", data={"role": "doctor", "username": login_name, "password": password})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_session_cookie_flags(tmp_path, users, client):
    response = login(client, "doctor", *users["doctor"])
    cookie = response.headers["Set-Cookie"]
    assert "ecg_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_secure_cookie_when_configured_for_https(tmp_path):
    from dashboard import create_app

    app = create_app(settings_for(tmp_path, environ={"ECG_SECURE_COOKIES": "true"}))
    response = app.server.test_client().get("/login")
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil", "javascript:x"])
def test_login_never_redirects_off_site(client, users, target):
    response = login(client, "doctor", *users["doctor"], next_path=target)
    assert response.headers["Location"] == "/"


def test_login_page_escapes_what_it_echoes(client):
    response = client.get("/login?next=/%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
    body = response.get_data(as_text=True)
    assert "<script>alert(1)" not in body
    assert re.search(r'name="next" value="[^"]*&#34;&gt;&lt;script', body) or "&lt;script" in body
