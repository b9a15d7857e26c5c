"""Radiology in Chromium: a patient opens "My reports" in the portal and downloads the
signed radiology report (the PDF names them); a radiologist adds a key image to a report in
progress and sees it on the report."""

import io
import re

import pytest
from pypdf import PdfReader

from caresync.records.demo import demo_scan_png
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


def test_a_radiologist_adds_a_key_image_to_a_report_in_progress(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "radiologist1@harbour-health.test")
    page.goto(f"{live_server_url}/radiology/")
    page.get_by_role("link", name=re.compile("^Open")).first.click()
    page.wait_for_url(re.compile(rf"{live_server_url}/radiology/reports/\d+/$"))
    page.set_input_files(
        "#id_files",
        files=[{"name": "e2e-key-image.png", "mimeType": "image/png", "buffer": demo_scan_png(3)}],
    )
    upload = page.locator(".upload-list__item", has_text="e2e-key-image.png")
    upload.locator(".upload-list__status", has_text="Uploaded").wait_for()
    page.reload()
    images = page.get_by_test_id("report-images")
    link = images.get_by_role("link", name="e2e-key-image.png")
    assert link.is_visible()
    thumbnail = images.locator("li").filter(has_text="e2e-key-image.png").locator("img")
    thumbnail.scroll_into_view_if_needed()
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=thumbnail.element_handle())
    page.screenshot(path=str(artifacts / "report-editor-images.png"), full_page=True)
    assert page.console_errors == []
