"""The admin pages' behaviour: accounts, the audit log, and its background CSV export
(through Diskcache, and through a real Celery worker on Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from dash import CeleryManager, DiskcacheManager
from sqlalchemy import select

from dashboard import create_app
from dashboard.accounts import verify_password
from dashboard.models import AuditEvent, Doctor
from tests.conftest import IN_CI, REPO, call, callback_body, login, settings_for


def text_of(response) -> str:
    return json.dumps(response.get_json(), ensure_ascii=False)


@pytest.fixture
def admin_client(client, users):
    login(client, "admin", *users["admin"])
    return client


def test_admin_creates_a_doctor_who_can_log_in(app, admin_client, database):
    output = "..users-create-feedback.children...users-new-password.value.."
    values = {
        "users-create.n_clicks": 1,
        "users-new-role.value": "doctor",
        "users-new-login.value": "dr.new",
        "users-new-doctor-id.value": "D-99",
        "users-new-name.value": "Dr. Zoë Ñúñez",
        "users-new-password.value": "a-long-password",
    }
    response = call(admin_client, app, output, values, changed=["users-create.n_clicks"])
    assert "created" in text_of(response)
    with database.transaction() as session:
        doctor = session.get(Doctor, "D-99")
        assert doctor.username == "dr.new" and doctor.password_hash.startswith("$2b$")
        assert verify_password("a-long-password", doctor.password_hash)
        created = session.scalars(select(AuditEvent).where(AuditEvent.action == "user_created")).all()
        assert any(event.target == "doctor:D-99" and event.actor_id == "admin.test" for event in created)
    # The same login name twice is refused with a message, not a traceback:
    again = call(admin_client, app, output, values, changed=["users-create.n_clicks"])
    assert "already exists" in text_of(again)
    fresh = app.server.test_client()
    assert login(fresh, "doctor", "dr.new", "a-long-password").status_code == 302


def test_admin_disables_and_resets_an_account(app, admin_client, database, users):
    rows = call(admin_client, app, "users-table.data").get_json()["response"]["users-table"]["data"]
    index = next(i for i, row in enumerate(rows) if row["login_name"] == "staff.test")
    output = "..users-action-feedback.children...users-reset-password.value.."
    base = {"users-table.selected_rows": [index], "users-table.data": rows}
    call(admin_client, app, output, {**base, "users-disable.n_clicks": 1}, changed=["users-disable.n_clicks"])
    assert login(app.server.test_client(), "staff", *users["staff"]).status_code == 401
    call(admin_client, app, output, {**base, "users-enable.n_clicks": 1}, changed=["users-enable.n_clicks"])
    reset = {**base, "users-reset.n_clicks": 1, "users-reset-password.value": "brand-new-password"}
    call(admin_client, app, output, reset, changed=["users-reset.n_clicks"])
    assert login(app.server.test_client(), "staff", "staff.test", "brand-new-password").status_code == 302
    with database.transaction() as session:
        actions = [
            e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.actor_id == "admin.test"))
        ]
    assert {"user_disabled", "user_enabled", "user_password_reset"} <= set(actions)


def test_admin_cannot_disable_themself(app, admin_client):
    rows = call(admin_client, app, "users-table.data").get_json()["response"]["users-table"]["data"]
    index = next(i for i, row in enumerate(rows) if row["login_name"] == "admin.test")
    output = "..users-action-feedback.children...users-reset-password.value.."
    values = {"users-table.selected_rows": [index], "users-table.data": rows, "users-disable.n_clicks": 1}
    assert "cannot disable your own" in text_of(
        call(admin_client, app, output, values, ["users-disable.n_clicks"])
    )


def test_audit_log_filters_and_pages(app, admin_client, users):
    for _ in range(3):
        login(app.server.test_client(), "doctor", users["doctor"][0], "wrong-password")
    output = "..audit-table.data...audit-table.page_count...audit-total.children.."
    values = {"audit-outcome.value": "failed", "audit-table.page_current": 0, "audit-table.page_size": 2}
    result = call(admin_client, app, output, values).get_json()["response"]
    assert result["audit-total"]["children"] == "3 events"
    assert result["audit-table"]["page_count"] == 2
    rows = result["audit-table"]["data"]
    assert len(rows) == 2 and all(row["action"] == "login_failed" for row in rows)
    assert rows[0]["occurred_at"] >= rows[1]["occurred_at"]  # newest first


def run_background_export(app, client, timeout_s: float = 60) -> str:
    body = callback_body(app, "audit-download.data", {"audit-export.n_clicks": 1}, ["audit-export.n_clicks"])
    job = client.post("/_dash-update-component", json=body).get_json()
    assert "job" in job, job
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        response = (
            client.post(
                f"/_dash-update-component?cacheKey={job['cacheKey']}&job={job['job']}", json=body
            ).get_json()
            or {}
        )
        data = (response.get("response") or {}).get("audit-download", {}).get("data")
        if data:
            return data["content"]
        time.sleep(0.2)
    raise TimeoutError("the background export did not finish")


def test_background_export_runs_through_diskcache(app, admin_client):
    assert isinstance(app._background_manager, DiskcacheManager)
    csv_text = run_background_export(app, admin_client)
    assert csv_text.splitlines()[0].startswith("id,occurred_at,actor_role,actor_id,action")
    assert "admin.test,login,ok" in csv_text


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except Exception:
        return False


def test_background_export_runs_on_a_celery_worker(tmp_path, users):
    broker = os.environ.get("ECG_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    if not redis_answers(broker):
        if IN_CI:
            pytest.fail(f"Redis does not answer at {broker}: CI must run the Celery test")
        pytest.skip(f"Redis does not answer at {broker}")
    environ = {"ECG_INSTANCE_DIR": str(tmp_path / "instance"), "ECG_CELERY_BROKER_URL": broker}
    app = create_app(settings_for(tmp_path, environ=environ))
    assert isinstance(app._background_manager, CeleryManager)
    from dashboard.accounts import Role, create_account
    from tests.conftest import TEST_ACTOR

    with app.ecg_services.database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.ADMIN, "celery.admin", "Celery Admin", "long-password-1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    env.update(environ, PYTHONPATH=str(REPO))
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app.celery_app",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        client = app.server.test_client()
        login(client, "admin", "celery.admin", "long-password-1")
        csv_text = run_background_export(app, client, timeout_s=90)
        assert "celery.admin,login,ok" in csv_text
    finally:
        worker.terminate()
        worker.communicate(timeout=30)
