"""The server's command line.

    python -m dashboard init-db
    python -m dashboard create-user --role doctor --login dr.house --name "Gregory House" \
        [--doctor-id D-0042]            (asks for the password, or reads ECG_NEW_PASSWORD)
    python -m dashboard seed-demo
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from dashboard.accounts import AccountError, Role, create_account
from dashboard.audit import Actor
from dashboard.config import ConfigError, Settings
from dashboard.db import Database, DatabaseUnavailable
from dashboard.demo import has_accounts, seed_demo
from dashboard.migrate import upgrade_to_head

CLI = Actor(role="system", account_id="cli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-db", help="create or upgrade the database schema (Alembic)")
    user = commands.add_parser("create-user", help="create a doctor, staff or admin account")
    user.add_argument("--role", required=True, choices=[role.value for role in Role])
    user.add_argument("--login", required=True, help="Username (doctor/admin) or Staff_ID (staff)")
    user.add_argument("--name", required=True, help="the person's full name")
    user.add_argument("--doctor-id", help="Doctor_ID for a doctor (default: the login)")
    seed = commands.add_parser("seed-demo", help="demo accounts and patients (empty database only)")
    seed.add_argument("--force", action="store_true", help="seed even if accounts exist")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env(seed_demo=False)
        database = Database(settings.database_url)
        database.check_connection()
        revision = upgrade_to_head(database, lock_dir=settings.instance_dir)
    except (ConfigError, DatabaseUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if args.command == "init-db":
        print(f"Database {database.display_url} is at schema revision {revision}.")
        return 0
    if args.command == "create-user":
        password = os.environ.get("ECG_NEW_PASSWORD") or _ask_password()
        try:
            with database.transaction() as session:
                account = create_account(
                    session,
                    CLI,
                    Role(args.role),
                    args.login,
                    args.name,
                    password,
                    doctor_id=args.doctor_id,
                )
        except AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Created {account.role.value} account {account.login_name} (ID {account.account_id}).")
        return 0
    with database.transaction() as session:
        if has_accounts(session) and not args.force:
            print(
                "error: the database already has accounts; use --force to add the demo ones", file=sys.stderr
            )
            return 2
    try:
        logins = seed_demo(database, settings.instance_dir, os.environ.get("ECG_DEMO_PASSWORD"))
    except Exception as exc:  # e.g. the demo accounts already exist
        print(f"error: could not seed the demo content: {exc.__class__.__name__}", file=sys.stderr)
        return 2
    for login in logins:
        print(f"{login.role:7s} {login.login_name:12s} password: {login.password}")
    return 0


def _ask_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise SystemExit("error: the passwords differ")
    return first


if __name__ == "__main__":
    sys.exit(main())
