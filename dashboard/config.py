"""Server configuration: environment variables with embedded defaults.

Every setting is listed in the README's configuration table. Nothing secret is a literal
here: the session-signing key comes from ECG_SECRET_KEY or is generated once and kept in
the instance folder with mode 0600.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the variable."""


def _env_int(environ: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _env_bool(environ: dict[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def masked_url(url: str) -> str:
    """The database URL with its password replaced by ***, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as its scheme only
        return url.split("://", 1)[0] + "://***"


@dataclass(frozen=True)
class Settings:
    instance_dir: Path
    database_url: str
    secret_key: str = field(repr=False)
    celery_broker_url: str | None
    host: str
    port: int
    max_upload_mb: int
    session_idle_minutes: int
    login_max_failures: int
    login_lock_minutes: int
    secure_cookies: bool
    proxy_count: int
    seed_demo: bool

    @property
    def cache_dir(self) -> Path:
        return self.instance_dir / "cache"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if environ is None else environ)
        instance_dir = Path(env.get("ECG_INSTANCE_DIR") or REPO_ROOT / "instance").resolve()
        instance_dir.mkdir(parents=True, exist_ok=True)
        database_url = env.get("ECG_DATABASE_URL") or f"sqlite:///{instance_dir / 'ecg.sqlite3'}"
        values = dict(
            instance_dir=instance_dir,
            database_url=database_url,
            secret_key=env.get("ECG_SECRET_KEY") or load_or_create_secret_key(instance_dir),
            celery_broker_url=env.get("ECG_CELERY_BROKER_URL") or None,
            host=env.get("ECG_HOST") or "127.0.0.1",
            port=_env_int(env, "ECG_PORT", 8050),
            max_upload_mb=_env_int(env, "ECG_MAX_UPLOAD_MB", 100),
            session_idle_minutes=_env_int(env, "ECG_SESSION_IDLE_MINUTES", 30),
            login_max_failures=_env_int(env, "ECG_LOGIN_MAX_FAILURES", 5),
            login_lock_minutes=_env_int(env, "ECG_LOGIN_LOCK_MINUTES", 15),
            secure_cookies=_env_bool(env, "ECG_SECURE_COOKIES", False),
            proxy_count=_env_int(env, "ECG_PROXY_COUNT", 0, minimum=0),
            seed_demo=_env_bool(env, "ECG_SEED_DEMO", True),
        )
        values.update(overrides)
        return cls(**values)


def load_or_create_secret_key(instance_dir: Path) -> str:
    """Read instance/secret_key, creating it (mode 0600) on first use.

    O_EXCL makes the creation safe when several gunicorn workers start at once: exactly
    one writes the key, the others read it.
    """
    path = instance_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another worker may be between create and write
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise ConfigError(f"{path} is empty: delete it to generate a new key") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
