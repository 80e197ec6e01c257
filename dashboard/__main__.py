"""The server's command line.

    python -m dashboard init-db
    python -m dashboard create-user --role doctor --login dr.house --name "Gregory House" \
        [--doctor-id D-0042]            (asks for the password, or reads ECG_NEW_PASSWORD)
    python -m dashboard seed-demo
    python -m dashboard monitor-bed --id icu-1 --label "ICU 1" [--patient P-1] \
        [--source replay:vfdb-418] [--hr-low 40] [--hr-high 140]
    python -m dashboard monitor-device --bed icu-1 --label "monitor 7"   (prints the token once)
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
    bed = commands.add_parser("monitor-bed", help="add a monitored bed (device or replay source)")
    bed.add_argument("--id", required=True)
    bed.add_argument("--label", default="")
    bed.add_argument("--patient")
    bed.add_argument(
        "--source",
        default="device",
        help="device, replay:<sample key> (the demo) or recording:<recording ID>",
    )
    bed.add_argument("--hr-low", type=int, default=40)
    bed.add_argument("--hr-high", type=int, default=140)
    device = commands.add_parser("monitor-device", help="create a device token for a bed (shown once)")
    device.add_argument("--bed", required=True)
    device.add_argument("--label", default="")
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
    if args.command in ("monitor-bed", "monitor-device"):
        return _monitoring_command(args, database)
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


def _monitoring_command(args, database: Database) -> int:
    from dashboard.live_buffer import MemoryStreamStore
    from dashboard.monitoring import LiveMonitor, MonitorError

    monitor = LiveMonitor(database, MemoryStreamStore(), classifier=lambda: None)
    try:
        if args.command == "monitor-bed":
            monitor.create_bed(
                CLI,
                args.id,
                args.label,
                patient_id=args.patient,
                source=args.source,
                hr_low_bpm=args.hr_low,
                hr_high_bpm=args.hr_high,
            )
            print(f"Added bed {args.id} ({args.source}).")
        else:
            device_id, token = monitor.create_device(CLI, args.bed, args.label)
            print(f"Device {device_id} for bed {args.bed}. Its token (shown only now):\n{token}")
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _ask_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise SystemExit("error: the passwords differ")
    return first


if __name__ == "__main__":
    sys.exit(main())
