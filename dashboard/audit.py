"""The audit log: who did what to which patient or report, and when.

An audit row is written in the same transaction as the action it records, so an action
and its audit row are stored together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.models import AuditEvent

# The actions the server records. Later features add theirs here.
ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "session_expired",
    "access_denied",
    "view_patient",
    "create_patient",
    "update_patient",
    "view_all_patients",
    "enter_risk_inputs",
    "create_report",
    "analyse_ecg",
    "sign_report",
    "amend_report",
    "edit_report",
    "view_report",
    "export_report",
    "user_created",
    "user_updated",
    "user_password_reset",
    "user_disabled",
    "user_enabled",
    "user_unlocked",
    "password_changed",
    "export_audit",
    "monitor_bed_created",
    "monitor_device_created",
    "monitor_device_revoked",
    "acknowledge_alarm",
)


def utcnow() -> datetime:
    """Naive UTC: MySQL DATETIME has no zone, so every stored time is UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Actor:
    role: str | None
    account_id: str | None
    client_ip: str | None = None


ANONYMOUS = Actor(role=None, account_id=None)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    outcome: str = "ok",
    patient_id: str | None = None,
    report_id: str | None = None,
    target: str | None = None,
    detail: dict | str | None = None,
) -> AuditEvent:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if isinstance(detail, dict):
        detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_role=actor.role,
        actor_id=actor.account_id,
        action=action,
        outcome=outcome,
        patient_id=patient_id,
        report_id=report_id,
        target=(target or None) and target[:255],
        detail=detail,
        client_ip=actor.client_ip,
    )
    session.add(event)
    return event


def record_refusal(session: Session, actor: Actor, **fields) -> None:
    """Write an `access_denied` row in a transaction of its own.

    A refusal is followed by an exception that rolls the caller's transaction back; the
    audit row must survive it. Call this before any write in the caller's transaction
    (SQLite has one writer at a time).
    """
    with Session(session.get_bind()) as own, own.begin():
        record(own, actor, "access_denied", outcome="denied", **fields)


@dataclass(frozen=True)
class AuditQuery:
    actor_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    patient_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 0
    page_size: int = 50


@dataclass(frozen=True)
class AuditPage:
    rows: list[dict]
    total: int


def search(session: Session, query: AuditQuery) -> AuditPage:
    """Newest first, filtered and paged in the database (the log grows without bound)."""
    conditions = []
    if query.actor_id:
        conditions.append(AuditEvent.actor_id == query.actor_id)
    if query.action:
        conditions.append(AuditEvent.action == query.action)
    if query.outcome:
        conditions.append(AuditEvent.outcome == query.outcome)
    if query.patient_id:
        conditions.append(AuditEvent.patient_id == query.patient_id)
    if query.since:
        conditions.append(AuditEvent.occurred_at >= query.since)
    if query.until:
        conditions.append(AuditEvent.occurred_at < query.until)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    events = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .offset(max(query.page, 0) * query.page_size)
        .limit(query.page_size)
    )
    rows = [
        {
            "id": event.id,
            "occurred_at": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            "actor_role": event.actor_role or "",
            "actor_id": event.actor_id or "",
            "action": event.action,
            "outcome": event.outcome,
            "patient_id": event.patient_id or "",
            "report_id": event.report_id or "",
            "target": event.target or "",
            "detail": event.detail or "",
            "client_ip": event.client_ip or "",
        }
        for event in events
    ]
    return AuditPage(rows=rows, total=total or 0)
