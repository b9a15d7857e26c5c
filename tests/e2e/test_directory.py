"""The patient directory through the real pages: a receptionist registers a patient."""

import re

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_staff_registers_a_patient_and_lands_on_the_new_record(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "staff1@harbour-health.test")
    page.get_by_role("link", name="Patients").first.click()
    page.wait_for_url(f"{live_server_url}/patients/")
    page.get_by_role("link", name="New patient").first.click()
    page.wait_for_url(f"{live_server_url}/patients/new/")

    page.fill("#id_given_name", "Marguerite")
    page.fill("#id_family_name", "Perey")
    page.fill("#id_date_of_birth", "1979-10-19")
    page.select_option("#id_sex", "female")
    page.fill("#id_phone", "0412 000 719")
    page.fill("#id_allergies", "Latex")
    page.get_by_role("button", name="Register patient").click()

    page.wait_for_url(re.compile(rf"{live_server_url}/patients/\d+/$"))
    assert page.get_by_role("heading", name="Marguerite Perey").is_visible()
    mrn = page.get_by_test_id("patient-mrn").inner_text()
    assert re.fullmatch(r"[A-Z]+-\d{6}", mrn)
    assert "Latex" in page.content()
    page.screenshot(path=str(artifacts / "patient-record.png"), full_page=True)

    page.goto(f"{live_server_url}/patients/?q={mrn}")
    assert page.get_by_role("link", name=re.compile("Perey, Marguerite")).is_visible()
    assert page.console_errors == []
