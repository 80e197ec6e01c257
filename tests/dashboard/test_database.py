"""Persistence on SQLite and MariaDB: migrations, the original schema, its rows, reconnects."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import create_engine, inspect, select, text

from dashboard import create_app
from dashboard.accounts import Role, create_account, verify_password
from dashboard.db import Database
from dashboard.migrate import current_revision, head_revision, upgrade_to_head
from dashboard.models import AuditEvent, Doctor, PatientProfile
from tests.conftest import REPO, SHARED, TEST_ACTOR, call, login, settings_for

ORIGINAL_SQL = REPO / "tests" / "fixtures" / "original-schema.sql"
# Published OpenBSD bcrypt test vector (password "U*U"): an independent hash, as an
# original row would hold. $2a$ and $2b$ are the same algorithm for such passwords.
ORIGINAL_HASH = "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
ORIGINAL_PASSWORD = "U*U"


def original_columns() -> dict[str, list[str]]:
    """Table -> column names, read from the original MySQL schema."""
    tables, current = {}, None
    for line in ORIGINAL_SQL.read_text().splitlines():
        start = re.match(r"CREATE TABLE `(\w+)`", line)
        if start:
            current = tables.setdefault(start.group(1), [])
            continue
        column = re.match(r"\s+`(\w+)` ", line)
        if current is not None and column:
            current.append(column.group(1))
    return tables


def original_statements() -> list[str]:
    """The original SQL as MariaDB runs it: no CREATE DATABASE/USE, a collation it has."""
    sql = ORIGINAL_SQL.read_text().replace("utf8mb4_0900_ai_ci", "utf8mb4_unicode_ci")
    statements = [s.strip() for s in sql.split(";")]
    return [
        s
        for s in (re.sub(r"^--.*$", "", s, flags=re.M).strip() for s in statements)
        if s and not s.upper().startswith(("CREATE DATABASE", "USE "))
    ]


def test_fixture_is_the_shared_original_schema():
    shared = SHARED / "docs" / "seed-schema.sql"
    if not shared.exists():
        pytest.skip("shared/docs not beside the repository")
    assert shared.read_text() == ORIGINAL_SQL.read_text()


def check_schema(url: str) -> None:
    database = Database(url)
    upgrade_to_head(database)
    assert current_revision(database) == head_revision()
    inspector = inspect(database.engine)
    for table, columns in original_columns().items():
        have = [column["name"] for column in inspector.get_columns(table)]
        assert have[: len(columns)] == columns, table
    assert {"audit_log", "account_state", "login_throttle", "app_admin"} <= set(inspector.get_table_names())
    upgrade_to_head(database)  # a second run changes nothing
    database.dispose()


def test_migrations_build_the_original_tables_on_sqlite(tmp_path):
    check_schema(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


@pytest.mark.mysql
def test_migrations_build_the_original_tables_on_mariadb(mysql_database_url):
    check_schema(mysql_database_url)


def create_original_database(url: str) -> None:
    """What a hospital has: the original SQL, and rows written by the original system."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in original_statements():
            connection.execute(text(statement))
        connection.execute(
            text("INSERT INTO doctor (Doctor_ID, Username, Password) VALUES ('D-7', 'dr.legacy', :h)"),
            {"h": ORIGINAL_HASH},
        )
        connection.execute(
            text("INSERT INTO staff (Staff_ID, Password, StaffName) VALUES ('S-9', :h, 'Legacy Nurse')"),
            {"h": ORIGINAL_HASH},
        )
        connection.execute(
            text(
                "INSERT INTO patient_profile VALUES ('PT-1', 'Zoë Ñúñez', 61, 'Female', '1 Rue', "
                "'zoe@example.org', 4470000001, 4470000002, 'D-7', '2024-01-02 03:04:05', 'S-9')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO patient_profile VALUES ('PT-2', '王芳', 53, 'Female', '2 Road', "
                "'wf@example.org', 4470000003, 4470000004, 'D-7', '2024-01-03 03:04:05', 'S-9')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO input (Patient_ID, Smoker, Diabetic, Cholesterol, HDL, Blood_Pressure) "
                "VALUES ('PT-1', 1, 0, 180, 47, 124)"
            )
        )
    engine.dispose()


@pytest.mark.mysql
def test_a_hospital_database_made_with_the_original_sql_keeps_working(tmp_path, mysql_database_url):
    create_original_database(mysql_database_url)
    app = create_app(settings_for(tmp_path, database_url=mysql_database_url))
    database = app.ecg_services.database
    with database.transaction() as session:
        assert current_revision(database) == head_revision()
        doctor = session.get(Doctor, "D-7")
        assert verify_password(ORIGINAL_PASSWORD, doctor.password_hash)
        names = {p.name for p in session.scalars(select(PatientProfile))}
        assert names == {"Zoë Ñúñez", "王芳"}
        # The original input row kept its values and defaults:
        row = session.execute(text("SELECT Generated_AT, Other_Issues FROM input")).one()
        assert row == ("Timestamp(Now)", "")

    client = app.server.test_client()
    assert login(client, "doctor", "dr.legacy", ORIGINAL_PASSWORD).status_code == 302
    page = json.dumps(call(client, app, "home-cards.children").get_json(), ensure_ascii=False)
    assert "Zoë Ñúñez" in page and "王芳" in page and "My patients (2)" in page
    client.post("/logout")
    client = app.server.test_client()
    assert login(client, "staff", "S-9", ORIGINAL_PASSWORD).status_code == 302

    # New rows in the original tables, with unicode, round-trip:
    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.new", "Dr. Ñúñez 王", "long-enough-1")
    # The new tables' foreign keys to the original ones work (same collation as theirs):
    from dashboard import patients, risk_inputs
    from dashboard.audit import Actor

    staff = Actor("staff", "S-9", "127.0.0.1")
    with database.transaction() as session:
        draft = patients.validate_patient(
            session,
            {
                "name": "محمد الأحمد",
                "age": "45",
                "gender": "Male",
                "address": "14 Al Noor St",
                "email": "m@example.org",
                "personal_phone": "0790000000",
                "emergency_phone": "0790000001",
                "doctor_id": "D-7",
            },
        )
        new_id = patients.register_patient(session, staff, draft, "form-1").patient_id
    with database.transaction() as session:
        draft = risk_inputs.validate_risk_inputs(
            {"total_cholesterol": "200", "hdl": "40", "sbp": "150"}, "Male"
        )
        risk_inputs.record_risk_inputs(session, staff, "PT-1", draft, "form-2")
        risk_inputs.record_risk_inputs(session, staff, new_id, draft, "form-3")
    with database.transaction() as session:
        assert session.get(PatientProfile, new_id).name == "محمد الأحمد"
        assert session.execute(text("SELECT COUNT(*) FROM input")).scalar_one() == 3
    with database.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all()
        assert {event.actor_id for event in events} == {"D-7", "S-9"}
    database.dispose()


@pytest.mark.mysql
def test_lost_connections_are_replaced(tmp_path, mysql_database_url):
    """The server drops the app's connections (restart, timeout): the next action works."""
    database = Database(mysql_database_url)
    upgrade_to_head(database)
    with database.transaction() as session:
        connection_id = session.execute(text("SELECT CONNECTION_ID()")).scalar_one()
    killer = create_engine(mysql_database_url)
    with killer.begin() as connection:
        connection.execute(text(f"KILL {int(connection_id)}"))
    killer.dispose()
    with database.transaction() as session:
        assert session.execute(text("SELECT CONNECTION_ID()")).scalar_one() != connection_id
    database.dispose()


def test_a_failed_action_writes_nothing(database, monkeypatch):
    """One transaction per action: an error after the first write leaves no trace."""
    import dashboard.accounts as accounts

    def broken_audit(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(accounts.audit, "record", broken_audit)
    with pytest.raises(RuntimeError):
        with database.transaction() as session:
            create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.half", "Half Written", "long-enough-1")
    with database.transaction() as session:
        assert session.get(Doctor, "dr.half") is None


def test_database_lost_during_use_shows_a_banner_not_a_traceback(app, client, users, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import dashboard.auth as auth

    login(client, "doctor", *users["doctor"])
    assert call(client, app, "home-cards.children").status_code == 200  # account check cached
    database = app.ecg_services.database

    def unreachable():
        raise OperationalError("SELECT 1", {}, Exception("Can't connect to MySQL server"))

    monkeypatch.setattr(database, "transaction", unreachable)
    # Inside a callback: the callback's outputs stay, a banner explains.
    response = call(client, app, "home-cards.children")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "could not be reached" in body and "global-error" in body
    assert "Traceback" not in body and "OperationalError" not in body
    # In the gate's own account check: refused (fail closed) with the same message.
    monkeypatch.setattr(auth, "ACCOUNT_RECHECK_S", 0.0)
    response = call(client, app, "home-cards.children")
    assert response.status_code == 503
    assert "could not be reached" in response.get_json()["error"]


def test_times_are_stored_in_utc(database, users):
    with database.transaction() as session:
        newest = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert abs((datetime.utcnow() - newest.occurred_at).total_seconds()) < 60
