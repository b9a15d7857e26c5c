"""Radiology in Chromium: a patient opens "My reports" in the portal and downloads the
signed radiology report; the PDF names them."""

import io
import re

import pytest
from pypdf import PdfReader

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

# The demo's first signed report of a patient with a portal login (caresync/records/demo.py).
PATIENT = "patient14@harbour-health.test"


def test_a_patient_downloads_their_radiology_report_pdf(page, live_server_url, artifacts):
    sign_in(page, live_server_url, PATIENT)
    page.get_by_role("link", name="My reports").click()
    page.wait_for_url(f"{live_server_url}/my-reports/")
    patient_name = page.get_by_test_id("patient-name").inner_text()
    assert patient_name
    page.screenshot(path=str(artifacts / "my-reports.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("download-report").first.click()
    download = download_info.value
    assert re.fullmatch(r"radiology-report-\d+-v\d+\.pdf", download.suggested_filename)
    with open(download.path(), "rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF-")
    text = "\n".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(data)).pages)
    assert patient_name in text
    assert "Page 1 of" in text
    assert page.console_errors == []
