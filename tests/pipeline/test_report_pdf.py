"""PDF reports (pipeline.report_pdf) and ECG paper strips (pipeline.ecg_strip_svg), checked the
way a reader sees them: the text poppler extracts, the rendered page, the fonts embedded, and the
strips' coordinates in millimetres. The recording is the shipped MIT-BIH 201 excerpt."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime

import numpy as np
import pytest

from dashboard.sample_library import SAMPLES_DIR
from pipeline.analysis import analyze
from pipeline.ecg_strip_svg import ecg_overview_svg, ecg_strip_svg
from pipeline.load import load_ecg

pytest.importorskip("weasyprint")
from pipeline.report_pdf import Institution, clinician_report_pdf, patient_summary_pdf  # noqa: E402

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdffonts", "pdfinfo"))
needs_poppler = pytest.mark.skipif(
    not POPPLER and os.environ.get("CI", "").lower() != "true",
    reason="poppler-utils (pdftotext, pdftoppm) not installed",
)
SVG = "{http://www.w3.org/2000/svg}"
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NAMES = ("Zoë Ñúñez", "王芳", "محمد")


@pytest.fixture(scope="module")
def recording():
    ecg = load_ecg(str(SAMPLES_DIR / "mitdb-201.hea"))
    result = analyze(ecg)
    return result.to_dict(), result.cleaned_mv, ecg.fs, ecg.lead_names


def classified(analysis: dict) -> dict:
    """The analysis as a rhythm classifier would have completed it (no CNN ships with the tests)."""
    probabilities = {"Normal": 0.03, "SVT": 0.02, "AF": 0.87, "VF": 0.0, "VT": 0.01}
    probabilities |= {"Heart block": 0.01, "Other": 0.05, "Noise": 0.01}
    episodes = [
        {"start_s": 0.0, "end_s": 120.0, "label": "AF", "probability": 0.9},
        {"start_s": 120.0, "end_s": 300.0, "label": "Normal", "probability": 0.8},
    ]
    rhythm = {"label": "AF", "confidence": 0.87, "probabilities": probabilities, "lead": "MLII"}
    return analysis | {"rhythm": rhythm | {"windows": [], "episodes": episodes}, "rhythm_reason": None}


def report_fields(name: str = "Ann Example", **changes) -> dict:
    fields = {
        "report_id": "R-20261201-TESTPDF1",
        "report_date": datetime(2026, 12, 1, 9, 30),
        "version": 1,
        "doctor": "Gregory House (dr.test)",
        "status": "signed",
        "signed_by": "Gregory House (dr.test)",
        "signed_at": datetime(2026, 12, 1, 10, 5),
        "conclusions": "Atrial fibrillation with controlled ventricular rate.",
        "notes": "",
        "patient": {"name": name, "patient_id": "P-ECG1", "age": 61, "gender": "Female", "sex": "female"},
        "risk": {
            "framingham": {
                "sex": "female",
                "age_years": 61,
                "total_cholesterol_mg_dl": 180,
                "hdl_mg_dl": 47,
                "sbp_mmhg": 124,
                "bp_treated": False,
                "smoker": True,
                "diabetic": False,
                "risk_pct": 10.48,
                "points": 13,
                "category": "intermediate",
                "heart_age_years": 73,
            },
            "grace": {"age_years": 61, "heart_rate_bpm": 72, "sbp_mmhg": 124, "creatinine_mg_dl": 1.0}
            | {"killip_class": 1, "cardiac_arrest": False, "st_deviation": False, "points": 98},
        },
    }
    return fields | changes


def pdf_text(pdf: bytes, tmp_path, name: str = "report.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return BIDI_MARKS.sub("", text)


def pages(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


@needs_poppler
def test_report_text_has_name_rhythm_confidence_qtc_both_scores_and_page_numbers(recording, tmp_path):
    analysis, cleaned, fs, leads = recording
    pdf = clinician_report_pdf(
        report_fields(), classified(analysis), cleaned, fs, leads, institution=Institution("St Example")
    )
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    qtc = analysis["intervals_ms"]["qtc_bazett"]
    for expected in (
        "Ann Example",
        "St Example",
        "R-20261201-TESTPDF1",
        "AF",
        "confidence 87%",
        "Atrial fibrillation with controlled",
        f"{qtc:.0f} ms",
        "10.5 %",  # Framingham
        "98 points",  # GRACE
        "Signed by Gregory House (dr.test) at 2026-12-01 10:05 UTC",
        "Page 1 of",
        "Automated interpretation",
    ):
        assert expected in text, expected
    for name in ("Normal", "SVT", "VF", "VT", "Heart block", "Other", "Noise"):
        assert name in text  # every probability is listed
    assert "DRAFT" not in text


@needs_poppler
def test_page_one_renders_to_png(recording, tmp_path):
    analysis, cleaned, fs, leads = recording
    path = tmp_path / "report.pdf"
    path.write_bytes(clinician_report_pdf(report_fields(), analysis, cleaned, fs, leads))
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "50", "-png", str(path), str(tmp_path / "page")], check=True
    )
    (png,) = tmp_path.glob("page*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def trace_points(svg: str) -> np.ndarray:
    root = ET.fromstring(svg)
    (trace,) = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "trace"]
    return np.array([[float(v) for v in pair.split(",")] for pair in trace.get("points").split()])


def test_strip_is_on_true_ecg_paper_25_mm_per_s_and_10_mm_per_mv():
    fs = 500.0
    signal = np.zeros(int(12 * fs))
    signal[int(2 * fs)] = 1.0  # 1 mV at t = 2 s
    svg = ecg_strip_svg(signal, fs, "II", start_s=0.0, duration_s=10.0)
    root = ET.fromstring(svg)
    width, height = root.get("width"), root.get("height")
    assert width.endswith("mm") and height.endswith("mm")
    assert root.get("viewBox") == f"0 0 {width[:-2]} {height[:-2]}"  # one user unit = 1 mm
    points = trace_points(svg)
    x, y = points[:, 0], points[:, 1]
    assert x.size == int(10 * fs) + 1
    assert x[int(fs)] - x[0] == pytest.approx(25.0, abs=0.01)  # 1 s spans 25 mm
    assert x[-1] - x[0] == pytest.approx(250.0, abs=0.01)
    assert y[0] - y[int(2 * fs)] == pytest.approx(10.0, abs=0.01)  # 1 mV spans 10 mm
    (pulse,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == "calibration"]
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", pulse.get("d"))]
    # M x0 base H x1 V top H x2 V base H x3: 1 mV (10 mm) high and 200 ms (5 mm) wide
    assert numbers[1] - numbers[3] == pytest.approx(10.0) and numbers[4] - numbers[2] == pytest.approx(5.0)
    grid = [p for p in root.iter(f"{SVG}path") if p.get("class") is None]
    minor, major = (p.get("d").count("M") for p in grid)
    assert major == int(258 / 5) + 1 + int(35 / 5) + 1  # a heavy line every 5 mm
    assert minor + major == 259 + 36  # a line every 1 mm


def test_an_uncalibrated_strip_has_no_calibration_pulse_and_says_its_scale_is_nominal():
    fs = 500.0
    signal = np.zeros(int(12 * fs))
    signal[int(2 * fs)] = 1.0

    root = ET.fromstring(ecg_strip_svg(signal, fs, "II", calibrated=False))
    calibrated = ET.fromstring(ecg_strip_svg(signal, fs, "II"))

    assert [p for p in root.iter(f"{SVG}path") if p.get("class") == "calibration"] == []
    assert "10 mm/mV nominal (uncalibrated)" in "".join(root.itertext())
    assert len([p for p in calibrated.iter(f"{SVG}path") if p.get("class") == "calibration"]) == 1
    assert "nominal" not in "".join(calibrated.itertext())
    np.testing.assert_array_equal(
        trace_points(ET.tostring(root, encoding="unicode")),
        trace_points(ET.tostring(calibrated, encoding="unicode")),
    )  # the trace itself is drawn alike


def test_overview_marks_episodes_and_unusable_stretches(recording):
    analysis, cleaned, fs, _ = recording
    svg = ecg_overview_svg(
        cleaned[:, 0],
        fs,
        "MLII",
        episodes=classified(analysis)["rhythm"]["episodes"],
        unusable=[(200.0, 210.0)],
    )
    root = ET.fromstring(svg)
    rects = [r.get("class") for r in root.iter(f"{SVG}rect")]
    assert rects.count("episode") == 2  # the AF episode over rows 0:00 and 1:00; Normal unmarked
    assert rects.count("unusable") == 1
    assert len([p for p in root.iter(f"{SVG}polyline")]) == 5  # five one-minute rows


@needs_poppler
def test_missing_measurements_print_not_measured(recording, tmp_path):
    analysis, *_ = recording
    empty = analysis | {
        "intervals_ms": {"pr": None, "qrs": None, "qt": None, "qtc_bazett": None, "qtc_fridericia": None},
        "hrv": {},
        "heart_rate_bpm": {"mean": None, "min": None, "max": None},
    }
    text = pdf_text(clinician_report_pdf(report_fields(risk=None), empty), tmp_path)
    assert text.count("not measured") >= 10
    assert "Rhythm not classified" in text and "No rhythm classifier is installed" in text
    bare = pdf_text(clinician_report_pdf(report_fields(status="original"), None), tmp_path, "bare.pdf")
    assert "not measured" in bare and "DRAFT — not signed" in bare


@needs_poppler
def test_a_lead_without_calibration_is_flagged_where_amplitudes_are_read(recording, tmp_path):
    analysis, cleaned, fs, leads = recording
    assert analysis["uncalibrated_leads"] == []
    text = " ".join(
        pdf_text(clinician_report_pdf(report_fields(), analysis, cleaned, fs, leads), tmp_path).split()
    )
    assert "not calibrated" not in text and "nominal" not in text

    flagged = analysis | {"uncalibrated_leads": ["MLII"]}
    pdf = clinician_report_pdf(report_fields(), flagged, cleaned, fs, leads)
    text = " ".join(pdf_text(pdf, tmp_path, "flagged.pdf").split())

    assert (
        "Amplitude not calibrated in 'MLII': no gain in the file, mV nominal; do not read amplitudes" in text
    )
    assert "Amplitude not calibrated in 'MLII': the mV scale is nominal." in text  # by the 10 mm/mV strips
    assert "MLII · " in text and "10 mm/mV nominal (uncalibrated)" in text  # the strip's own label
    assert pages(pdf, tmp_path) == pages(
        clinician_report_pdf(report_fields(), analysis, cleaned, fs, leads), tmp_path
    )


@needs_poppler
def test_beats_counted_on_another_lead_are_said_so_beside_the_beat_count(recording, tmp_path):
    analysis, *_ = recording
    reason = "Beats counted on lead V5: 27 % of the 1915 beats found on lead MLII have no beat on lead V5."

    text = " ".join(
        pdf_text(
            clinician_report_pdf(report_fields(), analysis | {"beats_lead_reason": reason}), tmp_path
        ).split()
    )

    assert reason in text
    plain = " ".join(pdf_text(clinician_report_pdf(report_fields(), analysis), tmp_path, "plain.pdf").split())
    assert "Beats counted on lead" not in plain


@needs_poppler
def test_the_validated_vf_vt_call_is_printed_where_the_rhythm_names_are_not(recording, tmp_path):
    analysis, *_ = recording
    windows = [{"start_s": 5.0 * k, "end_s": 5.0 * k + 10, "probability": 0.1} for k in range(59)]
    call = {"rule": "VF/VT where P(VF) + P(VT) >= 0.5 in a 10-s window", "threshold": 0.5, "windows": windows}
    episode = {"start_s": 62.5, "end_s": 72.5, "label": "VF/VT", "probability": 0.77}
    called = analysis | {"rhythm": None, "vf_vt": {**call, "windows_called": 1, "episodes": [episode]}}

    text = pdf_text(clinician_report_pdf(report_fields(), called), tmp_path)

    assert "VF/VT called in 1 of 59 10-s windows" in " ".join(text.split())
    assert "0:01:02.5–0:01:12.5" in text and "77%" in text and "Rhythm not classified" in text
    quiet = analysis | {"rhythm": None, "vf_vt": {**call, "windows_called": 0, "episodes": []}}
    text = pdf_text(clinician_report_pdf(report_fields(), quiet), tmp_path, "quiet.pdf")
    assert "No VF/VT in any of the 59 10-s windows" in " ".join(text.split())


@needs_poppler
def test_long_notes_wrap_and_continue_onto_the_next_page(tmp_path):
    words = " ".join(f"observation{i}" for i in range(2500))
    notes = f"{words}\n{'x' * 3000} END-OF-NOTES"  # one unbreakable 3000-character word too
    pdf = clinician_report_pdf(report_fields(notes=notes), None)
    assert pages(pdf, tmp_path) > 1
    text = pdf_text(pdf, tmp_path)
    assert "observation2499" in text and "END-OF-NOTES" in text
    longest_line = max(len(line) for line in text.splitlines())
    assert longest_line < 200  # wrapped, not run off the page


@needs_poppler
def test_names_in_any_script_render_with_embedded_glyphs(tmp_path):
    name = " ".join(NAMES)
    pdf = clinician_report_pdf(report_fields(name=name), None)
    text = pdf_text(pdf, tmp_path)
    for part in NAMES:
        assert part in text, part
    path = tmp_path / "names.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("yes" in row[-5:-3] for row in rows)  # every font embedded
    families = {re.sub(r"^[A-Z]{6}\+", "", row[0]).replace("-Bold", "").replace("-", " ") for row in rows}
    for char in set("".join(NAMES).replace(" ", "")):
        covering = [
            family
            for family in families
            if subprocess.run(
                ["fc-list", f"{family}:charset={ord(char):x}", "family"], capture_output=True, text=True
            ).stdout.strip()
        ]
        assert covering, f"no embedded font has a glyph for {char!r} (fonts: {families})"


@needs_poppler
def test_building_twice_gives_the_same_pdf(recording, tmp_path):
    analysis, cleaned, fs, leads = recording
    first = clinician_report_pdf(report_fields(status="draft"), analysis, cleaned, fs, leads)
    second = clinician_report_pdf(report_fields(status="draft"), analysis, cleaned, fs, leads)
    assert pdf_text(first, tmp_path, "a.pdf") == pdf_text(second, tmp_path, "b.pdf")
    assert first == second
    path = tmp_path / "a.pdf"
    info = subprocess.run(["pdfinfo", "-isodates", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"CreationDate:\s+2026-12-01T09:30:00", info)  # the PDF's dates are the report's


@needs_poppler
def test_draft_is_watermarked_on_every_page(recording, tmp_path):
    analysis, cleaned, fs, leads = recording
    pdf = clinician_report_pdf(report_fields(status="draft", signed_by=None), analysis, cleaned, fs, leads)
    text = pdf_text(pdf, tmp_path)
    assert text.count("DRAFT — not signed") >= pages(pdf, tmp_path) and "Signed by" not in text


@needs_poppler
@pytest.mark.parametrize("paper, points", [("A4", "595.276 x 841.89"), ("Letter", "612 x 792")])
def test_paper_size(paper, points, tmp_path):
    path = tmp_path / "size.pdf"
    path.write_bytes(clinician_report_pdf(report_fields(), None, paper_size=paper))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert points in info
    with pytest.raises(ValueError, match="A4 or Letter"):
        clinician_report_pdf(report_fields(), None, paper_size="A5")


@needs_poppler
def test_patient_summary_is_plain_language_on_one_or_two_pages(recording, tmp_path):
    analysis, *_ = recording
    pdf = patient_summary_pdf(report_fields(name="محمد"), classified(analysis))
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert 1 <= pages(pdf, tmp_path) <= 2
    assert "محمد" in text and "atrial fibrillation" in text and "Questions to ask your doctor" in text
    assert "Out of 100 people" in text and "GRACE score: 98 points" in text


def test_names_with_html_are_printed_as_text(tmp_path):
    html_name = '<b onclick="x">Bobby</b> & Co'
    from pipeline.report_pdf import clinician_report_html

    page = clinician_report_html(report_fields(name=html_name), None)
    assert "&lt;b onclick=&#34;x&#34;&gt;Bobby&lt;/b&gt; &amp; Co" in page


@needs_poppler
def test_logo_is_printed_and_strips_are_vector_graphics(recording, tmp_path):
    import base64

    analysis, cleaned, fs, leads = recording
    logo = tmp_path / "logo.png"
    logo.write_bytes(
        base64.b64decode(
            b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
        )
    )
    pdf = clinician_report_pdf(
        report_fields(), analysis, cleaned, fs, leads, institution=Institution("St Example", str(logo))
    )
    path = tmp_path / "logo.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True)
    images = [line for line in listing.stdout.splitlines()[2:] if line.split()[2] == "image"]
    assert len(images) == 1  # the logo; the strips are drawn as vectors, not pictures
    assert "Rhythm strips" in pdf_text(pdf, tmp_path)
