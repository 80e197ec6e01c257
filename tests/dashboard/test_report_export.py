"""Exporting saved reports as PDF (dashboard.report_export and the report page's download):
built from the stored report and recording, stored under instance/reports/, audited, refused
(and audited) for users who may not see the report."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard import bench, report_export, reports
from dashboard.bench_pdf import DEFAULT_RECORD
from dashboard.models import AuditEvent, EcgReportPdf
from dashboard.reports import ReportAccessDenied
from tests.conftest import call, login
from tests.dashboard.test_ecg_records import DOCTOR, OTHER_DOCTOR, STAFF, analyse, patient  # noqa: F401

pytest.importorskip("weasyprint")
needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
DOWNLOAD = "..report-pdf.data...report-pdf-message.children.."


@pytest.fixture
def saved_report(app, database, patient):  # noqa: F811
    outcome, _ = analyse(app, sample_key="mitdb-201")
    return reports.save_report(
        database,
        DOCTOR,
        outcome.recording_id,
        conclusions="Atrial fibrillation, rate controlled.",
        notes="Follow up in 3 months.",
        form_token="pdf-1",
    )


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def audit_rows(database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@needs_poppler
def test_export_is_built_from_stored_data_stored_and_audited(app, database, saved_report, tmp_path):
    settings = app.ecg_services.settings
    exported = report_export.export_report_pdf(database, settings, DOCTOR, saved_report, "clinician")
    text = text_of(exported.content, tmp_path)
    for expected in (
        "Ann Example",
        saved_report,
        "Dr. Test (dr.test)",
        "Atrial fibrillation, rate controlled.",
        "Follow up in 3 months.",
        "DRAFT — not signed",
        "Rhythm strips",
        "10.",  # Framingham from the risk entry of the report
    ):
        assert expected in text, expected
    assert exported.path.parent == settings.instance_dir / "reports"
    assert exported.path.read_bytes() == exported.content
    assert saved_report not in exported.path.name  # a generated name
    assert report_export.stored_pdf_path(database, settings, saved_report, "clinician") == exported.path
    with database.transaction() as session:
        row = session.get(EcgReportPdf, (saved_report, "clinician"))
        assert row.sha256 == exported.sha256 and row.n_bytes == len(exported.content)
        assert row.generated_by == "dr.test"

    again = report_export.export_report_pdf(database, settings, DOCTOR, saved_report, "clinician")
    assert again.content == exported.content and again.path == exported.path  # same stored data, same PDF
    rows = audit_rows(database, "export_report")
    assert len(rows) == 2 and all(r.report_id == saved_report and r.patient_id == "P-ECG1" for r in rows)
    assert json.loads(rows[0].detail)["kind"] == "clinician"

    reports.sign_report(database, DOCTOR, saved_report, conclusions="AF, rate controlled.", notes="")
    signed = report_export.export_report_pdf(database, settings, DOCTOR, saved_report, "clinician")
    assert signed.path != exported.path and not exported.path.exists()  # the old file replaced
    signed_text = text_of(signed.content, tmp_path)
    assert "Signed by Dr. Test (dr.test) at" in signed_text and "DRAFT" not in signed_text


@needs_poppler
def test_patient_summary_is_chosen_by_kind(app, database, saved_report, tmp_path):
    settings = app.ecg_services.settings
    exported = report_export.export_report_pdf(database, settings, DOCTOR, saved_report, "patient")
    assert exported.filename.endswith("-patient-summary.pdf")
    assert "Your ECG result" in text_of(exported.content, tmp_path)
    with pytest.raises(ValueError):
        report_export.export_report_pdf(database, settings, DOCTOR, saved_report, "../../etc")


def test_another_doctor_and_unknown_ids_are_refused_and_audited(app, database, saved_report):
    settings = app.ecg_services.settings
    with pytest.raises(ReportAccessDenied):
        report_export.export_report_pdf(database, settings, OTHER_DOCTOR, saved_report, "clinician")
    with pytest.raises(ReportAccessDenied):
        report_export.export_report_pdf(database, settings, DOCTOR, "R-NOT-THERE", "clinician")
    denied = audit_rows(database, "access_denied")
    assert {r.actor_id for r in denied} == {"dr.other", "dr.test"}
    assert any(r.patient_id == "P-ECG1" for r in denied if r.actor_id == "dr.other")
    assert any("R-NOT-THERE" in (r.target or "") for r in denied)
    assert audit_rows(database, "export_report") == []
    assert not (settings.instance_dir / "reports").exists() or not any(
        (settings.instance_dir / "reports").iterdir()
    )


def test_staff_export_a_report_once_it_is_signed(app, database, saved_report):
    settings = app.ecg_services.settings
    with pytest.raises(ReportAccessDenied):
        report_export.export_report_pdf(database, settings, STAFF, saved_report, "clinician")
    reports.sign_report(database, DOCTOR, saved_report, conclusions="AF.", notes="")
    exported = report_export.export_report_pdf(database, settings, STAFF, saved_report, "patient")
    assert exported.content.startswith(b"%PDF-")


def test_settings_name_the_institution_and_paper_size(tmp_path):
    from dashboard.config import ConfigError, Settings

    logo = tmp_path / "logo.png"
    logo.write_bytes(
        base64.b64decode(
            b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
        )
    )
    environ = {
        "ECG_INSTANCE_DIR": str(tmp_path / "i"),
        "ECG_INSTITUTION_NAME": "St Example Hospital",
        "ECG_INSTITUTION_LOGO": str(logo),
        "ECG_PAPER_SIZE": "letter",
    }
    settings = Settings.from_env(environ)
    assert settings.institution_name == "St Example Hospital" and settings.paper_size == "Letter"
    assert settings.institution_logo == logo.resolve()
    with pytest.raises(ConfigError, match="ECG_PAPER_SIZE"):
        Settings.from_env(environ | {"ECG_PAPER_SIZE": "A5"})
    with pytest.raises(ConfigError, match="ECG_INSTITUTION_LOGO"):
        Settings.from_env(environ | {"ECG_INSTITUTION_LOGO": str(tmp_path / "missing.png")})


def test_one_click_downloads_the_pdf_through_the_guarded_callback(app, client, users, saved_report):
    login(client, "doctor", *users["doctor"])
    values = {
        "report-pdf-download.n_clicks": 1,
        "report-request.data": {"report_id": saved_report},
        "report-pdf-kind.value": "clinician",
    }
    response = call(client, app, DOWNLOAD, values, changed=["report-pdf-download.n_clicks"])
    assert response.status_code == 200
    data = response.get_json()["response"]["report-pdf"]["data"]
    assert data["filename"] == f"ECG-{saved_report}.pdf" and data["base64"]
    assert base64.b64decode(data["content"]).startswith(b"%PDF-")


def test_the_download_refuses_a_report_of_another_doctors_patient(app, client, database, users, saved_report):
    from dashboard.accounts import Role, create_account
    from tests.conftest import TEST_ACTOR

    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.other", "Dr. Other", "other-password-1")
    login(client, "doctor", "dr.other", "other-password-1")
    values = {"report-pdf-download.n_clicks": 1, "report-request.data": {"report_id": saved_report}}
    response = call(client, app, DOWNLOAD, values, changed=["report-pdf-download.n_clicks"])
    body = json.dumps(response.get_json(), ensure_ascii=False)
    assert "report-pdf-message" in body and "%PDF" not in body and "recorded" in body
    assert any(r.actor_id == "dr.other" for r in audit_rows(database, "access_denied"))


def test_a_staff_member_without_login_gets_nothing(app, client, saved_report):
    values = {"report-pdf-download.n_clicks": 1, "report-request.data": {"report_id": saved_report}}
    response = call(client, app, DOWNLOAD, values, changed=["report-pdf-download.n_clicks"])
    assert response.status_code in (302, 401, 403)


@pytest.mark.skipif(not Path(str(DEFAULT_RECORD) + ".hea").exists(), reason="MIT-BIH 100 not in shared/data")
def test_pdf_benchmark_runs_and_writes_its_figures(tmp_path):
    out = tmp_path / "bench-pdf.json"
    status = bench.main(["pdf", "--runs", "1", "--out", str(out)])
    figures = json.loads(out.read_text())
    assert {"export_clinician", "export_patient", "render_clinician_whole_record"} <= figures.keys()
    assert status == (0 if figures["slowest_median_s"] <= 1.5 else 1)
