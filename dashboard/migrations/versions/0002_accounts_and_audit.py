"""Administrators, account state (disable, lockout), login throttling and the audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "app_admin",
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("password", sa.String(255), nullable=False),
        sa.Column("name", sa.String(120)),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_table(
        "account_state",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("account_id", sa.String(255), primary_key=True),
        sa.Column("display_name", sa.String(120)),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime),
        sa.Column("last_login_at", sa.DateTime),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_table(
        "login_throttle",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("window_start", sa.DateTime, nullable=False),
        sa.Column("locked_until", sa.DateTime),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("actor_role", sa.String(16)),
        sa.Column("actor_id", sa.String(255)),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("patient_id", sa.String(20)),
        sa.Column("report_id", sa.String(50)),
        sa.Column("target", sa.String(255)),
        sa.Column("detail", sa.Text),
        sa.Column("client_ip", sa.String(64)),
        **MYSQL_TABLE_OPTIONS,
    )
    for column in ("occurred_at", "actor_id", "action", "patient_id", "report_id"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("login_throttle")
    op.drop_table("account_state")
    op.drop_table("app_admin")
