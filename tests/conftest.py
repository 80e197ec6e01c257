"""Shared fixtures: an app on a fresh SQLite (or MariaDB) database, accounts, HTTP helpers."""

from __future__ import annotations

import os
import re
import secrets
import uuid
from pathlib import Path

import pytest

from dashboard import accounts as accounts_module
from dashboard import create_app
from dashboard.accounts import Role, create_account
from dashboard.audit import Actor
from dashboard.config import Settings
from pipeline.rhythm_model import ONEDNN_SWITCH

# TensorFlow as `python -m pipeline.train` runs it (pipeline.rhythm_model.tensorflow_made_reproducible):
# the switch is read when TensorFlow is first imported, which a test module may do before training.
os.environ[ONEDNN_SWITCH] = "0"

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_ACTOR = Actor(role="system", account_id="tests")


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch):
    """Cost 4 instead of 12 for hashes the tests create: same algorithm, 256x faster."""
    monkeypatch.setattr(accounts_module, "BCRYPT_ROUNDS", 4)


def settings_for(tmp_path: Path, **overrides) -> Settings:
    environ = {"ECG_INSTANCE_DIR": str(tmp_path / "instance")}
    environ.update({key: str(value) for key, value in overrides.pop("environ", {}).items()})
    return Settings.from_env(environ, **overrides)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return settings_for(tmp_path)


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def database(app):
    return app.ecg_services.database


@pytest.fixture
def users(database) -> dict[str, tuple[str, str]]:
    """One account per role: role -> (login name, password)."""
    made = {}
    with database.transaction() as session:
        for role, login, name in (
            (Role.DOCTOR, "dr.test", "Dr. Test"),
            (Role.STAFF, "staff.test", "Staff Test"),
            (Role.ADMIN, "admin.test", "Admin Test"),
        ):
            password = secrets.token_urlsafe(12)
            create_account(session, TEST_ACTOR, role, login, name, password)
            made[role.value] = (login, password)
    return made


@pytest.fixture
def client(app):
    return app.server.test_client()


def login(client, role: str, login_name: str, password: str, next_path: str = "/"):
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(
        "/login",
        data={"csrf": csrf, "role": role, "username": login_name, "password": password, "next": next_path},
    )


def split_output(output: str) -> list[dict]:
    """Dash's callback key ('a.children' or '..a.children...b.value..') as output specs."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    specs = []
    for part in parts:
        component_id, prop = part.rsplit(".", 1)
        specs.append({"id": component_id, "property": prop})
    return specs


def callback_body(app, output: str, values: dict | None = None, changed: list[str] | None = None) -> dict:
    """A request body for /_dash-update-component, as the browser would send it."""
    values = values or {}
    entry = app.callback_map[output]

    def spec(dep):
        key = f"{dep['id']}.{dep['property']}"
        return {"id": dep["id"], "property": dep["property"], "value": values.get(key)}

    outputs = split_output(output)
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": [spec(dep) for dep in entry["inputs"]],
        "state": [spec(dep) for dep in entry["state"]],
        "changedPropIds": [f"{key}" for key in (changed or [])],
    }


def call(client, app, output: str, values: dict | None = None, changed: list[str] | None = None):
    return client.post("/_dash-update-component", json=callback_body(app, output, values, changed))


def mysql_url_or_skip() -> str:
    url = os.environ.get("ECG_TEST_MYSQL_URL")
    if not url:
        if IN_CI:
            pytest.fail("ECG_TEST_MYSQL_URL is not set: CI must run the MariaDB tests")
        pytest.skip("ECG_TEST_MYSQL_URL not set (scripts/test sets it up when MariaDB answers)")
    return url


@pytest.fixture
def mysql_database_url():
    """A fresh, empty MariaDB database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(mysql_url_or_skip())
    name = f"{base.database}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
