"""Configuration, the command line, and starting the server (python app.py, gunicorn)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy import select

from dashboard.config import ConfigError, Settings, masked_url
from dashboard.db import Database
from dashboard.models import Doctor
from tests.conftest import REPO

PYTHON = sys.executable


def env_for(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    env.update({"ECG_INSTANCE_DIR": str(tmp_path / "instance"), "PYTHONPATH": str(REPO)})
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    first = Settings.from_env({"ECG_INSTANCE_DIR": str(tmp_path)})
    second = Settings.from_env({"ECG_INSTANCE_DIR": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text()
    assert len(first.secret_key) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    given = Settings.from_env({"ECG_INSTANCE_DIR": str(tmp_path), "ECG_SECRET_KEY": "from-the-vault"})
    assert given.secret_key == "from-the-vault"
    assert "from-the-vault" not in repr(given)


def test_defaults_and_overrides(tmp_path):
    defaults = Settings.from_env({"ECG_INSTANCE_DIR": str(tmp_path)})
    assert defaults.database_url == f"sqlite:///{tmp_path / 'ecg.sqlite3'}"
    assert (defaults.host, defaults.port, defaults.session_idle_minutes) == ("127.0.0.1", 8050, 30)
    assert defaults.celery_broker_url is None
    custom = Settings.from_env(
        {
            "ECG_INSTANCE_DIR": str(tmp_path),
            "ECG_PORT": "9000",
            "ECG_SESSION_IDLE_MINUTES": "10",
            "ECG_MAX_UPLOAD_MB": "20",
            "ECG_CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
        }
    )
    assert (custom.port, custom.session_idle_minutes, custom.max_upload_mb) == (9000, 10, 20)
    assert custom.celery_broker_url == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize(
    "name,value", [("ECG_PORT", "eighty"), ("ECG_SESSION_IDLE_MINUTES", "0"), ("ECG_SECURE_COOKIES", "maybe")]
)
def test_bad_settings_name_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"ECG_INSTANCE_DIR": str(tmp_path), name: value})


def test_passwords_are_masked_in_messages():
    assert masked_url("mysql+mysqlconnector://ecg:s3cret@db.local/hospital") == (
        "mysql+mysqlconnector://ecg:***@db.local/hospital"
    )


def test_unreachable_database_at_start_is_one_clear_line(tmp_path):
    port = free_port()  # nothing listens there
    url = f"mysql+mysqlconnector://ecg:s3cret-pw@127.0.0.1:{port}/hospital"
    result = subprocess.run(
        [PYTHON, "app.py"],
        cwd=REPO,
        env=env_for(tmp_path, ECG_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert f"mysql+mysqlconnector://ecg:***@127.0.0.1:{port}/hospital" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_init_db_create_user_and_seed_demo(tmp_path):
    env = env_for(tmp_path)
    run = lambda *args, **kw: subprocess.run(  # noqa: E731
        [PYTHON, "-m", "dashboard", *args], cwd=REPO, capture_output=True, text=True, timeout=120, **kw
    )
    first = run("init-db", env=env)
    assert first.returncode == 0, first.stderr
    assert "revision" in first.stdout
    made = run(
        "create-user",
        "--role",
        "doctor",
        "--login",
        "dr.cli",
        "--name",
        "Dr. Cli",
        "--doctor-id",
        "D-1",
        env={**env, "ECG_NEW_PASSWORD": "a-long-password"},
    )
    assert made.returncode == 0, made.stderr
    weak = run(
        "create-user",
        "--role",
        "staff",
        "--login",
        "s1",
        "--name",
        "S One",
        env={**env, "ECG_NEW_PASSWORD": "short"},
    )
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    seeded = run("seed-demo", env=env)
    assert seeded.returncode == 2  # accounts exist already
    seeded = run("seed-demo", "--force", env=env)
    assert seeded.returncode == 0 and "dr.demo" in seeded.stdout

    database = Database(f"sqlite:///{tmp_path / 'instance' / 'ecg.sqlite3'}")
    with database.transaction() as session:
        assert {d.doctor_id for d in session.scalars(select(Doctor))} == {"D-1", "dr.demo"}
    logins = tmp_path / "instance" / "demo-logins.txt"
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600


def wait_for(url: str, seconds: float = 60) -> int:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def status_without_redirect(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")


@pytest.mark.parametrize("server", ["python", "gunicorn"])
def test_the_app_serves_its_login_page(tmp_path, server):
    port = free_port()
    env = env_for(tmp_path, ECG_PORT=str(port), ECG_DEMO_PASSWORD="demo-password-1")
    if server == "python":
        command = [PYTHON, "app.py"]
    else:
        command = [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "app:server"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == 200
        assert status_without_redirect(f"http://127.0.0.1:{port}/") == (302, "/login?next=%2F")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            assert "ECG Dashboard" in response.read().decode()
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    if server == "python":
        assert "dr.demo" in output and "demo-password-1" in output  # how to log in
        assert "Debug mode: off" in output
