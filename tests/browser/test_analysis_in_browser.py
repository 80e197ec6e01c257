"""A doctor analyses a sample AF record in a real browser: patient -> sample -> progress to 100 %
-> findings -> sign -> the report is in the patient's history and reopens identically."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard.ecg_records import rhythm_classifier, vf_vt_call
from tests.browser.conftest import DEMO_PASSWORD, SCREENSHOTS, Visit
from tests.conftest import SHARED

pytestmark = pytest.mark.browser

PATIENT = "P-DEMO-0001"


def test_doctor_analyses_signs_and_reopens_an_af_record(server, browser):
    visit = Visit(browser, 1920, 1080)
    page = visit.page
    visit.login(server, "doctor", "dr.demo", DEMO_PASSWORD)
    page.wait_for_selector("#home-welcome")
    page.goto(f"{server}/patient/{PATIENT}")
    page.click("#patient-analyse-link")
    page.wait_for_url(re.compile(r".*/analysis\?patient=" + PATIENT))
    page.wait_for_function(
        "document.querySelector('#analysis-patient') && "
        "document.querySelector('#analysis-patient').innerText.includes('" + PATIENT + "')"
    )
    page.get_by_text("Atrial fibrillation", exact=True).click()
    page.click("#analysis-start")
    # The bar is fed by the pipeline's own steps and ends at 100 %.
    page.wait_for_function(
        "document.querySelector('#analysis-progress').innerText.includes('100 %')", timeout=120_000
    )
    page.wait_for_selector("#findings-rhythm", timeout=60_000)
    page.wait_for_selector(".ecg-paper .scatterlayer, .ecg-paper .gl-container", timeout=30_000)
    page.wait_for_timeout(800)  # the paper figure's first draw
    rhythm_text = page.inner_text("#findings-rhythm")
    if rhythm_classifier() is not None:
        assert page.inner_text("#findings-rhythm-label") == "AF"
        assert re.search(r"\d+%", page.inner_text("#findings-confidence"))
    else:
        assert "Rhythm not classified:" in rhythm_text
        if vf_vt_call() is not None:  # the validated VF/VT call is shown on its own
            assert re.match(r"(No VF/VT in any of the \d+|VF/VT called in \d+ of \d+)", rhythm_text)
        else:
            assert rhythm_text.startswith("Rhythm not classified:")
    findings = page.inner_text(".findings")
    assert "QTc Bazett" in findings and "bpm" in findings and "Cardiovascular risk" in findings
    assert page.inner_text("#analysis-message") == "" or "finished" in page.inner_text("#analysis-message")
    visit.screenshot("analysis-1920.png")

    # Calipers: two clicks on the trace read Δt and the rate.
    page.click("#ecg-caliper-toggle-analysis")
    box = page.locator(".ecg-paper .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "document.getElementById('ecg-caliper-readout-analysis').innerText.includes('bpm')", timeout=5000
    )
    page.click("#ecg-caliper-toggle-analysis")

    page.fill("#analysis-conclusions", "Atrial fibrillation with a controlled ventricular rate.")
    page.click("#analysis-sign")
    page.dblclick("#analysis-sign")  # a second and third click make no second report
    page.wait_for_selector("#analysis-saved-alert")
    report_id = re.search(r"R-\d{8}-[0-9A-Z]{8}", page.inner_text("#analysis-saved-alert")).group(0)

    page.goto(f"{server}/patient/{PATIENT}")
    page.wait_for_selector("#patient-reports-table")
    table = page.inner_text("#patient-reports-table")
    assert table.count(report_id) == 1 and "signed" in table
    page.click(f"#patient-reports-table >> text={report_id}")
    page.wait_for_selector("#report-title")
    page.wait_for_selector("#report-findings .findings")
    assert page.inner_text("#report-findings .findings") == findings
    assert "controlled ventricular rate" in page.inner_text("#report-conclusions-text")
    assert "signed" in page.inner_text("#report-header")
    page.wait_for_selector(".ecg-paper .scatterlayer, .ecg-paper .gl-container", timeout=30_000)
    assert visit.errors == [] and visit.outside == []
    visit.close()


def doctor_uploads(server: str, browser, files: list[str]) -> Visit:
    """A doctor on the analysis page of the demo patient, ``files`` chosen in the Upload tab
    (their names shown) and Start clicked."""
    visit = Visit(browser, 1280, 800)
    page = visit.page
    visit.login(server, "doctor", "dr.demo", DEMO_PASSWORD)
    page.wait_for_selector("#home-welcome")
    page.goto(f"{server}/analysis?patient={PATIENT}")
    page.wait_for_selector("#analysis-source")
    page.click("text=Upload")
    page.set_input_files("#analysis-upload input[type=file]", files)
    shown = Path(files[0]).name
    page.wait_for_function(f"document.getElementById('analysis-upload-names').innerText.includes('{shown}')")
    page.click("#analysis-start")
    return visit


def test_a_wrong_file_says_so_and_the_page_stays_usable(server, browser, tmp_path):
    bad = tmp_path / "passwd.txt"  # the picker only offers ECG extensions; the content is wrong
    bad.write_text("root:x:0:0:root:/root:/bin/bash\n")
    visit = doctor_uploads(server, browser, [str(bad)])
    page = visit.page
    page.wait_for_selector("#analysis-message .alert-danger", timeout=30_000)
    assert len(page.inner_text("#analysis-message")) > 20
    assert "Traceback" not in page.content()

    # Cancel: a whole 30-min record, stopped while it runs; the page is usable again at once.
    record = SHARED / "data" / "physionet" / "mitdb" / "203"
    if record.with_suffix(".dat").exists():
        page.set_input_files(
            "#analysis-upload input[type=file]",
            [str(record.with_suffix(e)) for e in (".hea", ".dat", ".atr")],
        )
        page.wait_for_function(
            "document.getElementById('analysis-upload-names').innerText.includes('203.hea')"
        )
        page.click("#analysis-start")
        page.wait_for_function("!document.getElementById('analysis-cancel').disabled", timeout=20_000)
        page.click("#analysis-cancel")
        page.wait_for_function("!document.getElementById('analysis-start').disabled", timeout=10_000)
        assert "203.hea" not in page.inner_text("#analysis-findings")
    page.click("text=Sample library")
    page.get_by_text("Atrial fibrillation", exact=True).click()
    page.click("#analysis-start")
    page.wait_for_selector("#findings-rhythm", timeout=120_000)
    page.wait_for_selector(".ecg-paper .scatterlayer", timeout=30_000)
    page.wait_for_timeout(800)
    visit.screenshot("analysis-1280.png")
    visit.close()


def test_an_uncalibrated_upload_is_flagged_in_the_findings(server, browser):
    """qtdb sel14046's header gives its signals an ADC gain of 0: amplitudes are nominal."""
    record = SHARED / "data" / "physionet" / "qtdb" / "sel14046"
    visit = doctor_uploads(server, browser, [str(record.with_suffix(e)) for e in (".hea", ".dat")])
    page = visit.page
    page.wait_for_selector("#findings-amplitude", timeout=120_000)

    warning = page.inner_text("#findings-amplitude")
    assert warning.startswith("Amplitude not calibrated") and "'record 14046, signal 0'" in warning
    assert page.is_visible("#findings-amplitude") and "Traceback" not in page.content()
    page.evaluate("document.fonts.ready")
    page.locator("#analysis-findings").screenshot(path=str(SCREENSHOTS / "analysis-uncalibrated.png"))
    assert visit.errors == [] and visit.outside == []
    visit.close()
