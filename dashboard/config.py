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


def _env_file(environ: dict[str, str], name: str) -> Path | None:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"{name} must name an existing image file, got {raw!r}")
    if path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".svg"}:
        raise ConfigError(f"{name} must be a .png, .jpg or .svg file, got {raw!r}")
    return path


def _env_paper_size(environ: dict[str, str]) -> str:
    raw = (environ.get("ECG_PAPER_SIZE") or "A4").strip()
    sizes = {"a4": "A4", "letter": "Letter"}
    if raw.lower() not in sizes:
        raise ConfigError(f"ECG_PAPER_SIZE must be A4 or Letter, got {raw!r}")
    return sizes[raw.lower()]


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
    institution_name: str = "ECG Dashboard"  # printed in the PDF reports' header
    institution_logo: Path | None = None  # a local PNG, JPEG or SVG file for that header
    paper_size: str = "A4"  # of the PDF reports: "A4" or "Letter"
    # Live monitoring (issue 8)
    redis_url: str | None = None  # ring buffers in Redis, shared by workers; else in-process
    monitor_rhythm: bool = True  # classify live rhythms with the CNN when it is installed
    monitor_ingest_rate_per_s: int = 100  # chunks per second one device may send

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
            institution_name=(env.get("ECG_INSTITUTION_NAME") or "ECG Dashboard").strip()[:120],
            institution_logo=_env_file(env, "ECG_INSTITUTION_LOGO"),
            paper_size=_env_paper_size(env),
        )
        values.update(
            # Live monitoring (issue 8)
            redis_url=env.get("ECG_REDIS_URL") or None,
            monitor_rhythm=_env_bool(env, "ECG_MONITOR_RHYTHM", True),
            monitor_ingest_rate_per_s=_env_int(env, "ECG_MONITOR_INGEST_RATE", 100),
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
