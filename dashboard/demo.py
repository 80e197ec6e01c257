"""Demo content for a first start on an empty database: one account per role and a few
patients. Passwords are random (or ECG_DEMO_PASSWORD) and written to instance/ with mode
0600, never stored in the code."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.accounts import Role, create_account
from dashboard.audit import Actor, utcnow
from dashboard.db import Database
from dashboard.models import Admin, Doctor, PatientProfile, Staff

SYSTEM = Actor(role="system", account_id="seed-demo")

DEMO_ACCOUNTS = (
    (Role.DOCTOR, "dr.demo", "Dr. Ana Demo"),
    (Role.STAFF, "staff.demo", "Sam Staff (demo)"),
    (Role.ADMIN, "admin.demo", "Ada Admin (demo)"),
)

# Fictional patients; the names exercise non-Latin scripts end to end.
DEMO_PATIENTS = (
    ("P-DEMO-0001", "Zoë Ñúñez", 61, "Female", "12 Rue des Lilas, Lyon", "zoe.nunez@example.org"),
    ("P-DEMO-0002", "王芳", 53, "Female", "88 Nanjing Road, Shanghai", "wang.fang@example.org"),
    ("P-DEMO-0003", "John Carter", 67, "Male", "5 Elm Street, Leeds", "j.carter@example.org"),
    ("P-DEMO-0004", "محمد الأحمد", 45, "Male", "14 Al Noor Street, Amman", "m.ahmad@example.org"),
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    login_name: str
    password: str


def has_accounts(session: Session) -> bool:
    return any(session.scalar(select(func.count()).select_from(model)) for model in (Admin, Doctor, Staff))


def seed_demo(database: Database, instance_dir: Path, password: str | None = None) -> list[DemoLogin]:
    """Create the demo accounts and patients in one transaction; return the logins."""
    logins = []
    with database.transaction() as session:
        for role, login_name, display_name in DEMO_ACCOUNTS:
            secret = password or secrets.token_urlsafe(12)
            create_account(session, SYSTEM, role, login_name, display_name, secret)
            logins.append(DemoLogin(role.value, login_name, secret))
        now = utcnow()
        for offset, (patient_id, name, age, gender, address, email) in enumerate(DEMO_PATIENTS):
            session.add(
                PatientProfile(
                    patient_id=patient_id,
                    name=name,
                    age=age,
                    gender=gender,
                    address=address,
                    email=email,
                    personal_contact=4470000000 + offset,
                    emergency_contact=4471000000 + offset,
                    doctor_id="dr.demo" if offset < 3 else None,
                    created_at=now - timedelta(days=offset),
                    staff_username="staff.demo",
                )
            )
    _write_logins(instance_dir / "demo-logins.txt", logins)
    return logins


def seed_demo_if_empty(database: Database, instance_dir: Path) -> list[DemoLogin]:
    with database.transaction() as session:
        if has_accounts(session):
            return []
    return seed_demo(database, instance_dir, os.environ.get("ECG_DEMO_PASSWORD") or None)


def _write_logins(path: Path, logins: list[DemoLogin]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("Demo logins (change or disable these accounts before real use)\n")
        for login in logins:
            handle.write(f"{login.role:7s} {login.login_name:12s} {login.password}\n")
