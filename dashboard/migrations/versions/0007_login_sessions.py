"""Login sessions kept on the server, so that logging out ends the session everywhere.

`auth_session`: one row per login, keyed by the SHA-256 of the random session id the signed
cookie carries (the id itself is not stored); when it was opened and, once it ends, when and why
(logout, idle expiry). The access gate accepts a cookie only while its row is open: a copy of
the cookie taken before logout no longer works.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_session",
        sa.Column("session_sha256", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("ended_why", sa.String(16)),
        sa.Index("ix_auth_session_account", "role", "account_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("auth_session")
