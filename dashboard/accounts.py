"""Accounts of the three roles, their passwords, and what an administrator may change.

Doctors live in the original `doctor` table (log in with Username or Doctor_ID), staff in
`staff` (log in with Staff_ID), administrators in `app_admin`. Passwords are bcrypt hashes
($2b$, as in the original rows, so existing accounts keep working); bcrypt is used directly
because passlib breaks on bcrypt 5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import audit
from dashboard.audit import Actor
from dashboard.models import AccountState, Admin, Doctor, Staff

BCRYPT_ROUNDS = 12
MIN_PASSWORD_LENGTH = 10
# Staff_ID is varchar(80) and Username varchar(255) in the original schema; a login name is
# also shown in the audit log, so it is kept to printable characters without spaces.
LOGIN_NAME = re.compile(r"^[A-Za-z0-9._@-]{2,80}$")


class Role(StrEnum):
    ADMIN = "admin"
    DOCTOR = "doctor"
    STAFF = "staff"


class AccountError(ValueError):
    """A change to an account was refused; the message says why, for the form."""


@dataclass(frozen=True)
class Account:
    role: Role
    account_id: str  # Doctor_ID, Staff_ID or the admin's username
    login_name: str  # what the person types: Username for doctors, else account_id
    display_name: str
    password_hash: str
    disabled: bool = False


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when the password matches a bcrypt hash; False for anything that is not one."""
    if not password_hash or not password_hash.startswith(("$2a$", "$2b$", "$2y$")):
        return False
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


_DUMMY_HASH: str | None = None


def burn_password_check(password: str) -> None:
    """Spend the time of one bcrypt check, so an unknown name answers as slowly as a known one."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    verify_password(password, _DUMMY_HASH)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password.encode("utf-8")) > 72:
        # bcrypt reads only the first 72 bytes; refuse rather than silently ignore the rest.
        raise AccountError("The password must be at most 72 bytes long.")


def _state(session: Session, role: Role, account_id: str) -> AccountState | None:
    return session.get(AccountState, (role.value, account_id))


def ensure_state(session: Session, role: Role, account_id: str) -> AccountState:
    state = _state(session, role, account_id)
    if state is None:
        state = AccountState(role=role.value, account_id=account_id, disabled=False, failed_logins=0)
        session.add(state)
        session.flush()
    return state


def find_for_login(session: Session, role: Role, login_name: str) -> Account | None:
    """The account a person means by the name they typed on the login page."""
    login_name = login_name.strip()
    if role is Role.DOCTOR:
        doctor = session.scalar(select(Doctor).where(Doctor.username == login_name))
        doctor = doctor or session.get(Doctor, login_name)
        return _doctor_account(session, doctor) if doctor else None
    if role is Role.STAFF:
        staff = session.get(Staff, login_name)
        return _staff_account(session, staff) if staff else None
    admin = session.get(Admin, login_name)
    return _admin_account(session, admin) if admin else None


def get_account(session: Session, role: Role, account_id: str) -> Account | None:
    if role is Role.DOCTOR:
        doctor = session.get(Doctor, account_id)
        return _doctor_account(session, doctor) if doctor else None
    if role is Role.STAFF:
        staff = session.get(Staff, account_id)
        return _staff_account(session, staff) if staff else None
    admin = session.get(Admin, account_id)
    return _admin_account(session, admin) if admin else None


def _doctor_account(session: Session, doctor: Doctor) -> Account:
    state = _state(session, Role.DOCTOR, doctor.doctor_id)
    return Account(
        role=Role.DOCTOR,
        account_id=doctor.doctor_id,
        login_name=doctor.username,
        display_name=(state and state.display_name) or doctor.username,
        password_hash=doctor.password_hash,
        disabled=bool(state and state.disabled),
    )


def _staff_account(session: Session, staff: Staff) -> Account:
    state = _state(session, Role.STAFF, staff.staff_id)
    return Account(
        role=Role.STAFF,
        account_id=staff.staff_id,
        login_name=staff.staff_id,
        display_name=staff.name or staff.staff_id,
        password_hash=staff.password_hash,
        disabled=bool(state and state.disabled),
    )


def _admin_account(session: Session, admin: Admin) -> Account:
    state = _state(session, Role.ADMIN, admin.username)
    return Account(
        role=Role.ADMIN,
        account_id=admin.username,
        login_name=admin.username,
        display_name=admin.name or admin.username,
        password_hash=admin.password_hash,
        disabled=bool(state and state.disabled),
    )


@dataclass(frozen=True)
class AccountRow:
    role: str
    account_id: str
    login_name: str
    display_name: str
    disabled: bool
    locked: bool
    last_login_at: str


def list_accounts(session: Session, now) -> list[AccountRow]:
    states = {(s.role, s.account_id): s for s in session.scalars(select(AccountState))}
    accounts: list[Account] = []
    accounts += [_admin_account(session, a) for a in session.scalars(select(Admin))]
    accounts += [_doctor_account(session, d) for d in session.scalars(select(Doctor))]
    accounts += [_staff_account(session, s) for s in session.scalars(select(Staff))]
    rows = []
    for account in accounts:
        state = states.get((account.role.value, account.account_id))
        rows.append(
            AccountRow(
                role=account.role.value,
                account_id=account.account_id,
                login_name=account.login_name,
                display_name=account.display_name,
                disabled=account.disabled,
                locked=bool(state and state.locked_until and state.locked_until > now),
                last_login_at=(
                    state.last_login_at.strftime("%Y-%m-%d %H:%M") if state and state.last_login_at else ""
                ),
            )
        )
    return sorted(rows, key=lambda row: (row.role, row.login_name.lower()))


def create_account(
    session: Session,
    by: Actor,
    role: Role,
    login_name: str,
    display_name: str,
    password: str,
    *,
    doctor_id: str | None = None,
) -> Account:
    """Create an account. Doctors get Doctor_ID = doctor_id or the login name."""
    login_name = (login_name or "").strip()
    display_name = (display_name or "").strip()
    if not LOGIN_NAME.match(login_name):
        raise AccountError("The login name must be 2-80 letters, digits or . _ @ - (no spaces).")
    if not display_name or len(display_name) > 120:
        raise AccountError("Enter the person's full name (at most 120 characters).")
    check_password_policy(password)
    password_hash = hash_password(password)
    if role is Role.DOCTOR:
        doctor_id = (doctor_id or login_name).strip()
        if len(doctor_id) > 20:
            # ecg_reports.doctor_id is varchar(20) in the original schema.
            raise AccountError("The Doctor ID must be at most 20 characters.")
        taken = session.scalar(select(Doctor).where(Doctor.username == login_name))
        if taken or session.get(Doctor, doctor_id):
            raise AccountError("A doctor with this username or Doctor ID already exists.")
        session.add(Doctor(doctor_id=doctor_id, username=login_name, password_hash=password_hash))
        account_id = doctor_id
    elif role is Role.STAFF:
        if session.get(Staff, login_name):
            raise AccountError("A staff member with this Staff ID already exists.")
        session.add(Staff(staff_id=login_name, password_hash=password_hash, name=display_name[:80]))
        account_id = login_name
    else:
        if session.get(Admin, login_name):
            raise AccountError("An administrator with this username already exists.")
        session.add(Admin(username=login_name, password_hash=password_hash, name=display_name))
        account_id = login_name
    session.flush()
    state = ensure_state(session, role, account_id)
    state.display_name = display_name
    audit.record(
        session, by, "user_created", target=f"{role.value}:{account_id}", detail={"name": display_name}
    )
    return get_account(session, role, account_id)


def set_password(session: Session, by: Actor, role: Role, account_id: str, password: str) -> None:
    check_password_policy(password)
    row = _credential_row(session, role, account_id)
    row.password_hash = hash_password(password)
    state = ensure_state(session, role, account_id)
    state.failed_logins = 0
    state.locked_until = None
    own = by.role == role.value and by.account_id == account_id
    audit.record(
        session,
        by,
        "password_changed" if own else "user_password_reset",
        target=f"{role.value}:{account_id}",
    )


def change_own_password(session: Session, me: Actor, current_password: str, new_password: str) -> None:
    role = Role(me.role)
    account = get_account(session, role, me.account_id)
    if account is None or not verify_password(current_password, account.password_hash):
        raise AccountError("The current password is not correct.")
    set_password(session, me, role, me.account_id, new_password)


def set_disabled(session: Session, by: Actor, role: Role, account_id: str, disabled: bool) -> None:
    _credential_row(session, role, account_id)
    if disabled and by.role == role.value and by.account_id == account_id:
        raise AccountError("You cannot disable your own account.")
    ensure_state(session, role, account_id).disabled = disabled
    audit.record(
        session, by, "user_disabled" if disabled else "user_enabled", target=f"{role.value}:{account_id}"
    )


def unlock(session: Session, by: Actor, role: Role, account_id: str) -> None:
    _credential_row(session, role, account_id)
    state = ensure_state(session, role, account_id)
    state.failed_logins = 0
    state.locked_until = None
    audit.record(session, by, "user_unlocked", target=f"{role.value}:{account_id}")


def _credential_row(session: Session, role: Role, account_id: str) -> Doctor | Staff | Admin:
    model = {Role.DOCTOR: Doctor, Role.STAFF: Staff, Role.ADMIN: Admin}[role]
    row = session.get(model, account_id)
    if row is None:
        raise AccountError("No such account.")
    return row
