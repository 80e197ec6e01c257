"""Staff registers a patient and enters risk factors in a real browser; the assigned doctor
sees the patient and both scores, another doctor does not."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import DEMO_PASSWORD, Visit

pytestmark = pytest.mark.browser

NAME = "Zoë Ñúñez <b>Test</b>"  # unicode, and markup that must stay text


def fill(page, selector: str, value: str) -> None:
    page.fill(selector, "")
    page.fill(selector, value)


@pytest.fixture(scope="module")
def registered(server, browser):
    """Staff registers the patient and enters risk factors; returns the Patient ID."""
    visit = Visit(browser, 1280, 1000)
    page = visit.page
    visit.login(server, "staff", "staff.demo", DEMO_PASSWORD)
    page.wait_for_selector("#home-welcome")
    page.click("#nav-patients")
    page.wait_for_selector("#patients-table td")
    page.click("#patients-register")
    page.wait_for_selector("#register-name")

    # A first try with a wrong e-mail: field message, nothing saved, still on the form.
    fill(page, "#register-name", NAME)
    fill(page, "#register-age", "61")
    page.select_option("#register-gender", "Female")
    fill(page, "#register-address", "12 Rue des Lilas, Lyon")
    fill(page, "#register-email", "not-an-email")
    fill(page, "#register-personal_phone", "+33 6 12 34 56 78")
    fill(page, "#register-emergency_phone", "06 98 76 54 32")
    page.wait_for_function("document.querySelectorAll('#register-doctor_id option').length > 1")
    page.select_option("#register-doctor_id", "dr.demo")
    page.click("#register-save")
    page.wait_for_selector("#register-email.is-invalid")
    assert "name@example.org" in page.inner_text("#register-email-feedback")
    assert "/patients/register" in page.url

    fill(page, "#register-email", "zoe@example.org")
    page.click("#register-save")
    page.wait_for_url(re.compile(r".*/patient/P[0-9A-Z]{9}$"), timeout=20_000)
    patient_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#patient-name")
    assert page.inner_text("#patient-name") == NAME  # shown as text, markup and all
    assert "06 98" not in page.inner_text("#patient-details") and "0698765432" in page.inner_text(
        "#patient-details"
    )

    # Risk factors: an impossible blood pressure first.
    page.click("#patient-risk-link")
    page.wait_for_selector("#risk-total-cholesterol")
    page.wait_for_function("document.querySelector('#risk-patient-name').innerText.length > 0")
    page.click("label[for=risk-smoker]")
    fill(page, "#risk-total-cholesterol", "180")
    fill(page, "#risk-hdl", "47")
    fill(page, "#risk-sbp", "300")
    fill(page, "#risk-creatinine", "1.0")
    page.select_option("#risk-killip", "1")
    fill(page, "#risk-heart-rate", "80")
    page.click("label[for=risk-st-deviation]")
    page.click("label[for=risk-elevated-enzymes]")
    page.click("#risk-save")
    page.wait_for_selector("#risk-sbp.is-invalid")
    assert "between 60 and 260 mmHg" in page.inner_text("#risk-sbp-feedback")
    assert "/risk-factors/" in page.url
    visit.screenshot("risk-form-invalid.png")

    fill(page, "#risk-sbp", "124")
    page.click("#risk-save")
    page.wait_for_url(f"**/patient/{patient_id}", timeout=20_000)
    page.wait_for_selector("#framingham-risk")
    assert visit.errors == [] and visit.outside == []
    visit.close()
    return patient_id


def test_staff_sees_both_scores_after_entering_risk_factors(server, browser, registered):
    visit = Visit(browser, 1280, 1100)
    visit.login(server, "staff", "staff.demo", DEMO_PASSWORD)
    page = visit.page
    page.wait_for_selector("#home-welcome")
    page.goto(f"{server}/patient/{registered}")
    page.wait_for_selector("#framingham-risk")
    # Woman, 61, TC 180, HDL 47, SBP 124 untreated, smoker: the paper's worked example, 10.48 %.
    assert page.inner_text("#framingham-risk") == "10.5 %"
    assert "intermediate" in page.inner_text("#framingham-category")
    # GRACE: age 58 + HR 9 + SBP 34 + creatinine 7 + ST 28 + enzymes 14 = 150 points -> 3.9 %.
    assert page.inner_text("#grace-points") == "150 points"
    assert "3.9 %" in page.inner_text("#grace-mortality")
    assert "acute coronary syndrome" in page.inner_text("#grace-card")
    assert "Smoking" in page.inner_text("#treat-first")
    assert len(page.locator("#risk-history-table tbody tr").all()) == 1  # the invalid try saved nothing
    visit.screenshot("patient-page.png")
    assert visit.errors == [] and visit.outside == []
    visit.close()


def test_staff_edits_the_patients_details(server, browser, registered):
    visit = Visit(browser)
    visit.login(server, "staff", "staff.demo", DEMO_PASSWORD)
    page = visit.page
    page.wait_for_selector("#home-welcome")
    page.goto(f"{server}/patient/{registered}")
    page.click("#patient-edit-link")
    page.wait_for_function("document.querySelector('#edit-address').value.length > 0")
    assert page.input_value("#edit-name") == NAME
    fill(page, "#edit-age", "130")
    page.click("#edit-save")
    page.wait_for_selector("#edit-age.is-invalid")
    fill(page, "#edit-age", "61")
    fill(page, "#edit-address", "3 Place Bellecour, Lyon")
    page.click("#edit-save")
    page.wait_for_url(f"**/patient/{registered}", timeout=20_000)
    page.wait_for_selector("#patient-details")
    assert "3 Place Bellecour, Lyon" in page.inner_text("#patient-details")
    assert visit.errors == [] and visit.outside == []
    visit.close()


def test_the_assigned_doctor_sees_the_patient(server, browser, registered):
    visit = Visit(browser)
    visit.login(server, "doctor", "dr.demo", DEMO_PASSWORD)
    page = visit.page
    page.wait_for_selector("#home-welcome")
    page.click("#nav-patients")
    page.wait_for_selector(f"#patients-table a[href='/patient/{registered}']", timeout=20_000)
    visit.screenshot("patients-list.png")
    page.click(f"#patients-table a[href='/patient/{registered}']")
    page.wait_for_selector("#framingham-risk")
    assert page.inner_text("#patient-name") == NAME
    assert visit.errors == [] and visit.outside == []
    visit.close()


def test_another_doctor_does_not_see_the_patient(server, browser, registered):
    visit = Visit(browser)
    visit.login(server, "doctor", "dr.other", DEMO_PASSWORD)
    page = visit.page
    page.wait_for_selector("#home-welcome")
    page.click("#nav-patients")
    page.wait_for_selector("#patients-total")
    page.wait_for_function("document.querySelector('#patients-total').innerText.includes('patients')")
    assert page.inner_text("#patients-total") == "0 patients"
    # Typing the patient's address: refused, and said so.
    page.goto(f"{server}/patient/{registered}")
    page.wait_for_selector("#patient-denied .alert")
    assert "not one you may see" in page.inner_text("#patient-denied")
    assert page.locator("#patient-name").count() == 0
    # Only through the explicit, audited all-patients view:
    page.goto(f"{server}/patients")
    page.click("text=All patients (recorded in the audit log)")
    page.wait_for_selector(f"#patients-table a[href='/patient/{registered}?via=all']", timeout=20_000)
    visit.close()
