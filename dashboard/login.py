"""Checking a login: password, disabled accounts, and throttling of repeated failures.

After `max_failures` failed attempts an account is locked for `lock_minutes`, and so is
the client address that made them (so one machine cannot guess across many accounts).
Every refusal, whatever its cause, looks the same to the person at the keyboard; the
audit log keeps the real reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from dashboard import audit
from dashboard.accounts import (
    Account,
    Role,
    burn_password_check,
    ensure_state,
    find_for_login,
    verify_password,
)
from dashboard.audit import Actor
from dashboard.models import LoginThrottle

GENERIC_FAILURE = "Login failed: the name or password is wrong, or the account is locked."


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lock_minutes: int = 15


@dataclass(frozen=True)
class LoginOutcome:
    account: Account | None
    message: str | None  # shown to the user when the login failed


def authenticate(
    session: Session,
    role: Role,
    login_name: str,
    password: str,
    client_ip: str,
    now: datetime,
    policy: LoginPolicy,
) -> LoginOutcome:
    """Check one login attempt and write its audit row in the same transaction."""
    client = _throttle(session, client_ip, now, policy)
    account = find_for_login(session, role, login_name) if login_name else None
    attempted = Actor(
        role=role.value,
        account_id=account.account_id if account else (login_name or "")[:255],
        client_ip=client_ip,
    )

    reason = None
    if client.locked_until and client.locked_until > now:
        reason = "client locked"
    if account is None:
        burn_password_check(password)
        reason = reason or "unknown user"
    else:
        state = ensure_state(session, account.role, account.account_id)
        if state.locked_until and state.locked_until > now:
            burn_password_check(password)
            reason = reason or "account locked"
        elif not verify_password(password, account.password_hash):
            reason = reason or "wrong password"
            state.failed_logins = (state.failed_logins or 0) + 1
            if state.failed_logins >= policy.max_failures:
                state.locked_until = now + timedelta(minutes=policy.lock_minutes)
                state.failed_logins = 0
        elif account.disabled:
            reason = reason or "account disabled"
        elif reason is None:
            state.failed_logins = 0
            state.locked_until = None
            state.last_login_at = now
            audit.record(session, attempted, "login")
            return LoginOutcome(account=account, message=None)

    _count_client_failure(client, now, policy)
    audit.record(session, attempted, "login_failed", outcome="failed", detail={"reason": reason})
    return LoginOutcome(account=None, message=GENERIC_FAILURE)


def _throttle(session: Session, client_ip: str, now: datetime, policy: LoginPolicy) -> LoginThrottle:
    key = (client_ip or "unknown")[:64]
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(client=key, failures=0, window_start=now, locked_until=None)
        session.add(row)
    elif now - row.window_start > timedelta(minutes=policy.lock_minutes):
        row.failures = 0
        row.window_start = now
    return row


def _count_client_failure(row: LoginThrottle, now: datetime, policy: LoginPolicy) -> None:
    row.failures = (row.failures or 0) + 1
    if row.failures >= policy.max_failures:
        row.locked_until = now + timedelta(minutes=policy.lock_minutes)
        row.failures = 0
        row.window_start = now
