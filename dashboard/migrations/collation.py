"""Table options for new MySQL/MariaDB tables that reference the original tables.

A foreign key between string columns needs the same collation on both sides (else errno 150).
The hospital's original tables may use utf8mb4_0900_ai_ci (MySQL 8) or utf8mb4_unicode_ci
(MariaDB): new tables referencing them follow whatever they have. Migrations 0003 onwards use it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def table_options_matching(table: str, column: str) -> dict:
    """MySQL table options whose collation equals that of `table.column` (no-op elsewhere)."""
    options = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return options
    collation = bind.execute(
        sa.text(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table AND COLUMN_NAME = :column"
        ),
        {"table": table, "column": column},
    ).scalar()
    if collation:
        options.update(mysql_charset=collation.split("_")[0], mysql_collate=collation)
    return options
