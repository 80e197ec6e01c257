"""Benchmarks of the server's data paths.

    python -m dashboard.bench patients [--n 50000] [--database-url URL] [--out FILE]
    python -m dashboard.bench analysis [--record PATH] [--out FILE]   (see dashboard.bench_analysis)
    python -m dashboard.bench pdf [--record PATH] [--runs 5] [--out FILE]   (see dashboard.bench_pdf)

`patients` fills a scratch database (a temporary SQLite file unless --database-url names an
empty one) with N patients, half of them with a risk entry, then times the register's
queries as the Patients page runs them (one page of 25, with its count). Prints one line
per query and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from dashboard.accounts import Role, create_account
from dashboard.audit import Actor
from dashboard.db import Database
from dashboard.migrate import upgrade_to_head
from dashboard.models import PatientProfile, RiskAssessment, RiskInput
from dashboard.patients import PatientQuery, list_patients

BENCH = Actor(role="system", account_id="bench")
FIRST = ("Anna", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "王", "محمد", "Zoë")
LAST = ("Smith", "Müller", "García", "Rossi", "Nakamura", "芳", "Haddad", "Ñúñez", "Kowalski", "Dubois")


def fill(database: Database, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with database.transaction() as session:
        for i in range(20):
            create_account(session, BENCH, Role.DOCTOR, f"dr.{i:02d}", f"Doctor {i:02d}", "bench-password")
    start = datetime(2020, 1, 1)
    batch = 5000
    for offset in range(0, n, batch):
        patients, inputs, assessments = [], [], []
        for i in range(offset, min(offset + batch, n)):
            patients.append(
                dict(
                    patient_id=f"PB{i:08d}",
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
                    age=rng.randint(18, 95),
                    gender=rng.choice(("Female", "Male")),
                    address=f"{i} Bench Road",
                    email=f"p{i}@example.org",
                    personal_contact=600000000 + i,
                    emergency_contact=700000000 + i,
                    doctor_id=f"dr.{rng.randrange(20):02d}",
                    created_at=start + timedelta(minutes=i),
                    staff_username="bench",
                )
            )
            if i % 2 == 0:
                inputs.append(
                    dict(
                        record_id=i + 1,
                        patient_id=f"PB{i:08d}",
                        smoker=False,
                        diabetic=False,
                        cholesterol=200.0,
                        hdl=50,
                        blood_pressure=130.0,
                        other_issues="",
                        generated_at="2024-01-01 00:00:00",
                        doctor_id=None,
                    )
                )
                risk = rng.uniform(1, 40)
                category = "low" if risk < 10 else ("intermediate" if risk <= 20 else "high")
                assessments.append(
                    dict(
                        record_id=i + 1,
                        patient_id=f"PB{i:08d}",
                        entered_at=start,
                        entered_by_role="staff",
                        entered_by_id="bench",
                        sex="female",
                        age_years=60,
                        smoker=False,
                        diabetic=False,
                        total_cholesterol_mg_dl=200.0,
                        hdl_mg_dl=50.0,
                        sbp_mmhg=130.0,
                        bp_treated=False,
                        other_issues="",
                        framingham_risk_pct=risk,
                        framingham_points=10,
                        framingham_category=category,
                        heart_age_years=60.0,
                    )
                )
        with database.transaction() as session:
            session.execute(insert(PatientProfile), patients)
            if inputs:
                session.execute(insert(RiskInput), inputs)
                session.execute(insert(RiskAssessment), assessments)


QUERIES = {
    "first page, newest first": PatientQuery(),
    "name search 'garcía'": PatientQuery(search="garcía"),
    "age 60-70, high risk": PatientQuery(age_min=60, age_max=70, risk_level="high"),
    "one doctor, by name": PatientQuery(doctor_id="dr.07", sort_by="name", descending=False),
    "sorted by risk": PatientQuery(sort_by="risk"),
    "last page": PatientQuery(offset=49_975),
}


def bench_patients(database: Database, repeats: int = 5) -> dict:
    results = {}
    admin = Actor(role="admin", account_id="bench")
    for label, query in QUERIES.items():
        times, total = [], 0
        for _ in range(repeats):
            started = time.perf_counter()
            with database.transaction() as session:
                total = list_patients(session, admin, query).total
            times.append((time.perf_counter() - started) * 1000)
        results[label] = {
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "matching": total,
        }
    return results


def _add_monitor_commands(commands) -> None:
    """Live monitoring (see dashboard.bench_monitor)."""
    monitor = commands.add_parser("monitor", help="the monitor wall in headless Chromium, and device ingest")
    monitor.add_argument("--beds", type=int, default=8)
    monitor.add_argument("--seconds", type=float, default=60.0)
    monitor.add_argument("--ingest-beds", type=int, default=2)
    monitor.add_argument("--ingest-seconds", type=float, default=20.0)
    monitor.add_argument("--out", default="docs/bench-monitor.json")
    vf = commands.add_parser("monitor-vf", help="VF alarm latency replaying vfdb 418 (needs the CNN)")
    vf.add_argument("--out", default="docs/bench-monitor-vf.json")
    vf.add_argument(
        "--held-out",
        metavar="DIR",
        help="score every VF episode of --db with the cross-validation fold models in DIR "
        "(pipeline.evaluate --save-models), each record by the model that never saw it",
    )
    vf.add_argument(
        "--db", default="../shared/data/physionet/vfdb", help="the database replayed with --held-out"
    )
    vf.add_argument(
        "--false-alarms",
        action="store_true",
        help="count VF/VT alarms on the strips of --db that hold no VF or VT: with --held-out those "
        "of a database with rhythm labels (e.g. --db ../shared/data/physionet/mitdb); without it the "
        "shipped model's on a database it never saw that labels beats, on the strips whose beats "
        "are all normal or supraventricular (e.g. --db ../shared/data/physionet/qtdb)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.bench")
    commands = parser.add_subparsers(dest="command", required=True)
    patients = commands.add_parser("patients", help="time the patients register on N patients")
    patients.add_argument("--n", type=int, default=50_000)
    patients.add_argument("--database-url", help="an EMPTY database to fill (default: temporary SQLite)")
    patients.add_argument("--out", default="bench-patients.json")
    analysis = commands.add_parser("analysis", help="time the analysis page in headless Chromium")
    analysis.add_argument("--record", help="WFDB record path without extension (default: MIT-BIH 100)")
    analysis.add_argument("--out", default="bench-analysis.json")
    pdf = commands.add_parser("pdf", help="time the PDF reports (export from stored data, rendering)")
    pdf.add_argument("--record", help="WFDB record path without extension (default: MIT-BIH 100)")
    pdf.add_argument("--runs", type=int, default=5)
    pdf.add_argument("--out", default="bench-pdf.json")
    _add_monitor_commands(commands)
    args = parser.parse_args(argv)
    if args.command in ("monitor", "monitor-vf"):
        from dashboard import bench_monitor

        return bench_monitor.main(args)
    if args.command == "pdf":
        from dashboard import bench_pdf

        args.record = args.record or str(bench_pdf.DEFAULT_RECORD)
        return bench_pdf.main(args)
    if args.command == "analysis":
        from dashboard import bench_analysis

        args.record = args.record or str(bench_analysis.DEFAULT_RECORD)
        return bench_analysis.main(args)

    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
        database = Database(url)
        upgrade_to_head(database)
        started = time.perf_counter()
        fill(database, args.n)
        fill_s = time.perf_counter() - started
        results = bench_patients(database)
        database.dispose()
    for label, result in results.items():
        print(f"{label:28s} {result['median_ms']:7.1f} ms median  ({result['matching']} matching)")
    worst = max(result["median_ms"] for result in results.values())
    print(f"patients register on {args.n} patients: slowest query {worst:.1f} ms (median of 5)")
    report = {
        "n_patients": args.n,
        "database": url.split("://")[0],
        "fill_s": round(fill_s, 1),
        "queries": results,
        "slowest_median_ms": worst,
    }
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
