"""Analysing, storing and reporting ECGs through the services: real sample records in, stored
recordings and ecg_reports rows out; bad files say so and store nothing."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from dashboard import ecg_records, reports
from dashboard.audit import Actor
from dashboard.ecg_records import AnalysisRefused, UploadedFile
from dashboard.models import AuditEvent, EcgRecording, EcgReport, EcgReportDetail, FormSubmission
from dashboard.reports import ReportAccessDenied, ReportError
from dashboard.risk_inputs import record_risk_inputs, validate_risk_inputs
from dashboard.sample_library import SAMPLES, SAMPLES_DIR, sample_by_key
from pipeline.errors import EcgError
from tests.dashboard.test_patient_pages import add_patient

pytest.importorskip("pipeline.analysis")

DOCTOR = Actor("doctor", "dr.test", "127.0.0.1")
OTHER_DOCTOR = Actor("doctor", "dr.other", "127.0.0.1")
STAFF = Actor("staff", "staff.test", "127.0.0.1")


@pytest.fixture
def patient(database, users):
    add_patient(database, "P-ECG1", name="Ann Example", age=61, gender="Female", doctor_id="dr.test")
    draft = validate_risk_inputs(
        {
            "total_cholesterol": "180",
            "hdl": "47",
            "sbp": "124",
            "smoker": True,
            "heart_rate": "72",
            "creatinine": "1.0",
            "killip_class": "1",
        },
        "Female",
    )
    with database.transaction() as session:
        record_risk_inputs(session, STAFF, "P-ECG1", draft, "risk-token-1")
    return "P-ECG1"


def analyse(app, actor=DOCTOR, patient_id="P-ECG1", **source):
    services = app.ecg_services
    ticket = ecg_records.start_analysis(services.database, services.settings, actor, patient_id, **source)
    seen = []
    outcome = ecg_records.run_analysis(
        services.database, services.settings, ticket, lambda pct, label: seen.append((pct, label))
    )
    return outcome, seen


def count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def files_of(record: str) -> list[UploadedFile]:
    return [
        UploadedFile(f"{record}{ext}", (SAMPLES_DIR / f"{record}{ext}").read_bytes())
        for ext in (".hea", ".dat", ".atr")
    ]


def test_sample_library_files_exist_and_are_small():
    total = 0
    for sample in SAMPLES:
        for ext in (".hea", ".dat", ".atr"):
            path = SAMPLES_DIR / f"{sample.key}{ext}"
            assert path.exists(), path
            total += path.stat().st_size
    assert total < 8_000_000
    assert sample_by_key("../../etc/passwd") is None


def test_a_sample_is_analysed_stored_and_reported_with_every_original_column(app, database, patient):
    outcome, seen = analyse(app, sample_key="mitdb-201")
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100 and len(seen) >= 8
    assert {"Finding the beats", "Measuring PR, QRS and QT"} <= {label for _, label in seen}
    analysis = outcome.analysis
    assert analysis["beat_count"] > 300 and analysis["fs"] == 360.0
    with database.transaction() as session:
        recording = session.get(EcgRecording, outcome.recording_id)
        assert recording.patient_id == patient and recording.sample_key == "mitdb-201"
        assert recording.stored_name == f"{outcome.recording_id}.npz"
    stored = app.ecg_services.settings.instance_dir / "recordings" / recording.stored_name
    with np.load(stored) as arrays:
        assert arrays["signal_mv"].shape == (108000, 2)
        assert arrays["ann_sample"].size > 300

    report_id = reports.save_report(
        database,
        DOCTOR,
        outcome.recording_id,
        conclusions="AF with controlled rate.",
        notes="",
        form_token="t-1",
    )
    with database.transaction() as session:
        row = session.get(EcgReport, report_id)
        detail = session.get(EcgReportDetail, report_id)
        assert row.patient_id == patient and row.doctor_id == "dr.test" and row.record_num == "mitdb-201"
        assert row.heart_rate == pytest.approx(analysis["heart_rate_bpm"]["mean"])
        assert row.all_beats_count == analysis["beat_count"]
        assert row.pr_interval == pytest.approx(analysis["intervals_ms"]["pr"] or 0)
        assert row.qt_interval == pytest.approx(analysis["intervals_ms"]["qt"] or 0)
        assert row.systolic_bp == 124 and row.cholesterol == 180 and row.hdl == 47 and row.smoker
        assert row.framingham_risk > 0 and row.grace_score > 0
        rhythm = analysis["rhythm"]
        if rhythm:
            assert (
                row.predicted_class == rhythm["label"] and row.class_probabilities == rhythm["probabilities"]
            )
        else:
            assert row.predicted_class == "Not classified"
        assert detail.status == "draft" and json.loads(detail.analysis_json) == analysis
        actions = [
            a for (a,) in session.execute(select(AuditEvent.action).where(AuditEvent.report_id == report_id))
        ]
        assert actions == ["create_report"]


def test_double_save_makes_one_report_and_save_then_sign_signs_it(app, database, patient):
    outcome, _ = analyse(app, sample_key="mitdb-100")
    first = reports.save_report(
        database, DOCTOR, outcome.recording_id, conclusions="NSR", notes="", form_token="tok"
    )
    second = reports.save_report(
        database, DOCTOR, outcome.recording_id, conclusions="NSR", notes="", form_token="tok"
    )
    assert first == second and count(database, EcgReport) == 1
    signed = reports.save_report(
        database, DOCTOR, outcome.recording_id, conclusions="NSR.", notes="n", form_token="tok", sign=True
    )
    assert signed == first and count(database, EcgReport) == 1
    with database.transaction() as session:
        assert session.get(EcgReportDetail, first).status == "signed"


def test_signed_reports_are_read_only_and_amending_keeps_the_old_version(app, database, patient):
    outcome, _ = analyse(app, sample_key="mitdb-100")
    report_id = reports.save_report(
        database,
        DOCTOR,
        outcome.recording_id,
        conclusions="Sinus rhythm.",
        notes="",
        form_token="a",
        sign=True,
    )
    with pytest.raises(ReportError):
        reports.update_draft(database, DOCTOR, report_id, conclusions="changed", notes="")
    reports.sign_report(database, DOCTOR, report_id, conclusions="changed again", notes="")  # no-op
    new_id = reports.amend_report(
        database, DOCTOR, report_id, conclusions="Sinus rhythm, PACs.", notes="", form_token="b"
    )
    again = reports.amend_report(database, DOCTOR, report_id, conclusions="x", notes="", form_token="b")
    assert again == new_id
    with database.transaction() as session:
        old, new = session.get(EcgReportDetail, report_id), session.get(EcgReportDetail, new_id)
        assert old.conclusions == "Sinus rhythm." and old.status == "signed" and old.superseded_by == new_id
        assert new.version == 2 and new.previous_report_id == report_id and new.status == "draft"
    with pytest.raises(ReportError):
        reports.amend_report(database, DOCTOR, report_id, conclusions="x", notes="", form_token="c")
    reopened = reports.open_report(database, DOCTOR, report_id)
    assert reopened.analysis == outcome.analysis and not reopened.editable


def test_signing_needs_conclusions(app, database, patient):
    outcome, _ = analyse(app, sample_key="mitdb-100")
    with pytest.raises(ReportError, match="conclusions"):
        reports.save_report(
            database, DOCTOR, outcome.recording_id, conclusions=" ", notes="", form_token="s", sign=True
        )
    assert count(database, EcgReport) == 0


def test_only_the_patients_doctor_analyses_and_reports(app, database, patient, users):
    with pytest.raises(AnalysisRefused):
        analyse(app, actor=STAFF, sample_key="mitdb-100")
    with pytest.raises(AnalysisRefused):
        analyse(app, actor=OTHER_DOCTOR, sample_key="mitdb-100")
    outcome, _ = analyse(app, sample_key="mitdb-100")
    with pytest.raises(ReportAccessDenied):
        reports.save_report(
            database, OTHER_DOCTOR, outcome.recording_id, conclusions="x", notes="", form_token="o"
        )
    with pytest.raises(ReportAccessDenied):
        reports.save_report(database, STAFF, outcome.recording_id, conclusions="x", notes="", form_token="s")
    with pytest.raises(PermissionError):
        ecg_records.recording_analysis(database, OTHER_DOCTOR, outcome.recording_id)
    report_id = reports.save_report(
        database, DOCTOR, outcome.recording_id, conclusions="x", notes="", form_token="d"
    )
    # Staff see that a report exists, and its findings only once it is signed.
    assert not reports.open_report(database, STAFF, report_id).clinical
    reports.sign_report(database, DOCTOR, report_id, conclusions="x", notes="")
    assert reports.open_report(database, STAFF, report_id).clinical
    with pytest.raises(ReportAccessDenied):
        reports.open_report(database, OTHER_DOCTOR, report_id)
    with database.transaction() as session:
        denied = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access_denied")
        )
    assert denied >= 5


def test_a_forged_ticket_is_refused(app, patient):
    services = app.ecg_services
    with pytest.raises(AnalysisRefused):
        ecg_records.run_analysis(services.database, services.settings, "not-a-ticket")


def test_uploaded_wfdb_files_and_zip_are_analysed_under_generated_names(app, database, patient):
    files = files_of("mitdb-107")
    outcome, _ = analyse(app, files=files)
    assert outcome.analysis["beat_count"] > 300
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for upload in files:
            archive.writestr(upload.name, upload.content)
    outcome, _ = analyse(app, files=[UploadedFile("holter.zip", buffer.getvalue())])
    with database.transaction() as session:
        names = [r.stored_name for r in session.scalars(select(EcgRecording))]
        sources = {r.source_name for r in session.scalars(select(EcgRecording))}
    assert all(Path(name).stem.isalnum() and name.endswith(".npz") for name in names)
    assert sources == {"mitdb-107.hea", "holter.zip"}
    assert not list((app.ecg_services.settings.instance_dir / "uploads").iterdir())  # staging cleaned


def test_a_path_as_file_name_is_never_used_as_a_path(app, database, patient, tmp_path):
    content = (SAMPLES_DIR / "mitdb-100.hea").read_bytes()
    with pytest.raises(EcgError):
        analyse(app, files=[UploadedFile("../../etc/passwd", b"root:x:0:0")])
    with pytest.raises(EcgError):
        analyse(app, files=[UploadedFile("../../../../tmp/evil.hea", content)])
    assert ecg_records.display_name("../../etc/passwd") == "passwd"
    assert ecg_records.display_name("C:\\Users\\x\\100.hea") == "100.hea"
    instance = app.ecg_services.settings.instance_dir
    assert not (instance.parent / "etc").exists() and not Path("/tmp/evil.hea").exists()
    assert count(database, EcgRecording) == 0


@pytest.mark.parametrize(
    "files, message",
    [
        ([UploadedFile("broken.edf", b"0       " + b"\x00" * 300)], None),
        ([UploadedFile("nothing.zip", b"PK\x05\x06" + b"\x00" * 18)], None),
        ([UploadedFile("100.dat", b"\x00" * 1000)], "header"),
        ([UploadedFile("report.pdf", b"%PDF-1.4")], "not a recording format"),
    ],
)
def test_bad_files_give_one_clear_message_and_store_nothing(app, database, patient, files, message):
    with pytest.raises(EcgError) as raised:
        analyse(app, files=files)
    text = str(raised.value)
    assert text and "Traceback" not in text and "/" not in text.replace("/mV", "")
    if message:
        assert message in text
    assert count(database, EcgRecording) == 0 and count(database, EcgReport) == 0
    assert (
        not list((app.ecg_services.settings.instance_dir / "recordings").glob("*"))
        if (app.ecg_services.settings.instance_dir / "recordings").exists()
        else True
    )


def csv_upload(seconds: float, fs: int = 250, flat: bool = False) -> UploadedFile:
    t = np.arange(int(seconds * fs)) / fs
    beat = np.exp(-(((t % 0.8) - 0.1) ** 2) / 0.0002)
    lead = np.zeros_like(t) if flat else beat
    rows = "\n".join(f"{x:.4f},{y:.4f}" for x, y in zip(t, lead, strict=True))
    return UploadedFile("strip.csv", f"time_s,II_mV\n{rows}\n".encode())


def test_too_short_and_lead_off_recordings_store_nothing(app, database, patient):
    with pytest.raises(EcgError, match="10"):
        analyse(app, files=[csv_upload(5.0)])
    with pytest.raises(EcgError):
        analyse(app, files=[csv_upload(30.0, flat=True)])
    assert count(database, EcgRecording) == 0


def test_an_upload_over_the_limit_is_refused_before_reading(tmp_path, users):
    from dashboard import create_app
    from tests.conftest import settings_for

    app = create_app(settings_for(tmp_path, environ={"ECG_MAX_UPLOAD_MB": "1"}))
    add_patient(app.ecg_services.database, "P-BIG", doctor_id="dr.test")
    with pytest.raises(EcgError, match="too large"):
        analyse(app, patient_id="P-BIG", files=[UploadedFile("big.edf", b"0" * (2 * 1024 * 1024))])


def test_decode_uploads_reads_data_urls():
    data = "data:application/octet-stream;base64," + base64.b64encode(b"abc").decode()
    assert ecg_records.decode_uploads([data], ["x/../100.hea"]) == [UploadedFile("100.hea", b"abc")]
    with pytest.raises(EcgError):
        ecg_records.decode_uploads(["data:;base64,***"], ["a.csv"])
    with pytest.raises(EcgError):
        ecg_records.decode_uploads(None, None)


def test_signal_window_and_the_paper_figure(app, database, patient):
    from components.ecg_viewer import paper_figure

    outcome, _ = analyse(app, sample_key="mitdb-201")
    settings = app.ecg_services.settings
    whole = ecg_records.signal_window(database, settings, DOCTOR, outcome.recording_id, 0, 300)
    assert whole.cleaned_mv.shape[0] == 108000 and whole.annotations["symbol"]
    figure = paper_figure(
        window_start_s=whole.start_s,
        fs=whole.fs,
        lead_names=whole.lead_names,
        cleaned_mv=whole.cleaned_mv,
        analysis=outcome.analysis,
        x_range=(0, 300),
        annotations=whole.annotations,
        show_reference=True,
    )
    traces = [t for t in figure.data if t.mode == "lines"]
    assert len(traces) == 2 and all(len(t.x) <= 6000 for t in traces)
    assert len(figure.to_json()) < 1_000_000
    assert figure.layout.yaxis.scaleanchor == "x" and figure.layout.yaxis.scaleratio == pytest.approx(0.4)


def test_reports_search_filters_and_patient_list(app, database, patient):
    outcome, _ = analyse(app, sample_key="mitdb-100")
    first = reports.save_report(
        database, DOCTOR, outcome.recording_id, conclusions="a", notes="", form_token="1"
    )
    second = reports.save_report(
        database, DOCTOR, outcome.recording_id, conclusions="b", notes="", form_token="2", sign=True
    )
    rows = reports.search_reports(database, DOCTOR, reports.ReportFilters())
    assert [r.report_id for r in rows][:2] in ([second, first], [first, second])
    unsigned = reports.search_reports(database, DOCTOR, reports.ReportFilters(unsigned_only=True))
    assert [r.report_id for r in unsigned] == [first]
    assert reports.search_reports(database, OTHER_DOCTOR, reports.ReportFilters()) == []
    assert len(reports.search_reports(database, STAFF, reports.ReportFilters(patient="Ann"))) == 2
    assert count(database, FormSubmission) >= 3


@pytest.mark.mysql
def test_the_whole_report_cycle_on_mariadb(tmp_path, mysql_database_url):
    """Migration 0004 on MariaDB (collations matching the original tables, LONGTEXT JSON)."""
    from dashboard import create_app
    from dashboard.accounts import Role, create_account
    from tests.conftest import TEST_ACTOR, settings_for

    app = create_app(settings_for(tmp_path, database_url=mysql_database_url))
    database = app.ecg_services.database
    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.test", "Dr. Test", "a-long-password")
    add_patient(database, "P-ECG1", doctor_id="dr.test")
    outcome, _ = analyse(app, sample_key="mitdb-201")
    report_id = reports.save_report(
        database, DOCTOR, outcome.recording_id, conclusions="AF.", notes="", form_token="m1", sign=True
    )
    assert (
        reports.save_report(
            database, DOCTOR, outcome.recording_id, conclusions="AF.", notes="", form_token="m1", sign=True
        )
        == report_id
    )
    new_id = reports.amend_report(
        database, DOCTOR, report_id, conclusions="AF, rate 88.", notes="", form_token="m2"
    )
    assert reports.open_report(database, DOCTOR, report_id).analysis == outcome.analysis
    assert reports.open_report(database, DOCTOR, new_id).detail.previous_report_id == report_id
    app.ecg_services.database.dispose()
